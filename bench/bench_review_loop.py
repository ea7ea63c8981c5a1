"""Slash-command ack latency under model load, and the fan-out ratio of a run. Prints;
asserts nothing. In-process (the app served by waitress on a loopback port, as in the
tests); reactions are measured end to end by bench/bench_ingest.py.

1. Ack latency: while 8 model calls of 2 s each are in flight, send slash commands
   (/prompt list, /prompt propose) over signed HTTP and time each response.
   Target: p99 < 100 ms.
2. Fan-out: one run of 16 calls (4 models × 4 inputs, latencies 0.6–1.0 s); its wall
   time from the command to the last candidate posted, over the slowest single call.
   Target: ≤ 1.15.

Run: .venv/bin/python bench/bench_review_loop.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from tests.harness import TOKEN, bot_config, start_bot


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    status = call()
    assert status == 200, status
    return (time.perf_counter() - started) * 1000


def ack_latency(tmp: Path) -> None:
    with SlackStandIn(bot_token=TOKEN) as slack, OpenAIStandIn() as models:
        config = bot_config(models, timeout=30)
        for model in config["models"]:
            model["max_concurrency"] = 8
        bot = start_bot(tmp, slack, models, config)
        try:
            models.set_behaviour("alpha-id", latency=2.0)
            inputs = "\n---\n".join(f"x: {i}" for i in range(8))
            bot.command(f"propose warm --models alpha\nEcho {{{{ x }}}}\n---\n{inputs}")
            models.wait_for_requests(8)
            slack.wait_for(lambda: bot.store.get_run(1).thread_ts, timeout=5)
            started = time.perf_counter()
            results: dict[str, list[float]] = {"list": [], "propose": []}

            def command(i: int) -> tuple[str, float]:
                kind = "list" if i % 4 else "propose"
                text = "list" if i % 4 else f"propose load{i} --models beta\nHi"
                return kind, timed(lambda: bot.command(text, user=f"U{i}")[0])

            with ThreadPoolExecutor(4) as pool:
                for kind, ms in pool.map(command, range(200)):
                    results[kind].append(ms)
            in_flight = models.in_flight("alpha-id")
            elapsed = time.perf_counter() - started
            bot.wait_run(1, timeout=30)
            print(f"ack latency with 8 model calls of 2 s in flight ({elapsed:.1f} s of load,")
            print(f"  {in_flight} alpha calls still in flight at the end):")
            for kind, values in results.items():
                print(
                    f"  {kind:8s} n={len(values):3d}  p50 {statistics.median(values):6.1f} ms"
                    f"  p99 {percentile(values, 0.99):6.1f} ms  max {max(values):6.1f} ms"
                )
        finally:
            bot.close()


def fan_out(tmp: Path) -> None:
    with SlackStandIn(bot_token=TOKEN) as slack, OpenAIStandIn() as models:
        config = bot_config(models, timeout=30)
        config["models"].append({**config["models"][0], "name": "delta", "model": "delta-id"})
        bot = start_bot(tmp, slack, models, config)
        try:
            for name, latency in zip(
                ("alpha", "beta", "gamma", "delta"), (0.6, 0.7, 0.8, 1.0), strict=True
            ):
                models.set_behaviour(f"{name}-id", latency=latency)
            inputs = "\n---\n".join(f"x: {i}" for i in range(4))
            started = time.perf_counter()
            bot.command(
                f"propose fan --models alpha,beta,gamma,delta\nEcho {{{{ x }}}}\n---\n{inputs}"
            )
            run = bot.wait_run(1, timeout=60)
            wall = time.perf_counter() - started
            candidates = bot.store.candidates(run.id)
            slowest = max(c.latency_ms or 0 for c in candidates) / 1000
            print(f"fan-out: {len(candidates)} calls, wall {wall:.3f} s (command to last post),")
            print(f"  slowest single call {slowest:.3f} s, ratio {wall / slowest:.3f}")
        finally:
            bot.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        ack_latency(Path(first))
        fan_out(Path(second))
