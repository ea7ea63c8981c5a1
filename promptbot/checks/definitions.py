"""Check definitions in promptfoo's ``type: value`` form, parsed and validated.

A test set's ``__expected`` column (promptfoo's CSV convention), the form's Checks field
and ``prompts.<name>.checks`` in app.yaml all hold these. As in promptfoo:

- ``not-`` before a type negates it (``not-contains: sorry``);
- a number in brackets is the threshold (``latency(2000)``, ``cost(0.002)``); ``latency:
  2000`` means the same;
- the list types (``contains-any``, ``contains-all``, ``icontains-any``,
  ``icontains-all``) take comma-separated values, ``"double quoted"`` where a value
  holds a comma;
- text with no ``type:`` prefix is an ``equals`` check.

Unlike promptfoo, a lowercase ``word:`` prefix that names no check type is refused
(promptfoo would silently compare the whole text for equality), so that a typo such as
``contians: refund`` is caught when the set is added, not when every answer fails.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptbot.errors import UsageError

if TYPE_CHECKING:
    import regex

# Each type, and what its value is.
TEXT_TYPES = ("equals", "contains", "icontains", "starts-with", "regex")
LIST_TYPES = ("contains-any", "contains-all", "icontains-any", "icontains-all")
JSON_TYPES = ("is-json", "contains-json", "json-schema")
LIMIT_TYPES = ("max-chars", "max-words", "latency", "cost")
CHECK_TYPES = TEXT_TYPES + LIST_TYPES + JSON_TYPES + LIMIT_TYPES
# A negated limit says nothing useful ("slower than 2 s"), so only these take ``not-``.
NEGATABLE = frozenset(TEXT_TYPES + LIST_TYPES + JSON_TYPES)
# promptfoo's other assertions: named, so the refusal says why rather than "unknown".
PROMPTFOO_ONLY = frozenset(
    {
        "llm-rubric",
        "grade",
        "model-graded-closedqa",
        "model-graded-factuality",
        "factuality",
        "answer-relevance",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "similar",
        "classifier",
        "moderation",
        "javascript",
        "fn",
        "eval",
        "python",
        "webhook",
        "levenshtein",
        "rouge-n",
        "bleu",
        "perplexity",
        "perplexity-score",
        "is-sql",
        "contains-sql",
        "is-xml",
        "contains-xml",
        "is-html",
        "contains-html",
        "finish-reason",
        "is-valid-openai-function-call",
        "is-valid-openai-tools-call",
        "ends-with",
        "file",
    }
)

_HEAD = re.compile(r"^(not-)?([a-z][a-z0-9-]*)(?:\((\d+(?:\.\d+)?)\))?\s*(?::(.*))?$", re.DOTALL)
_TYPES_PATTERN = "|".join(sorted(map(re.escape, CHECK_TYPES), key=len, reverse=True))
# ``;`` separates checks only where the next check's type follows it, so a ``;`` inside
# a value (``contains: a; b``, a regex) stays part of that value.
_SEPARATOR = re.compile(rf";\s*(?=(?:not-)?(?:{_TYPES_PATTERN})(?:\([\d.]*\))?\s*(?::|;|$))")
MAX_CHECK_CHARS = 2000


@dataclass(frozen=True)
class Check:
    """One check: its type, whether ``not-`` negates it, and its parsed value."""

    kind: str
    value: str = ""
    negated: bool = False
    items: tuple[str, ...] = ()  # the list types' values
    limit: float | None = None  # max-chars, max-words, latency (ms), cost
    schema: Any = None  # the JSON types' schema, when given
    pattern: regex.Pattern[str] | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        """The check as it is stored and shown: ``type: value``."""
        name = ("not-" if self.negated else "") + self.kind
        if self.limit is not None:
            return f"{name}: {self.limit:g}"
        return f"{name}: {self.value}" if self.value else name


def split_checks(text: str, *, by_line: bool = True) -> list[str]:
    """One check per line, or several on a line separated by ``;``. Without
    ``by_line`` (a spreadsheet cell, where a schema may span lines) only ``;`` separates."""
    pieces: list[str] = []
    for line in text.splitlines() if by_line else [text]:
        pieces += [p.strip() for p in _SEPARATOR.split(line) if p.strip()]
    return pieces


def parse_checks(text: str, *, by_line: bool = True) -> list[Check]:
    """Every check in ``text`` (see :func:`split_checks`), or one UsageError naming the
    first bad one."""
    return [parse_check(piece) for piece in split_checks(text, by_line=by_line)]


def checked_entry(text: str) -> str:
    """An app.yaml entry (one check, or several separated by ``;``), validated for
    pydantic: a bad one raises ValueError, which names the setting."""
    try:
        parse_checks(text, by_line=False)
    except UsageError as error:
        raise ValueError(str(error)) from None
    return text


def parse_check(text: str) -> Check:
    text = text.strip()
    if len(text) > MAX_CHECK_CHARS:
        raise UsageError(f"a check is over {MAX_CHECK_CHARS} characters")
    head = _HEAD.match(text)
    if head is None or (head.group(4) is None and head.group(2) not in CHECK_TYPES):
        return Check("equals", text)  # promptfoo's default: the whole text, for equality
    negated, kind, threshold, value = (
        bool(head.group(1)),
        head.group(2),
        head.group(3),
        head.group(4),
    )
    value = (value or "").strip()
    if kind in PROMPTFOO_ONLY:
        raise UsageError(
            f"'{kind}' is a promptfoo check that promptbot does not run"
            f" (it runs {', '.join(CHECK_TYPES)})"
        )
    if kind not in CHECK_TYPES:
        raise UsageError(
            f"unknown check type '{kind[:40]}' (known: {', '.join(CHECK_TYPES)});"
            " for an exact answer write 'equals: …'"
        )
    if negated and kind not in NEGATABLE:
        raise UsageError(f"'not-{kind}' makes no sense: '{kind}' is a limit")
    if kind in LIMIT_TYPES:
        return Check(kind, negated=negated, limit=_limit(kind, threshold or value))
    if threshold is not None:
        raise UsageError(f"'{kind}' takes no threshold in brackets")
    if kind in LIST_TYPES:
        return Check(kind, value, negated, items=_items(kind, value))
    if kind in JSON_TYPES:
        if kind == "json-schema" and not value:
            raise UsageError('\'json-schema\' needs a schema, e.g. json-schema: {"type": "object"}')
        return Check(kind, value, negated, schema=_schema(kind, value) if value else None)
    if kind == "regex":
        return Check(kind, value, negated, pattern=_regex(value))
    if not value and kind != "equals":
        raise UsageError(f"'{kind}' needs a value, e.g. {kind}: refund")
    return Check(kind, value, negated)


def _limit(kind: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    whole = kind in ("max-chars", "max-words")
    if number < 0 or (whole and not number.is_integer()) or number != number:
        what = "a whole number" if whole else "a number"
        example = {"latency": "latency: 2000 (ms)", "cost": "cost: 0.002"}.get(kind, f"{kind}: 80")
        raise UsageError(f"'{kind}' needs {what} of at least 0, e.g. {example}")
    return number


def _items(kind: str, value: str) -> tuple[str, ...]:
    """promptfoo's comma-separated values: spaces around commas dropped, a
    ``"double quoted"`` value may hold commas, empty values skipped."""
    try:
        fields = next(csv.reader([value], skipinitialspace=True, strict=True), [])
    except csv.Error as error:
        raise UsageError(f"'{kind}' values cannot be read: {error}") from None
    items = tuple(f.strip() for f in fields if f.strip())
    if not items:
        raise UsageError(f"'{kind}' needs comma-separated values, e.g. {kind}: yes, sure")
    return items


def _regex(value: str) -> regex.Pattern[str]:
    """Compiled by the ``regex`` library, whose searches take a timeout: a pattern that
    backtracks without end on some answer must not hold a model call's thread."""
    if not value:
        raise UsageError("'regex' needs a pattern, e.g. regex: ^\\d+$")
    import regex  # deferred: start-up is measured, and only regex checks need it

    try:
        return regex.compile(value)
    except regex.error as error:
        raise UsageError(f"bad regex '{value[:60]}': {error}") from None


def _schema(kind: str, value: str) -> Any:
    """A JSON schema, written as JSON or YAML (as promptfoo reads it), checked against
    its metaschema by the jsonschema library."""
    import yaml  # deferred with jsonschema: only sets with JSON checks need them
    from jsonschema import SchemaError, validators

    try:
        schema = yaml.safe_load(value)
    except yaml.YAMLError:
        raise UsageError(f"'{kind}' schema is neither JSON nor YAML") from None
    if not isinstance(schema, dict):
        raise UsageError(f'\'{kind}\' schema must be an object, e.g. {{"type": "object"}}')
    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as error:
        raise UsageError(f"'{kind}' schema is not a valid JSON schema: {error.message}") from None
    return schema
