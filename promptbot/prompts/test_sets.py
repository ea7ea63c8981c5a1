"""Test sets: named rows of variable values, so every version of a prompt runs over
the same inputs. Parsing and validation live here, free of Slack and SQL.

A set arrives as CSV (a header row, then one row per input) or JSONL (one object per
line, flat or in promptfoo's ``{"vars": …, "assert": […]}`` shape). Every problem is
collected before anything is reported, so the person fixing the file sees all the bad
rows at once, by number, in one line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from promptbot.config.settings import AppConfig
from promptbot.domain import check_set_name, short_text
from promptbot.errors import UsageError
from promptbot.prompts.expected import EXPECTED, special_columns, take_checks
from promptbot.prompts.promptfoo import flat_row, is_test_case
from promptbot.render.words import count
from promptbot.review.sandbox import parse_template
from storage import Store

Format = Literal["csv", "jsonl"]
Rows = list[dict[str, str]]
# (row number, what is wrong with it)
Problem = tuple[int, str]
Numbered = list[tuple[int, dict[str, str]]]

# Bad rows named in one error before "and N more": enough to fix a pattern, short
# enough for one Slack line or one field error.
MAX_REPORTED = 5
# Larger than any sensible set at the row limit; keeps a stray upload from filling memory.
MAX_FILE_BYTES = 5_000_000
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def detect_format(text: str, filename: str | None) -> Format:
    """By extension when it says; otherwise a first ``{`` means JSONL (a CSV header
    cannot usefully start with one)."""
    if filename:
        known = _EXTENSIONS.get(PurePath(filename).suffix.lower())
        if known:
            return known
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def decode_file(data: bytes, what: str) -> str:
    """File bytes as text: UTF-8, with or without the BOM spreadsheets add."""
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{what} is over {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{what} is not UTF-8 text (byte {error.start + 1}); save it as UTF-8"
        ) from None


def parse_test_set(
    text: str, filename: str | None, variables: Sequence[str], *, max_rows: int
) -> Rows:
    """Rows of ``{variable: value}`` covering exactly ``variables``, or one UsageError."""
    return parse_test_set_with_checks(text, filename, variables, max_rows=max_rows)[0]


def parse_test_set_with_checks(
    text: str, filename: str | None, variables: Sequence[str], *, max_rows: int
) -> tuple[Rows, list[list[str]]]:
    """Rows of ``{variable: value}`` covering exactly ``variables``, and each row's
    checks (its ``__expected`` columns, promptfoo's convention), or one UsageError.

    Row numbers are what the author sees: a CSV's header is row 1 (as in a
    spreadsheet), and a JSONL row is its line number.
    """
    if not variables:
        raise UsageError("the template has no variables, so a test set has nothing to fill in")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise UsageError("the test set is empty: give a CSV header and rows, or JSONL lines")
    if detect_format(text, filename) == "jsonl":
        numbered, columns, problems = _read_jsonl(text)
    else:
        numbered, columns, problems = _read_csv(text)
    special = special_columns(columns)
    _check_columns([name for name in columns if name not in special], variables)
    checks, bad_checks = take_checks(numbered, special)
    problems += bad_checks
    if len(numbered) > max_rows:
        raise UsageError(
            f"the test set has {count(len(numbered), 'row')}; the limit is {max_rows}"
            " (limits.test_set_max_rows)"
        )
    rows: Rows = []
    for number, values in numbered:
        missing = [name for name in variables if not values.get(name, "").strip()]
        if missing:
            problems.append((number, "missing value for " + ", ".join(map(_quote, missing))))
        rows.append({name: values.get(name, "") for name in variables})
    if problems:
        raise UsageError(_describe_problems(problems))
    if not rows:
        raise UsageError("the test set has a header but no rows")
    return rows, [checks.get(number, []) for number, _ in numbered]


def _read_csv(text: str) -> tuple[Numbered, list[str], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # Numbered by record, not by physical line: a quoted value may span lines,
        # and a spreadsheet shows it as one row.
        records = [
            (number, record)
            for number, record in enumerate(reader, start=1)
            if any(field.strip() for field in record)  # blank lines are not rows
        ]
    except csv.Error as error:
        # Here the csv module can only point to a physical line.
        raise UsageError(f"the CSV cannot be read at line {reader.line_num}: {error}") from None
    if not records:
        raise UsageError("the CSV has no header row")
    header = [name.strip() for name in records[0][1]]
    blank = [str(i) for i, name in enumerate(header, start=1) if not name]
    if blank:
        raise UsageError(f"the CSV header has no name for column {', '.join(blank)}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise UsageError(f"the CSV header repeats {', '.join(map(_quote, repeated))}")
    numbered: Numbered = []
    problems: list[Problem] = []
    for number, record in records[1:]:
        if len(record) > len(header):
            problems.append(
                (number, f"{count(len(record), 'value')} for {count(len(header), 'column')}")
            )
            continue
        numbered.append((number, dict(zip(header, record, strict=False))))
    return numbered, header, problems


def _read_jsonl(text: str) -> tuple[Numbered, list[str], list[Problem]]:
    numbered: Numbered = []
    problems: list[Problem] = []
    columns: dict[str, None] = {}  # an ordered set: unknown columns are named in file order
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append((number, f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(data, dict):
            problems.append((number, "not a JSON object"))
            continue
        if is_test_case(data):  # promptfoo's {"vars": …, "assert": […]}
            try:
                data = flat_row(data)
            except UsageError as error:
                problems.append((number, str(error)))
                continue
        columns.update(dict.fromkeys(data))
        values = {
            key: _expected_value(value) if key.startswith(EXPECTED) else _json_value(value)
            for key, value in data.items()
        }
        unusable = [key for key, value in values.items() if value is None]
        if unusable:
            names = ", ".join(map(_quote, unusable))
            problems.append((number, f"{names}: not a string, number or true/false"))
            continue
        numbered.append((number, {key: value or "" for key, value in values.items()}))
    return numbered, list(columns), problems


def _json_value(value: Any) -> str | None:
    """Strings stay as they are; numbers and booleans are written as JSON writes them
    (``true``, ``2.5``), since that is how the author typed them. ``null`` is an empty
    value (reported as missing if the template needs it); None means unusable."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _expected_value(value: Any) -> str | None:
    """A JSONL row's checks: one string (``;`` between checks), or a list of them."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ";".join(value)
    return _json_value(value)


def _check_columns(columns: Sequence[str], variables: Sequence[str]) -> None:
    missing = [name for name in variables if name not in columns]
    unknown = [name for name in columns if name not in variables]
    parts = []
    if missing:
        parts.append("no column for " + ", ".join(map(_quote, missing)))
    if unknown:
        parts.append("unknown column " + ", ".join(map(_quote, unknown)))
    if parts:
        expected = ", ".join(map(_quote, variables))
        raise UsageError(f"{'; '.join(parts)} (the template's variables are {expected})")


def _describe_problems(problems: list[Problem]) -> str:
    problems = sorted(problems)
    shown = "; ".join(f"row {number}: {what}" for number, what in problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    suffix = f"; and {more} more" if more > 0 else ""
    noun = "row has a problem" if len(problems) == 1 else "rows have problems"
    return f"{len(problems)} {noun}: {shown}{suffix}"


def _quote(name: str) -> str:
    return f"'{short_text(name)}'"


# -- the use case: shared by /prompt inputs and `promptbot inputs add` ---------------


@dataclass(frozen=True)
class SavedSet:
    prompt: str
    name: str
    rows: int

    def confirmation(self) -> str:
        noun = "row" if self.rows == 1 else "rows"
        return f"Saved test set '{self.name}' for {self.prompt}: {self.rows} {noun}"


def template_variables(store: Store, prompt: str) -> tuple[str, ...]:
    """The variables of the prompt's latest version: what a new set must fill in."""
    source = store.test_sets.latest_template(prompt)
    # Stored templates were checked when proposed; a later, smaller size limit must
    # not stop anyone from adding inputs to them.
    return parse_template(source, max_bytes=len(source.encode()) + 1).variables


def add_test_set(
    store: Store,
    config: AppConfig,
    *,
    prompt: str,
    name: str,
    text: str,
    filename: str | None,
    by: str,
) -> SavedSet:
    check_set_name(name)
    variables = template_variables(store, prompt)
    rows, checks = parse_test_set_with_checks(
        text, filename, variables, max_rows=config.limits.test_set_max_rows
    )
    store.test_sets.save(prompt, name, rows, by, checks=checks)
    return SavedSet(prompt, name, len(rows))
