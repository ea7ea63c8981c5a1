"""Deterministic checks on answers, in promptfoo's ``type: value`` form: parsing and
validation (:mod:`.definitions`), running them (:mod:`.evaluation`)."""

from promptbot.checks.definitions import (
    CHECK_TYPES,
    Check,
    checked_entry,
    parse_check,
    parse_checks,
    split_checks,
)
from promptbot.checks.evaluation import overall, run_checks

__all__ = [
    "CHECK_TYPES",
    "Check",
    "checked_entry",
    "overall",
    "parse_check",
    "parse_checks",
    "run_checks",
    "split_checks",
]
