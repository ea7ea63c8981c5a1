"""Running checks on an answer, with promptfoo's meaning for each type.

The answer is untrusted model output: nothing here raises on it, and a result's
``detail`` never quotes it (only the check's own values, which a person wrote).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from promptbot.checks.definitions import Check
from promptbot.domain import CheckResult

_DETAIL_MAX = 200
# A regex search on one answer; a pattern that backtracks past it fails the check.
REGEX_SECONDS = 0.5


def run_checks(
    checks: Sequence[Check], answer: str | None, latency_ms: int | None, cost: float | None
) -> list[CheckResult]:
    """Each check's result on ``answer``. No answer (the call failed) gets no results.
    A latency check on a cache hit (no call was timed), or a cost check where the model
    has no prices, is left out rather than guessed, as promptfoo refuses those too."""
    if answer is None:
        return []
    results = []
    for check in checks:
        if check.kind == "latency" and latency_ms is None:
            continue
        if check.kind == "cost" and cost is None:
            continue
        try:
            passed, detail = _evaluate(check, answer, latency_ms or 0, cost or 0.0)
        except _Unjudged as error:
            # Failed whether negated or not: the answer was never judged by it.
            results.append(CheckResult(check.text, False, _short(str(error))))
            continue
        if check.negated:
            passed = not passed
            detail = f"meets '{check.text.removeprefix('not-')}'"
        results.append(CheckResult(check.text, passed, _short(detail if not passed else "")))
    return results


class _Unjudged(Exception):
    """A check that could not decide on this answer."""


def overall(results: Sequence[CheckResult]) -> bool | None:
    """Whether an answer passed every check; None when it had none."""
    if not results:
        return None
    return all(r.passed for r in results)


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _evaluate(check: Check, answer: str, latency_ms: int, cost: float) -> tuple[bool, str]:
    """(passed, what did not hold when it did not, for the non-negated check)."""
    kind, value = check.kind, check.value
    if kind == "equals":
        return answer.strip() == value.strip(), f"not exactly '{value}'"
    if kind == "contains":
        return value in answer, f"does not contain '{value}'"
    if kind == "icontains":
        return value.lower() in answer.lower(), f"does not contain '{value}' (any case)"
    if kind == "starts-with":
        return answer.lstrip().startswith(value), f"does not start with '{value}'"
    if kind == "regex":
        assert check.pattern is not None
        try:
            found = check.pattern.search(answer, timeout=REGEX_SECONDS) is not None
        except TimeoutError:
            raise _Unjudged(f"/{value}/ took over {REGEX_SECONDS:g} s on this answer") from None
        return found, f"does not match /{value}/"
    if kind in ("contains-any", "icontains-any", "contains-all", "icontains-all"):
        return _contains_list(check, answer)
    if kind in ("is-json", "json-schema"):
        return _is_json(check, answer)
    if kind == "contains-json":
        return _contains_json(check, answer)
    if kind == "max-chars":
        assert check.limit is not None
        return len(answer) <= check.limit, f"{len(answer)} characters, over {check.limit:g}"
    if kind == "max-words":
        assert check.limit is not None
        words = len(answer.split())
        return words <= check.limit, f"{words} words, over {check.limit:g}"
    if kind == "latency":
        assert check.limit is not None
        return latency_ms <= check.limit, f"took {latency_ms} ms, over {check.limit:g} ms"
    if kind == "cost":
        assert check.limit is not None
        return cost <= check.limit, f"cost {cost:.6g}, over {check.limit:g}"
    raise AssertionError(f"unhandled check type {kind}")  # parse_check admits no other


def _contains_list(check: Check, answer: str) -> tuple[bool, str]:
    fold = check.kind.startswith("i")
    text = answer.lower() if fold else answer
    found = [item for item in check.items if (item.lower() if fold else item) in text]
    if check.kind.endswith("-any"):
        return bool(found), f"contains none of {', '.join(check.items)}"
    missing = [item for item in check.items if item not in found]
    return not missing, f"missing {', '.join(missing)}"


def _is_json(check: Check, answer: str) -> tuple[bool, str]:
    try:
        data = json.loads(answer)
    except (ValueError, RecursionError):
        return False, "not valid JSON"
    if check.schema is None:
        return True, "valid JSON"
    problem = _schema_problem(check.schema, data)
    return problem is None, problem or "valid JSON matching the schema"


def _contains_json(check: Check, answer: str) -> tuple[bool, str]:
    """promptfoo's contains-json: some JSON object in the text (matching the schema
    when one is given)."""
    found = False
    problem = "contains no JSON object"
    for data in _json_objects(answer):
        found = True
        if check.schema is None:
            return True, "contains a JSON object"
        mismatch = _schema_problem(check.schema, data)
        if mismatch is None:
            return True, "contains a JSON object matching the schema"
        problem = mismatch
    return False, problem if found else "contains no JSON object"


def _json_objects(text: str) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            data, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        if isinstance(data, dict):
            yield data
        start = text.find("{", end)


def _schema_problem(schema: Any, data: Any) -> str | None:
    from jsonschema import validators  # deferred: only JSON checks need it

    validator = validators.validator_for(schema)(schema)
    error = next(iter(validator.iter_errors(data)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"JSON does not match the schema{f' at {where}' if where else ''}: {error.message}"
