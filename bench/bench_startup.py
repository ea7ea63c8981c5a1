"""Start-up to healthy and idle memory of the real `promptbot run` (HTTP mode), beside
bare Bolt served the same way, and the time of `promptbot --help`. Prints; asserts
nothing.

Each round starts both servers in turn (alternating, so machine load hits both alike)
against the Slack stand-in, times spawn → first 200 from GET /healthz, waits until
idle, and reads VmRSS. Targets: start-up ≤ 3× bare Bolt, idle RSS ≤ 2× bare Bolt,
`promptbot --help` < 0.3 s.

Run: .venv/bin/python bench/bench_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import TOKEN, promptbot_command, start_promptbot, start_reference
from promptbot.standins.slack_api import SlackStandIn

IDLE_SECONDS = 2.0  # after healthy: start-up jobs (resume, the close check) have run


def help_seconds(rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([*promptbot_command(), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {
        "bare Bolt": {"healthy": [], "rss": []},
        "promptbot": {"healthy": [], "rss": []},
    }
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(bot_token=TOKEN) as slack:
        directory = Path(tmp)
        for round_ in range(args.rounds):
            for name in ("bare Bolt", "promptbot") if round_ % 2 else ("promptbot", "bare Bolt"):
                if name == "promptbot":
                    server = start_promptbot(directory, directory / f"db{round_}.db", slack.api_url)
                else:
                    server = start_reference("bolt", directory, slack.api_url)
                try:
                    time.sleep(IDLE_SECONDS)
                    results[name]["healthy"].append(server.healthy_after)
                    results[name]["rss"].append(server.rss_mb())
                finally:
                    server.stop()
    helps = help_seconds(args.rounds)

    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    print(f"start-up to healthy and idle RSS, median of {args.rounds} rounds:")
    for name, figures in med.items():
        spread = results[name]["healthy"]
        print(
            f"  {name:10s} healthy after {figures['healthy']:.2f} s"
            f" (range {min(spread):.2f}–{max(spread):.2f}) · idle RSS {figures['rss']:.0f} MB"
        )
    bot, bolt = med["promptbot"], med["bare Bolt"]
    print(f"  ratio start-up {bot['healthy'] / bolt['healthy']:.2f}× (target ≤ 3)")
    print(f"  ratio idle RSS {bot['rss'] / bolt['rss']:.2f}× (target ≤ 2)")
    print(
        f"promptbot --help: median {statistics.median(helps):.3f} s,"
        f" max {max(helps):.3f} s (target < 0.3 s)"
    )


if __name__ == "__main__":
    main()
