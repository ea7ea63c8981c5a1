"""The digest's Checks section: per prompt version, the share of its answers (in runs
whose voting has closed) that passed every check, with a Wilson 95% interval, and the
check that failed most often. Pure: the counts come from ``store.checks.tallies``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptbot.domain import CheckTally
from promptbot.verdicts.intervals import wilson_interval


@dataclass(frozen=True, slots=True)
class CheckRate:
    prompt: str
    version: int
    answers: int
    passed: int
    low: float
    high: float
    weakest: str | None  # the check failed most often, if any failed
    weakest_failed: int

    @property
    def share(self) -> float:
        return self.passed / self.answers


def check_rates(tallies: Sequence[CheckTally]) -> tuple[CheckRate, ...]:
    """One rate per prompt version that has checked answers, by prompt then version."""
    failures: dict[tuple[str, int], tuple[int, str]] = {}
    for tally in tallies:
        failed = tally.answers - tally.passed
        if tally.check is None or failed == 0:
            continue
        key = (tally.prompt, tally.version)
        # Most failures first; among equals, the first check in text order (stable).
        if key not in failures or failed > failures[key][0]:
            failures[key] = (failed, tally.check)
    rates = []
    for tally in tallies:
        if tally.check is not None or tally.answers == 0:
            continue
        low, high = wilson_interval(tally.passed, tally.answers)
        failed, weakest = failures.get((tally.prompt, tally.version), (0, None))
        rates.append(
            CheckRate(
                tally.prompt, tally.version, tally.answers, tally.passed, low, high, weakest, failed
            )
        )
    return tuple(sorted(rates, key=lambda r: (r.prompt, r.version)))
