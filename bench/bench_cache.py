"""A rerun of 50 calls with a warm cache: model calls made, and wall time against the
cold run (targets: 0 calls, under 5%). Prints; asserts nothing.

5 models × 10 inputs at temperature 0 (so answers are cached), each call taking 2 s at
the stand-in model server, 4 calls in flight per model. Wall time is from the command
to the last candidate posted in the thread.

Run: .venv/bin/python bench/bench_cache.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from tests.harness import TOKEN, bot_config, start_bot

MODELS = ("m1", "m2", "m3", "m4", "m5")


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        SlackStandIn(bot_token=TOKEN) as slack,
        OpenAIStandIn() as models,
    ):
        config = bot_config(models, timeout=30)
        template = config["models"][0]
        config["models"] = [
            {**template, "name": name, "model": f"{name}-id", "params": {"temperature": 0}}
            for name in MODELS
        ]
        for name in MODELS:
            models.set_behaviour(f"{name}-id", latency=2.0)
        bot = start_bot(Path(folder), slack, models, config)
        try:
            inputs = "\n---\n".join(f"x: {i}" for i in range(10))
            started = time.perf_counter()
            bot.command(
                f"propose cached --models {','.join(MODELS)}\nEcho {{{{ x }}}}\n---\n{inputs}"
            )
            bot.wait_run(1, timeout=120)
            cold = time.perf_counter() - started
            cold_calls = len(models.requests)

            started = time.perf_counter()
            bot.command("rerun cached")
            bot.wait_run(2, timeout=120)
            warm = time.perf_counter() - started
            warm_calls = len(models.requests) - cold_calls
            hits = sum(c.cached for c in bot.store.candidates(2))
        finally:
            bot.close()
    print(f"cold run: {cold_calls} model calls, {cold:.2f} s")
    print(f"warm rerun: {warm_calls} model calls ({hits} cache hits), {warm:.3f} s")
    print(f"warm / cold wall time: {warm / cold:.1%}")


if __name__ == "__main__":
    main()
