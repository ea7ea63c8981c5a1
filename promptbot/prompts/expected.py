"""A test set's checks, in promptfoo's convention: an ``__expected`` column (or
``__expected1``, ``__expected2``… one check each) holds checks in ``type: value`` form,
several in one cell separated by ``;``. So a promptfoo CSV loads as it is.

promptfoo's other ``__`` columns: ``__description`` and ``__metric`` only label a row,
so they are read and ignored; the rest change what is asked or how it is scored, which
promptbot does not do, so they are refused rather than silently dropped.
"""

from __future__ import annotations

from promptbot.checks import parse_checks
from promptbot.errors import UsageError

EXPECTED = "__expected"
IGNORED = frozenset({"__description", "__metric"})

# (row number, what is wrong with it)
Problem = tuple[int, str]
Numbered = list[tuple[int, dict[str, str]]]


def special_columns(columns: list[str]) -> list[str]:
    """The ``__`` columns, checked: a refusal names the first unsupported one."""
    special = [name for name in columns if name.startswith("__")]
    for name in special:
        if not name.startswith(EXPECTED) and name not in IGNORED:
            raise UsageError(
                f"the '{name[:40]}' column (promptfoo's) is not supported; promptbot reads"
                f" {EXPECTED} (checks), and ignores __description and __metric"
            )
    return special


def take_checks(
    numbered: Numbered, special: list[str]
) -> tuple[dict[int, list[str]], list[Problem]]:
    """Remove the ``__`` columns from each row; return each row's checks (as stored:
    one ``type: value`` string each) by row number, and the rows whose checks are bad."""
    checks: dict[int, list[str]] = {}
    problems: list[Problem] = []
    for number, values in numbered:
        cells = [values.pop(name, "") for name in special if name.startswith(EXPECTED)]
        for name in special:
            values.pop(name, None)
        try:
            parsed = [c for cell in cells for c in parse_checks(cell, by_line=False)]
            checks[number] = [check.text for check in parsed]
        except UsageError as error:
            problems.append((number, f"{EXPECTED}: {error}"))
    return checks, problems
