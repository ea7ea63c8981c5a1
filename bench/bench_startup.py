"""Start-up to healthy and idle memory of the real `promptbot run` (HTTP mode), beside
bare Bolt served the same way, and the time of two one-shot commands: `promptbot --help`
and `promptbot digest --print` on an empty database (the fixed cost every digest pays).
Prints; asserts nothing. The project is byte-compiled first, as an installed copy is.

Each round starts both servers in turn (alternating, so machine load hits both alike)
against the Slack stand-in, times spawn → first 200 from GET /healthz, waits until
idle, and reads VmRSS. Targets: start-up ≤ 3× bare Bolt, idle RSS ≤ 2× bare Bolt,
`promptbot --help` < 0.3 s.

Run: .venv/bin/python bench/bench_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import (
    TOKEN,
    promptbot_command,
    start_promptbot,
    start_reference,
    write_config,
)
from promptbot.standins.slack_api import SlackStandIn
from storage import Store

IDLE_SECONDS = 2.0  # after healthy: start-up jobs (resume, the close check) have run


def command_seconds(args: list[str], rounds: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall seconds of ``promptbot ARGS`` as a process, from spawn to exit, each round."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([*promptbot_command(), *args], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return times


def empty_digest_seconds(directory: Path, rounds: int) -> list[float]:
    Store(directory / "empty.db").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env |= {"PROMPTBOT_DB": str(directory / "empty.db")}
    env |= {"PROMPTBOT_CONFIG": str(write_config(directory))}
    return command_seconds(["digest", "--print"], rounds, env)


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
        digests = empty_digest_seconds(directory, args.rounds)
    helps = command_seconds(["--help"], args.rounds)

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
    print(
        f"promptbot digest --print, empty database: median {statistics.median(digests):.3f} s,"
        f" max {max(digests):.3f} s"
    )
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
