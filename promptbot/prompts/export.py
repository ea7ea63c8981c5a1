"""The export: runs, candidates, ratings, comments, pair votes, checks, the judge's
verdicts and its confusion tables against the team, as one file, CSV or JSON.

Nine tables do not fit one flat file, so the two formats differ on purpose
(docs/export.md documents every column):

- JSON holds all nine tables, ``{"runs": [...], "candidates": [...], "ratings": [...],
  "comments": [...], "pair_votes": [...], "checks": [...], "judge_verdicts": [...],
  "judge_pairs": [...], "judge_confusion": [...]}``, with numbers, booleans and nested
  values as JSON types.
- CSV is for spreadsheets and holds one table: a row per rating, joined with its
  candidate and run, so each row can be read alone. Candidates nobody rated and
  comments are only in JSON.

The column lists below are the single declaration of the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from promptbot.domain import ExportRows
from promptbot.errors import NotFound, UsageError
from promptbot.prompts.export_csv import to_csv
from promptbot.prompts.judge_columns import (
    JUDGE_CONFUSION_COLUMNS,
    JUDGE_PAIR_COLUMNS,
    JUDGE_VERDICT_COLUMNS,
)
from promptbot.verdicts.confusion import CalibrationRule, confusion_tables
from storage import Store
from storage.export import load_export, prompt_exists

ExportFormat = Literal["csv", "json"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "json")
USAGE = "usage: /prompt export [NAME] [csv|json]"

RUN_COLUMNS: tuple[str, ...] = (
    "run_id",
    "prompt",
    "version",
    "kind",
    "status",
    "channel",
    "thread_ts",
    "permalink",
    "created_by",
    "created_at",
    "finished_at",
    "closed_at",
    "revealed_at",
    "models",
    "inputs",
    "test_set",
)
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "run_id",
    "prompt",
    "version",
    "label",
    "slot",
    "model",
    "model_id",
    "input_index",
    "variables",
    "status",
    "output",
    "error",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "finish_reason",
    "cost",
    "cached",
    "answered_at",
    "posted_at",
    "checks_passed",
    "checks_failed",
)
# Filled in from the checks table, not read from the candidate's row.
_CHECK_SUMMARY = ("checks_passed", "checks_failed")
RATING_COLUMNS: tuple[str, ...] = (
    "run_id",
    "candidate_id",
    "user_id",
    "scale",
    "emoji",
    "score",
    "late",
    "rated_at",
)
COMMENT_COLUMNS: tuple[str, ...] = (
    "run_id",
    "channel",
    "ts",
    "user_id",
    "text",
    "files",
    "created_at",
    "edited_at",
)
PAIR_VOTE_COLUMNS: tuple[str, ...] = (
    "run_id",
    "pair_id",
    "left_candidate_id",
    "right_candidate_id",
    "user_id",
    "choice",
    "late",
    "voted_at",
)
CHECK_COLUMNS: tuple[str, ...] = ("run_id", "candidate_id", "check", "passed", "detail")
TABLES: dict[str, tuple[str, ...]] = {
    "runs": RUN_COLUMNS,
    "candidates": CANDIDATE_COLUMNS,
    "ratings": RATING_COLUMNS,
    "comments": COMMENT_COLUMNS,
    "pair_votes": PAIR_VOTE_COLUMNS,
    "checks": CHECK_COLUMNS,
    "judge_verdicts": JUDGE_VERDICT_COLUMNS,
    "judge_pairs": JUDGE_PAIR_COLUMNS,
    "judge_confusion": JUDGE_CONFUSION_COLUMNS,
}

# Stored as JSON text or as SQLite's 0/1; exported as what they mean.
_JSON_TEXT = frozenset({"models", "inputs", "variables", "files"})
_FLAGS = frozenset({"cached", "late", "passed", "consistent"})

Record = dict[str, Any]


@dataclass(frozen=True)
class Export:
    filename: str
    title: str
    content: str
    counts: dict[str, int]

    @property
    def summary(self) -> str:
        # Pair votes, checks and the judge's exist only where used: not worth a "0".
        optional = ("pair_votes", "checks", "judge_verdicts", "judge_pairs")
        # The confusion tables' cells are counted from the rest, not records of their own.
        counted = {t: n for t, n in self.counts.items() if t != "judge_confusion"}
        shown = {t: n for t, n in counted.items() if n or t not in optional}
        return ", ".join(
            f"{n} {(t.removesuffix('s') if n == 1 else t).replace('_', ' ')}"
            for t, n in shown.items()
        )


def parse_export_args(args: Sequence[str]) -> tuple[str | None, ExportFormat]:
    """``[NAME] [csv|json]``: a lone ``csv`` or ``json`` is the format (a prompt named
    so is exported with ``NAME csv``)."""
    words = list(args)
    fmt: ExportFormat = "csv"
    if words and words[-1].lower() in FORMATS:
        fmt = "json" if words.pop().lower() == "json" else "csv"
    if len(words) > 1:
        raise UsageError(USAGE)
    return (words[0] if words else None), fmt


def check_prompt(store: Store, prompt: str | None) -> None:
    if prompt is not None and not prompt_exists(store, prompt):
        raise NotFound(f"no prompt named '{prompt}'")


def tables(
    rows: ExportRows, rule: CalibrationRule | None = None, *, overall: bool = True
) -> dict[str, list[Record]]:
    """The tables with the documented columns, as JSON types. ``rule``: which judged
    candidates the confusion tables count (default: the settings' defaults); ``overall``:
    whether they include the table over every prompt."""
    checks = [_record(row, CHECK_COLUMNS) for row in rows.checks]
    rule = rule or CalibrationRule()
    return {
        "runs": [_record(row, RUN_COLUMNS) for row in rows.runs],
        "candidates": _with_check_summary(rows.candidates, checks),
        "ratings": [_record(row, RATING_COLUMNS) for row in rows.ratings],
        "comments": [_record(row, COMMENT_COLUMNS) for row in rows.comments],
        "pair_votes": [_record(row, PAIR_VOTE_COLUMNS) for row in rows.pair_votes],
        "checks": checks,
        "judge_verdicts": [_record(row, JUDGE_VERDICT_COLUMNS) for row in rows.judge_verdicts],
        "judge_pairs": [_record(row, JUDGE_PAIR_COLUMNS) for row in rows.judge_pairs],
        "judge_confusion": [
            {**asdict(cell), "min_human_votes": rule.min_votes}
            for cell in confusion_tables(rows.judged_candidates, rule, overall=overall)
        ],
    }


def _with_check_summary(
    candidates: Sequence[Mapping[str, Any]], checks: Sequence[Record]
) -> list[Record]:
    """Each candidate with whether it passed every check (null: none ran, or its run is
    still open) and the checks it failed, joined by "; "."""
    results: dict[int, list[Record]] = {}
    for check in checks:
        results.setdefault(check["candidate_id"], []).append(check)
    own = tuple(c for c in CANDIDATE_COLUMNS if c not in _CHECK_SUMMARY)
    records = []
    for row in candidates:
        record = _record(row, own)
        found = results.get(record["candidate_id"], [])
        failed = [c["check"] for c in found if not c["passed"]]
        record["checks_passed"] = (not failed) if found else None
        record["checks_failed"] = "; ".join(failed) if found else None
        records.append(record)
    return records


def _record(row: Mapping[str, Any], columns: Sequence[str]) -> Record:
    record: Record = {}
    for column in columns:
        value = row[column]
        if column in _JSON_TEXT and isinstance(value, str):
            value = json.loads(value)
        elif column in _FLAGS and value is not None:
            value = bool(value)
        record[column] = value
    return record


def to_json(data: Mapping[str, list[Record]]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def build_export(
    store: Store,
    prompt: str | None,
    fmt: ExportFormat,
    now: datetime,
    *,
    neutralise_formulas: bool = True,
    rule: CalibrationRule | None = None,
) -> Export:
    """``neutralise_formulas`` applies to CSV only; JSON is never read as formulas.
    ``rule``: the team's (``CalibrationRule.of(config)``), for the confusion tables."""
    check_prompt(store, prompt)
    data = tables(load_export(store, prompt), rule, overall=prompt is None)
    if fmt == "json":
        content = to_json(data)
    else:
        content = to_csv(data, neutralise_formulas=neutralise_formulas)
    scope = prompt or "all"
    stamp = now.strftime("%Y%m%d-%H%M%S")
    counts = {table: len(rows) for table, rows in data.items()}
    title = f"promptbot export: {'all prompts' if prompt is None else prompt} ({fmt.upper()})"
    return Export(f"promptbot-{scope}-{stamp}.{fmt}", title, content, counts)
