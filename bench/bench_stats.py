"""How long do the digest's statistics take at a large team's scale? Prints; asserts nothing.

Synthetic data: 100 prompts with 5 versions each (500 versions), 8 models, 2,000 threads of
5 blind candidates (10,000 candidates), each thread rated in stars by 10 of 50 reviewers
(100,000 ratings). Timed: deriving comparisons per thread and reviewer, Bradley-Terry per
prompt (versions) and over models with 200 bootstrap rounds, position and length bias, and
reviewer agreement.

Run: .venv/bin/python bench/bench_stats.py
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from promptbot.verdicts.stats import (
    BTResult,
    Comparison,
    bradley_terry,
    comparisons_from_scores,
    length_bias,
    position_bias,
    reviewer_agreement,
)

PROMPTS = 100
VERSIONS_PER_PROMPT = 5
MODELS = 8
THREADS_PER_PROMPT = 20
CANDIDATES_PER_THREAD = 5
REVIEWERS = 50
REVIEWERS_PER_THREAD = 10
ROUNDS = 200


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    thread: int
    prompt: int
    version: str
    model: str
    slot: int
    length: int


def build(seed: int = 7) -> tuple[list[Candidate], list[tuple[str, str, float]]]:
    """Candidates and (reviewer, candidate id, stars) ratings from known strengths."""
    rng = np.random.default_rng(seed)
    version_skill = rng.normal(0.0, 0.5, (PROMPTS, VERSIONS_PER_PROMPT))
    model_skill = np.linspace(-0.8, 0.8, MODELS)
    reviewer_lean = rng.normal(0.0, 0.3, REVIEWERS)
    candidates: list[Candidate] = []
    ratings: list[tuple[str, str, float]] = []
    thread = 0
    for prompt in range(PROMPTS):
        for _ in range(THREADS_PER_PROMPT):
            versions = rng.integers(0, VERSIONS_PER_PROMPT, CANDIDATES_PER_THREAD)
            models = rng.integers(0, MODELS, CANDIDATES_PER_THREAD)
            lengths = rng.integers(200, 3000, CANDIDATES_PER_THREAD)
            quality = version_skill[prompt, versions] + model_skill[models]
            quality = quality + 0.1 * (np.arange(CANDIDATES_PER_THREAD) == 0)  # slot A bonus
            batch = [
                Candidate(
                    id=f"t{thread}c{slot}",
                    thread=thread,
                    prompt=prompt,
                    version=f"p{prompt}v{versions[slot]}",
                    model=f"m{models[slot]}",
                    slot=slot,
                    length=int(lengths[slot]),
                )
                for slot in range(CANDIDATES_PER_THREAD)
            ]
            candidates.extend(batch)
            for reviewer in rng.choice(REVIEWERS, REVIEWERS_PER_THREAD, replace=False):
                latent = quality + reviewer_lean[reviewer] + rng.normal(0, 0.8, quality.shape)
                stars = np.clip(np.rint(3.0 + latent), 1, 5)
                ratings.extend(
                    (f"r{reviewer}", c.id, float(s)) for c, s in zip(batch, stars, strict=True)
                )
            thread += 1
    return candidates, ratings


def relabel(comparisons: list[Comparison], label: dict[str, str]) -> list[Comparison]:
    """Candidate comparisons as comparisons between their versions (or models)."""
    return [
        Comparison(label[c.a], label[c.b], c.outcome)
        for c in comparisons
        if label[c.a] != label[c.b]
    ]


def digest_stats(
    candidates: list[Candidate], ratings: list[tuple[str, str, float]]
) -> tuple[dict[str, float], list[BTResult], BTResult]:
    """What the digest computes, timed step by step."""
    timings: dict[str, float] = {}
    by_id = {c.id: c for c in candidates}

    start = time.perf_counter()
    sheets: dict[tuple[int, str], dict[str, float]] = defaultdict(dict)
    for reviewer, candidate_id, score in ratings:
        sheets[(by_id[candidate_id].thread, reviewer)][candidate_id] = score
    per_prompt: dict[int, list[Comparison]] = defaultdict(list)
    all_comparisons: list[Comparison] = []
    for scores in sheets.values():
        found = comparisons_from_scores(scores)
        per_prompt[by_id[next(iter(scores))].prompt].extend(found)
        all_comparisons.extend(found)
    version_of = {c.id: c.version for c in candidates}
    model_of = {c.id: c.model for c in candidates}
    version_comparisons = {p: relabel(found, version_of) for p, found in per_prompt.items()}
    model_comparisons = relabel(all_comparisons, model_of)
    timings["comparisons"] = time.perf_counter() - start

    start = time.perf_counter()
    prompt_results = [bradley_terry(found, rounds=ROUNDS) for found in version_comparisons.values()]
    timings["bt_prompts"] = time.perf_counter() - start

    start = time.perf_counter()
    model_result = bradley_terry(model_comparisons, rounds=ROUNDS)
    timings["bt_models"] = time.perf_counter() - start

    start = time.perf_counter()
    position_bias([(by_id[cid].slot, (score - 1) / 4) for _, cid, score in ratings])
    length_bias([(by_id[cid].length, score) for _, cid, score in ratings])
    timings["bias"] = time.perf_counter() - start

    start = time.perf_counter()
    reviewer_agreement(ratings, level="ordinal")
    timings["agreement"] = time.perf_counter() - start
    timings["n_comparisons"] = float(len(all_comparisons))
    return timings, prompt_results, model_result


def main() -> None:
    start = time.perf_counter()
    candidates, ratings = build()
    print(
        f"synthetic data: {PROMPTS * VERSIONS_PER_PROMPT} versions, {len(candidates)} "
        f"candidates, {len(ratings)} ratings ({time.perf_counter() - start:.2f} s to build)"
    )
    timings, prompt_results, model_result = digest_stats(candidates, ratings)
    n_comparisons = int(timings.pop("n_comparisons"))
    total = sum(timings.values())
    print(f"  derive {n_comparisons} comparisons: {timings['comparisons']:.2f} s")
    print(
        f"  Bradley-Terry, {len(prompt_results)} prompt groups x {ROUNDS} rounds: "
        f"{timings['bt_prompts']:.2f} s"
    )
    print(f"  Bradley-Terry, {MODELS} models x {ROUNDS} rounds: {timings['bt_models']:.2f} s")
    print(f"  position + length bias: {timings['bias']:.2f} s")
    print(f"  reviewer agreement: {timings['agreement']:.2f} s")
    winners = sum(r.winner is not None for r in prompt_results)
    print(
        f"  clear winners: {winners} of {len(prompt_results)} prompts; models: {model_result.winner}"
    )
    print(f"stats over {len(ratings)} ratings: {total:.2f} s")


if __name__ == "__main__":
    main()
