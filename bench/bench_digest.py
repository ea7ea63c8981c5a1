"""Digest computation at scale: 100k ratings, 10k candidates, 500 prompt versions,
200 bootstrap rounds. Prints the time beside a plain SQL aggregate over the same data.
Target: under 2 s. Prints; asserts nothing.

Run: .venv/bin/python bench/bench_digest.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptbot.config.settings import AppConfig
from promptbot.digest.assembly import build_digest
from promptbot.review.scales import RatingScales
from storage import Store
from storage.evidence import load_evidence, score_summary

PROMPTS, VERSIONS, MODELS, CANDIDATES, RATINGS = 100, 5, 8, 10_000, 100_000
PER_RUN = 5  # candidates per run: 2,000 runs
REVIEWERS = 50


def populate(store: Store, rng: random.Random) -> None:
    db = store.connection()
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def when(day: float) -> str:
        return (start + timedelta(days=day)).isoformat(timespec="seconds")

    db["prompts"].insert_all(
        {"id": p, "name": f"prompt-{p}", "created_by": "U1", "created_at": when(0)}
        for p in range(1, PROMPTS + 1)
    )
    db["versions"].insert_all(
        {
            "id": (p - 1) * VERSIONS + v,
            "prompt_id": p,
            "number": v,
            "template": "t",
            "author": "U1",
            "created_at": when(0),
        }
        for p in range(1, PROMPTS + 1)
        for v in range(1, VERSIONS + 1)
    )
    runs = CANDIDATES // PER_RUN
    db["runs"].insert_all(
        {
            "id": r,
            "version_id": rng.randint(1, PROMPTS * VERSIONS),
            "status": "done",
            "channel": "C1",
            "thread_ts": f"{r}.0",
            "permalink": f"https://x/p{r}",
            "created_by": "U1",
            "created_at": when(rng.uniform(0, 20)),
            "models": "[]",
            "inputs": "[{}]",
        }
        for r in range(1, runs + 1)
    )
    strength = [rng.gauss(0, 1) for _ in range(MODELS)]
    candidates = []
    for c in range(1, CANDIDATES + 1):
        model = rng.randrange(MODELS)
        candidates.append((c, model))
    db["candidates"].insert_all(
        {
            "id": c,
            "run_id": (c - 1) // PER_RUN + 1,
            "label": "ABCDE"[(c - 1) % PER_RUN],
            "slot": (c - 1) % PER_RUN,
            "model_name": f"model-{model}",
            "model_id": f"model-{model}",
            "input_index": 0,
            "variables": "{}",
            "status": "posted",
            "output": "x" * rng.randint(50, 2000),
            "tokens_in": 100,
            "tokens_out": rng.randint(20, 400),
            "latency_ms": rng.randint(200, 4000),
        }
        for c, model in candidates
    )
    seen = set()
    rows = []
    while len(rows) < RATINGS:
        c, model = candidates[rng.randrange(CANDIDATES)]
        user = f"U{rng.randrange(REVIEWERS)}"
        scale = "approval" if rng.random() < 0.5 else "stars"
        if (c, user, scale) in seen:
            continue
        seen.add((c, user, scale))
        good = rng.random() < 1 / (1 + 2.718 ** -strength[model])
        score = (
            float(good)
            if scale == "approval"
            else float(min(5, max(1, round(3 + 2 * strength[model] + rng.gauss(0, 1)))))
        )
        rows.append(
            {
                "candidate_id": c,
                "user_id": user,
                "scale": scale,
                "emoji": "+1",
                "score": score,
                "updated_at": when(rng.uniform(0, 21)),
            }
        )
    db["ratings"].insert_all(rows, batch_size=5000)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "bench.db")
        populate(store, random.Random(7))
        config = AppConfig()
        end = datetime(2026, 11, 23, tzinfo=UTC)

        started = time.perf_counter()
        summary = score_summary(store)
        sql_seconds = time.perf_counter() - started

        started = time.perf_counter()
        evidence = load_evidence(store, RatingScales(config.scales), end)
        loaded = time.perf_counter()
        digest = build_digest(
            evidence, start=end - timedelta(days=7), end=end, settings=config.digest
        )
        finished = time.perf_counter()

        total = finished - started
        print(
            f"data: {len(evidence.ratings)} ratings, {len(evidence.candidates)} candidates,"
            f" {PROMPTS * VERSIONS} prompt versions, {config.digest.bootstrap_rounds} bootstrap rounds"
        )
        print(f"plain SQL aggregate ({len(summary)} rows): {sql_seconds * 1000:.0f} ms")
        print(
            f"digest: {total:.2f} s (load {loaded - started:.2f} s,"
            f" statistics {finished - loaded:.2f} s); ratio to the SQL aggregate {total / sql_seconds:.1f}x"
        )
        print(f"leaderboard entries: {len(digest.leaderboard)}")


if __name__ == "__main__":
    main()
