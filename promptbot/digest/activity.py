"""Cost, latency and discussion per prompt for one digest period."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promptbot.verdicts.evidence import CandidateRow, RunRow


@dataclass(frozen=True)
class PromptActivity:
    """Cost, latency and discussion for one prompt's runs this period."""

    prompt: str
    runs: int
    candidates: int
    failures: int
    tokens_in: int
    tokens_out: int
    cost: float
    cached: int
    mean_latency_ms: float | None
    p95_latency_ms: float | None
    comments: int
    ratings: int


def _p95(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)])


def activity(
    candidates: Sequence[CandidateRow], runs: Sequence[RunRow], rated: Mapping[str, int]
) -> tuple[PromptActivity, ...]:
    """Per prompt, for rows already limited to the period; the costliest prompt first."""
    by_prompt: dict[str, list[CandidateRow]] = defaultdict(list)
    for candidate in candidates:
        by_prompt[candidate.prompt].append(candidate)
    run_count: dict[str, int] = defaultdict(int)
    comments: dict[str, int] = defaultdict(int)
    for run in runs:
        run_count[run.prompt] += 1
        comments[run.prompt] += run.comments
    rows = []
    for prompt in sorted(by_prompt.keys() | run_count.keys()):
        rows_of = by_prompt.get(prompt, [])
        latencies = [c.latency_ms for c in rows_of if c.latency_ms is not None]
        rows.append(
            PromptActivity(
                prompt=prompt,
                runs=run_count.get(prompt, 0),
                candidates=len(rows_of),
                failures=sum(1 for c in rows_of if c.failed),
                tokens_in=sum(c.tokens_in or 0 for c in rows_of),
                tokens_out=sum(c.tokens_out or 0 for c in rows_of),
                cost=sum(c.cost or 0.0 for c in rows_of),
                cached=sum(1 for c in rows_of if c.cached),
                mean_latency_ms=sum(latencies) / len(latencies) if latencies else None,
                p95_latency_ms=_p95(latencies) if latencies else None,
                comments=comments.get(prompt, 0),
                ratings=rated.get(prompt, 0),
            )
        )
    rows.sort(key=lambda a: -(a.tokens_in + a.tokens_out))
    return tuple(rows)
