"""Proposals never queue behind each other: 50 concurrent proposals × 2 models × 2 inputs
against the real ``promptbot run``, models answering in 4 s with max_concurrency 16.

The model-capacity bound is what the models alone allow: each model has 100 calls to
make, 16 at a time, 4 s each, so ceil(100 / 16) × 4 s = 28 s. The figure is the time
from the first command to the last candidate posted (counted in the Slack stand-in),
as a ratio of that bound; the target is 1.2 or less. Each proposal is typed in its own
channel, so Slack's per-channel pace (about 1 post a second) is not what is measured.

    python bench/bench_runs.py [--proposals 50] [--latency 4]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import SECRET, TOKEN, start_promptbot
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn

MODELS = ("alpha", "beta")
CONCURRENCY = 16


def write_config(directory: Path, models_url: str) -> Path:
    data = {
        "models": [
            {
                "name": name,
                "model": f"{name}-id",
                "base_url": models_url,
                "timeout": 60,
                "max_concurrency": CONCURRENCY,
            }
            for name in MODELS
        ],
        "slack": {"timeout": 10},
    }
    path = directory / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def propose(url: str, n: int) -> int:
    text = f"propose load{n} --models {','.join(MODELS)}\nSay {{{{ x }}}}\n---\nx: one\n---\nx: two"
    body = payloads.slash_command_body(text, user_id="U1", channel_id=f"C{n:03d}")
    status, _ = payloads.post_signed(
        url + "/slack/events", body, SECRET, content_type="application/x-www-form-urlencoded"
    )
    return status


def candidates_posted(slack: SlackStandIn, proposals: int) -> tuple[int, float]:
    """(candidate posts, time of the last one) across the proposals' channels."""
    count, last = 0, 0.0
    for n in range(proposals):
        for message in slack.messages(f"C{n:03d}"):
            if (message["metadata"] or {}).get("event_type") == "promptbot_candidate":
                count += 1
                last = max(last, float(message["ts"]))
    return count, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=50)
    parser.add_argument("--latency", type=float, default=4.0)
    args = parser.parse_args()
    expected = args.proposals * len(MODELS) * 2
    per_model = args.proposals * 2
    bound = math.ceil(per_model / CONCURRENCY) * args.latency

    with (
        tempfile.TemporaryDirectory() as tmp,
        SlackStandIn(bot_token=TOKEN) as slack,
        OpenAIStandIn() as models,
    ):
        directory = Path(tmp)
        for name in MODELS:
            models.set_behaviour(f"{name}-id", latency=args.latency)
        bot = start_promptbot(
            directory,
            directory / "bench.db",
            slack.api_url,
            config=write_config(directory, models.base_url),
        )
        try:
            began = time.time()
            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(lambda n: propose(bot.url, n), range(args.proposals)))
            assert set(statuses) == {200}, statuses
            deadline = time.monotonic() + bound * 4 + 30
            while candidates_posted(slack, args.proposals)[0] < expected:
                if time.monotonic() > deadline:
                    posted = candidates_posted(slack, args.proposals)[0]
                    raise SystemExit(f"only {posted} of {expected} candidates posted")
                time.sleep(0.1)
            _, last = candidates_posted(slack, args.proposals)
            peak = max(models.max_in_flight.values())
        finally:
            bot.stop()
    took = last - began
    print(f"proposals: {args.proposals} x {len(MODELS)} models x 2 inputs = {expected} candidates")
    print(
        f"models: {args.latency:g} s per call, max_concurrency {CONCURRENCY}; peak in flight {peak}"
    )
    print(f"model-capacity bound: {bound:.1f} s")
    print(f"last candidate posted after: {took:.1f} s")
    print(f"ratio to the bound: {took / bound:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
