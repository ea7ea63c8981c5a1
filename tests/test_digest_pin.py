"""The digest of one fixed database and seed, pinned figure for figure.

The digest is computed on arrays tuned for a million ratings (32-bit codes, no copies,
sorted keys); none of that may move a figure. The pinned file was written by the digest
as it was before that work (main at 46f87a2): every strength, interval, standing and
bias figure at full precision, and the text. Written again once since, when the
bootstrap's pseudo-comparisons were drawn as Z²/2 (Gamma(0.5) exactly, from a stream of
their own) instead of by numpy's Gamma: the same estimator and resampling unit with
other random draws, so every strength, standing and bias figure stayed as it was and
only the bootstrap's intervals (and the separability calls at their edges) moved. And
again when the fits went from I-LSR's steps to Newton's on the same fixed point
(promptbot.verdicts.ilsr), which it now reaches to ~1e-15 where I-LSR stopped within
~1e-8: strengths and interval ends moved by at most 2e-9, no text and no call. And again
when the bootstrap's refits stopped where Newton's quadratic rate says the next step
would move the strengths by less than the tolerance (rather than taking that step), with
the Newton step's sums as matrix products: the same draws, the interval ends moved by at
most 4.2e-8 and the strengths by at most 6e-16 (rounding) in 38 of 53 entries; every
standing, bias figure and line of text stayed as it was. Reviewer agreement is pinned to its two
decimals: its α is now computed without the krippendorff package's large array and
agrees with it to ~1e-14 (tests/test_agreement.py checks it against the package).
"""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promptbot.config.loading import parse_config
from promptbot.digest.assembly import build_digest_from
from promptbot.digest.service import DigestService
from promptbot.render.terminal import blocks_to_text
from promptbot.review.scales import RatingScales
from storage import Store
from storage.digest_inputs import load_digest_inputs

PINNED = Path(__file__).parent / "data" / "digest_pin.txt"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROMPTS, VERSIONS, MODELS, PER_RUN, REVIEWERS, PER_THREAD, RUNS = 6, 3, 5, 4, 12, 4, 150


def populate(path: Path, seed: int = 11) -> None:
    """Runs of 4 blind candidates from 5 models, 4 reviewers a run on one or both scales,
    over the three weeks before NOW; some runs show two versions (so versions meet)."""
    rng = random.Random(seed)
    Store(path).close()
    db = sqlite3.connect(path)

    def when(days_ago: float) -> str:
        return (NOW - timedelta(days=days_ago)).isoformat(timespec="microseconds")

    db.executemany(
        "INSERT INTO prompts (id, name, created_by, created_at) VALUES (?, ?, 'U1', ?)",
        [(p, f"prompt-{p}", when(30)) for p in range(1, PROMPTS + 1)],
    )
    versions = [((p - 1) * VERSIONS + v, p, v) for p in range(1, PROMPTS + 1) for v in range(1, 4)]
    db.executemany(
        "INSERT INTO versions (id, prompt_id, number, template, author, created_at)"
        " VALUES (?, ?, ?, 't', 'U1', ?)",
        [(*row, when(30)) for row in versions],
    )
    strength = [rng.gauss(0, 1) for _ in range(MODELS)] + [rng.gauss(0, 0.5) for _ in versions]
    candidate = 0
    for run in range(1, RUNS + 1):
        version = rng.randint(1, len(versions))
        created = when(rng.uniform(0, 21))
        db.execute(
            "INSERT INTO runs (id, version_id, status, channel, thread_ts, permalink, created_by,"
            " created_at, models, inputs) VALUES (?, ?, 'done', 'C1', ?, ?, 'U1', ?, '[]', '[{}]')",
            (run, version, f"{run}.0", f"https://x/p{run}", created),
        )
        rows = []
        for slot, model in enumerate(rng.sample(range(MODELS), PER_RUN)):
            candidate += 1
            # A revision run shows its version beside the one before it.
            own = version - 1 if slot == 3 and version % VERSIONS != 1 else None
            rows.append((candidate, own or version, model))
            db.execute(
                "INSERT INTO candidates (id, run_id, label, slot, model_name, model_id,"
                " input_index, variables, status, output, tokens_in, tokens_out, latency_ms,"
                " version_id) VALUES (?, ?, ?, ?, ?, ?, 0, '{}', 'posted', ?, 100, ?, ?, ?)",
                (candidate, run, "ABCD"[slot], slot, f"model-{model}", f"model-{model}",
                 "x" * rng.randint(20, 900), rng.randint(20, 400), rng.randint(200, 4000), own),
            )  # fmt: skip
        for user in rng.sample(range(REVIEWERS), PER_THREAD):
            both = rng.random() < 0.5
            for cid, shown, model in rows:
                s = strength[model] + strength[MODELS + shown - 1] + rng.gauss(0, 1)
                at = when(max(0.0, (NOW - datetime.fromisoformat(created)).days - rng.random()))
                for scale in (
                    ("approval", "stars") if both else (rng.choice(("approval", "stars")),)
                ):
                    emoji, score = (
                        ("+1" if s > 0 else "-1", float(s > 0))
                        if scale == "approval"
                        else ("star", float(min(5, max(1, round(3 + s)))))
                    )
                    db.execute(
                        "INSERT INTO ratings (candidate_id, user_id, scale, emoji, score,"
                        " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (cid, f"U{user}", scale, emoji, score, at),
                    )
    db.commit()
    db.close()


def figures(path: Path) -> str:
    config = parse_config({"digest": {"bootstrap_rounds": 200, "seed": 0, "min_votes": 5}})
    store = Store(path, read_only=True)
    service = DigestService(store, config, clock=lambda: NOW)
    period = service.preview_period(NOW)
    inputs = load_digest_inputs(store, RatingScales(config.scales), period.start, period.end)
    digest = build_digest_from(
        inputs, start=period.start, end=period.end, settings=config.digest, now=NOW
    )
    lines = [blocks_to_text(service.preview(NOW).blocks)]
    for ranking in digest.rankings.all_rankings:
        lines.append(f"{ranking.title} waiting={ranking.waiting}")
        lines += [f"  {entry!r}" for entry in ranking.result.entries]
        lines.append(f"  not separable: {ranking.result.not_separable}")
    lines += [repr(standing) for standing in digest.rankings.standings]
    biases = digest.rankings.biases
    lines += [repr(biases.position), repr(biases.length)]
    lines += [f"{name}: {a.plain_words}" for name, a in biases.agreement_by_scale]
    lines += [repr(digest.new_champions), repr(digest.movers), repr(digest.activity)]
    return "\n".join(lines) + "\n"


def test_the_digest_of_a_fixed_database_is_pinned(tmp_path: Path) -> None:
    populate(tmp_path / "pinned.db")
    found = figures(tmp_path / "pinned.db")
    assert re.search(r"Versions of prompt-\d", found)  # versions met: their rankings are in
    assert found == PINNED.read_text()
