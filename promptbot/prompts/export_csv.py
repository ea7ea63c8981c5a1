"""The export's CSV: one table, a row per rating joined with its candidate and run, so
each row reads alone; cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import Any

Record = dict[str, Any]

# The CSV: a rating with the context needed to read it alone.
CSV_COLUMNS: tuple[str, ...] = (
    "run_id",
    "candidate_id",
    "prompt",
    "version",
    "label",
    "model",
    "input_index",
    "variables",
    "output",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "cost",
    "cached",
    "checks_passed",
    "checks_failed",
    "user_id",
    "scale",
    "emoji",
    "score",
    "late",
    "rated_at",
)


def rating_rows(data: Mapping[str, list[Record]]) -> list[Record]:
    """The CSV's table: each rating joined with its candidate (and so its run)."""
    candidates = {c["candidate_id"]: c for c in data["candidates"]}
    joined = []
    for rating in data["ratings"]:
        context = candidates.get(rating["candidate_id"], {})
        joined.append({column: rating.get(column, context.get(column)) for column in CSV_COLUMNS})
    return joined


def to_csv(data: Mapping[str, list[Record]], *, neutralise_formulas: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    guard = neutralise_formula if neutralise_formulas else str
    for row in rating_rows(data):
        writer.writerow({column: guard(_csv_cell(value)) for column, value in row.items()})
    return out.getvalue()


# OWASP's CSV injection rule: a cell starting with one of these may be run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def neutralise_formula(cell: str) -> str:
    """A leading ``'`` makes a spreadsheet show the cell as text rather than evaluate
    it. Plain numbers (scores, ``-1`` the emoji) are left as they are: they read as
    numbers, never as formulas."""
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
