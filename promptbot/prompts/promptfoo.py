"""promptfoo's test-case shape, as its JSONL test files hold it: one object per line,
``{"vars": {...}, "assert": [{"type": "contains", "value": "refund"}, ...],
"description": "..."}``. A row in that shape becomes a plain row (its ``vars``) with its
assertions as ``__expected`` checks, so the file loads as it is.

Each assertion maps to promptbot's ``type: value`` check: a list value (``contains-any``)
is written comma-separated, an object (a ``json-schema``) as JSON, and ``threshold`` is
the limit of ``latency`` and ``cost``, as in promptfoo. ``metric`` and ``weight`` only
label or weigh a result, and ``description`` and ``metadata`` a row: read and ignored.
Anything else changes what is asked or how it is scored, which promptbot does not do,
so it is refused, with the assertion's number, rather than silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from promptbot.checks import parse_check
from promptbot.checks.definitions import LIMIT_TYPES, LIST_TYPES
from promptbot.errors import UsageError
from promptbot.prompts.expected import EXPECTED

CASE_KEYS = ("vars", "assert", "description", "metadata")
ASSERTION_KEYS = ("type", "value", "threshold", "metric", "weight")


def is_test_case(data: dict[str, Any]) -> bool:
    """promptfoo's shape: ``vars`` an object or ``assert`` a list (a flat row has
    neither, since a variable's value is never an object or a list)."""
    return isinstance(data.get("vars"), dict) or isinstance(data.get("assert"), list)


def flat_row(data: dict[str, Any]) -> dict[str, Any]:
    """The test case as a flat row: its variables, and one ``__expectedN`` per assertion
    (checked here, so a bad one names its place), or one UsageError."""
    unknown = [key for key in data if key not in CASE_KEYS]
    if unknown:
        raise UsageError(
            f"'{unknown[0][:40]}' (promptfoo's) is not supported; promptbot reads vars and"
            " assert, and ignores description and metadata"
        )
    variables = data.get("vars", {})
    if not isinstance(variables, dict):
        raise UsageError("'vars' must be an object of variable values")
    assertions = data.get("assert", [])
    if not isinstance(assertions, list):
        raise UsageError("'assert' must be a list of checks")
    row = dict(variables)
    for number, assertion in enumerate(assertions, start=1):
        row[f"{EXPECTED}{number}"] = check_text(number, assertion)
    return row


def check_text(number: int, assertion: Any) -> str:
    """One assertion as a check in ``type: value`` form, validated."""
    example = '{"type": "contains", "value": "refund"}'
    if not isinstance(assertion, dict) or not isinstance(assertion.get("type"), str):
        raise UsageError(f"assert {number}: needs a type, e.g. {example}")
    kind: str = assertion["type"]
    extra = [key for key in assertion if key not in ASSERTION_KEYS]
    if extra:
        raise UsageError(f"assert {number} ({kind[:40]}): '{extra[0][:40]}' is not supported")
    value, threshold = assertion.get("value"), assertion.get("threshold")
    if kind.removeprefix("not-") in LIMIT_TYPES:
        value, threshold = (value if threshold is None else threshold), None
    if threshold is not None:
        raise UsageError(f"assert {number} ({kind[:40]}): takes no threshold")
    # Always with its colon: the type is named, never read as text to equal.
    text = f"{kind}:" if value is None else f"{kind}: {_value_text(kind, value)}"
    try:
        return parse_check(text).text
    except UsageError as error:
        raise UsageError(f"assert {number}: {error}") from None


def _value_text(kind: str, value: Any) -> str:
    if isinstance(value, list) and kind.removeprefix("not-") in LIST_TYPES:
        # Comma-separated as the list checks read them; a value with a comma is quoted.
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow([str(item) for item in value])
        return out.getvalue()
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
