"""`promptbot digest --print` at 10k, 100k and 1M ratings, beside a plain SQL aggregate.

Each size is a database of prompts (100 × 5 versions), runs of 5 blind candidates from 8
models, and 7 reviewers per run who rate every candidate on one or both scales (about 10
ratings per candidate, cut at the size: 1M ratings is 100k candidates). Both measurements are separate
processes, timed from start to exit, with their peak RSS (from wait4):

* the digest: the real CLI, `promptbot digest --print`, 200 bootstrap rounds;
* the baseline: one GROUP BY over the ratings in sqlite3 (mean score per version and
  scale), what a plain report would cost;
* the floor: the same GROUP BY, on a thread of its own, in a process that meanwhile
  imports numpy, pydantic and click, which any digest CLI built as the design card
  and the issue ask (settings validated by pydantic, a click CLI, the work on numpy
  arrays) must load. Such a digest also reads every rating, not one row per group,
  and then computes, so none can beat the floor: its ratio to the baseline bounds
  what "within 2x the SQL aggregate" can mean on this machine.

The first row is the digest of an empty database: the fixed cost of starting the CLI
and loading the statistics, which the ratio at 100k includes too.

Generated databases are cached in the temp dir (promptbot-bench-digest/), so a rerun is
quick. Prints the table and the growth exponent of the digest's time from 100k to 1M
(target: 1.0 or less; 1M under 3 s and 300 MB; at 100k within 2x the SQL aggregate).

Run: .venv/bin/python bench/bench_digest.py [--sizes 0,10000,100000,1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.processes import compile_project  # noqa: E402
from storage import Store  # noqa: E402

PROMPTS, VERSIONS, MODELS, PER_RUN, REVIEWERS, PER_THREAD = 100, 5, 8, 5, 60, 7
CACHE = Path(tempfile.gettempdir()) / "promptbot-bench-digest"
FORMAT = 4  # bump when the generated data changes
AGGREGATE = (
    "SELECT v.id AS version_id, r.scale, COUNT(*) AS n, AVG(r.score) AS mean"
    " FROM ratings r JOIN candidates c ON c.id = r.candidate_id"
    " JOIN runs ON runs.id = c.run_id JOIN versions v ON v.id = runs.version_id"
    " GROUP BY v.id, r.scale"
)


def populate(path: Path, ratings: int, seed: int = 7) -> None:
    """A database with ``ratings`` ratings, timestamps over the three weeks before now."""
    rng = random.Random(seed)
    Store(path).close()
    db = sqlite3.connect(path)
    now = datetime.now(UTC)

    def when(days_ago: float) -> str:
        return (now - timedelta(days=days_ago)).isoformat(timespec="microseconds")

    candidates = ratings // 10
    runs = candidates // PER_RUN
    db.executemany(
        "INSERT INTO prompts (id, name, created_by, created_at) VALUES (?, ?, 'U1', ?)",
        [(p, f"prompt-{p}", when(30)) for p in range(1, PROMPTS + 1)],
    )
    db.executemany(
        "INSERT INTO versions (id, prompt_id, number, template, author, created_at)"
        " VALUES (?, ?, ?, 't', 'U1', ?)",
        [
            ((p - 1) * VERSIONS + v, p, v, when(30))
            for p in range(1, PROMPTS + 1)
            for v in range(1, VERSIONS + 1)
        ],
    )
    run_rows = [
        (
            r,
            rng.randint(1, PROMPTS * VERSIONS),
            f"{r}.0",
            f"https://x/p{r}",
            when(rng.uniform(0, 21)),
        )
        for r in range(1, runs + 1)
    ]
    db.executemany(
        "INSERT INTO runs (id, version_id, status, channel, thread_ts, permalink, created_by,"
        " created_at, models, inputs) VALUES (?, ?, 'done', 'C1', ?, ?, 'U1', ?, '[]', '[{}]')",
        run_rows,
    )
    strength = [rng.gauss(0, 1) for _ in range(MODELS)]
    candidate_rows, model_of = [], {}
    for run_id, *_ in run_rows:
        models = rng.sample(range(MODELS), PER_RUN)
        for slot, model in enumerate(models):
            cid = len(candidate_rows) + 1
            model_of[cid] = model
            candidate_rows.append(
                (cid, run_id, "ABCDE"[slot], slot, f"model-{model}", f"model-{model}",
                 "x" * rng.randint(50, 800), rng.randint(20, 400), rng.randint(200, 4000))
            )  # fmt: skip
    db.executemany(
        "INSERT INTO candidates (id, run_id, label, slot, model_name, model_id, input_index,"
        " variables, status, output, tokens_in, tokens_out, latency_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, '{}', 'posted', ?, 100, ?, ?)",
        candidate_rows,
    )

    def rating_rows():
        made = 0
        for run_id, _, _, _, created in run_rows:
            first = (run_id - 1) * PER_RUN + 1
            for user in rng.sample(range(REVIEWERS), PER_THREAD):
                both = rng.random() < 0.5
                for cid in range(first, first + PER_RUN):
                    s = strength[model_of[cid]] + rng.gauss(0, 1)
                    at = created
                    scales = ("approval", "stars") if both else (rng.choice(("approval", "stars")),)
                    for scale in scales:
                        if made >= ratings:
                            return
                        if scale == "approval":
                            yield (
                                cid,
                                f"U{user}",
                                scale,
                                "+1" if s > 0 else "-1",
                                float(s > 0),
                                at,
                            )
                        else:
                            stars = float(min(5, max(1, round(3 + s))))
                            yield (cid, f"U{user}", scale, "star", stars, at)
                        made += 1

    db.executemany(
        "INSERT INTO ratings (candidate_id, user_id, scale, emoji, score, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rating_rows(),
    )
    db.commit()
    db.close()


def database(ratings: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"digest-{FORMAT}-{ratings}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        populate(partial, ratings)
        partial.rename(path)
    Store(path).close()  # a cached database is migrated to the current schema
    with sqlite3.connect(path) as db:
        (stored,) = db.execute("SELECT COUNT(*) FROM ratings").fetchone()
    if stored != ratings:
        raise SystemExit(f"{path} holds {stored:,} ratings, not {ratings:,}: delete it")
    return path


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one child process.
    On a shared machine the CPU seconds are the steadier figure."""
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, env)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command)} exited with {status}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measure (best kept)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    compile_project()  # as an installed copy is, so no process compiles our modules
    python = sys.executable
    promptbot = str(Path(python).with_name("promptbot"))
    print(f"data cached in {CACHE}")
    print(
        f"{'ratings':>9} | {'digest s':>8} {'cpu s':>6} {'MB':>6} | {'SQL s':>6} {'cpu s':>6}"
        f" {'MB':>5} | {'ratio':>5} {'cpu':>5} | {'floor s':>7} {'ratio':>5}"
    )
    timings = {}
    for size in sizes:
        started = time.perf_counter()
        path = database(size)
        built = time.perf_counter() - started
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
        env["PROMPTBOT_DB"] = str(path)
        config = CACHE / "app.yaml"
        config.write_text("digest:\n  bootstrap_rounds: 200\n  seed: 0\n")
        env["PROMPTBOT_CONFIG"] = str(config)
        digest = [promptbot, "digest", "--print"]
        plain = [
            python,
            "-c",
            f"import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(len(c.execute({AGGREGATE!r}).fetchall()))",
            str(path),
        ]
        floor = [
            python,
            "-c",
            "import sqlite3,sys,threading; n=[]; t=threading.Thread(target=lambda:"
            f" n.append(len(sqlite3.connect(sys.argv[1]).execute({AGGREGATE!r}).fetchall())));"
            " t.start(); import numpy, pydantic, click; t.join(); print(n[0])",
            str(path),
        ]
        with open(os.devnull, "wb") as sink:
            saved = os.dup(1)
            os.dup2(sink.fileno(), 1)
            try:
                d = min(run_measured(digest, env) for _ in range(args.repeat))
                s = min(run_measured(plain, env) for _ in range(args.repeat))
                f = min(run_measured(floor, env) for _ in range(args.repeat))
            finally:
                os.dup2(saved, 1)
        timings[size] = d[2]
        note = f"  (generated in {built:.0f} s)" if built > 1 else ""
        label = f"{size:>9,}" if size else f"{'empty':>9}"
        print(
            f"{label} | {d[0]:>8.2f} {d[2]:>6.2f} {d[1]:>6.0f} | {s[0]:>6.2f} {s[2]:>6.2f}"
            f" {s[1]:>5.0f} | {d[0] / s[0]:>5.1f} {d[2] / s[2]:>5.1f} | {f[0]:>7.2f}"
            f" {f[0] / s[0]:>5.1f}{note}"
        )
    if 100_000 in timings and 1_000_000 in timings:
        exponent = math.log(timings[1_000_000] / timings[100_000]) / math.log(10)
        print(f"growth exponent of the digest's CPU time, 100k → 1M: {exponent:.2f} (target ≤ 1.0)")
    print("targets: 1M under 3 s and 300 MB; at 100k within 2x the SQL aggregate")
    print("floor: the SQL aggregate while numpy, pydantic and click load (no digest beats it)")


if __name__ == "__main__":
    main()
