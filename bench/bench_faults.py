"""The delivery issue's Slack-fault matrix against the real ``promptbot run``: for each
fault, one proposal (four in the rate-limit row) of three candidates, with the fault
injected into the Slack stand-in while the run posts.

Per fault it prints the candidates answered (in the DB), the candidates posted and the
duplicates (in the Slack stand-in), the thread parents, and the time from the command
to the run's last candidate post ("recovered"; the first row has no fault, for scale).
Target: posted = answered, 0 duplicates, 1 parent per run.

    python bench/bench_faults.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import SECRET, TOKEN, start_promptbot
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from storage import Store

MODELS = ("alpha", "beta", "gamma")
SLACK_TIMEOUT = 2  # the bot's client timeout, so a "late" answer is one past it


@dataclass
class Fault:
    name: str
    inject: Callable[[SlackStandIn], None]  # before the command
    runs: int = 1
    during: Callable[[SlackStandIn], None] | None = None  # once the parent is up


FAULTS = [
    Fault("no fault", lambda s: None),
    Fault("429 x5 on chat.postMessage", lambda s: s.fail_next("chat.postMessage", 5, after=1)),
    Fault(
        "HTTP 200 ok:false ratelimited",
        lambda s: s.fail_next("chat.postMessage", error="ratelimited", after=1),
    ),
    Fault("one 503", lambda s: s.fail_next("chat.postMessage", status=503, after=1)),
    Fault(
        "refused 8 s during candidates",
        lambda s: None,
        during=lambda s: s.go_offline(8) and None,
    ),
    Fault("refused 8 s before the parent", lambda s: s.go_offline(8) and None),
    Fault(
        "answer after the client timeout",
        lambda s: s.fail_next("chat.postMessage", delay=SLACK_TIMEOUT + 1, apply=True, after=2),
    ),
    Fault("1 msg/s per channel, 4 runs at once", lambda s: s.rate_limit(1, burst=3), runs=4),
]


def write_config(directory: Path, models_url: str) -> Path:
    data = {
        "models": [
            {"name": n, "model": f"{n}-id", "base_url": models_url, "timeout": 30} for n in MODELS
        ],
        "slack": {"timeout": SLACK_TIMEOUT, "resume_every_seconds": 5},
    }
    path = directory / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def command(url: str, text: str, channel: str) -> int:
    body = payloads.slash_command_body(text, user_id="U1", channel_id=channel)
    status, _ = payloads.post_signed(
        url + "/slack/events", body, SECRET, content_type="application/x-www-form-urlencoded"
    )
    return status


def tally(store: Store, slack: SlackStandIn, run_ids: list[int]) -> dict[str, float]:
    answered = posted = duplicates = parents = 0
    last = 0.0
    for run_id in run_ids:
        run = store.get_run(run_id)
        ids = {c.id for c in store.candidates(run_id)}
        answered += sum(c.status != "pending" for c in store.candidates(run_id))
        owners = []
        for message in slack.messages(run.channel):
            meta = message["metadata"] or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == "promptbot_run" and payload.get("run") == run_id:
                parents += 1
            if meta.get("event_type") == "promptbot_candidate" and payload.get("candidate") in ids:
                if payload.get("part", 0) == 0:
                    owners.append(payload["candidate"])
                last = max(last, float(message["ts"]))
        posted += len(set(owners))
        duplicates += len(owners) - len(set(owners))
    return {
        "answered": answered,
        "posted": posted,
        "duplicates": duplicates,
        "parents": parents,
        "last": last,
    }


def run_fault(fault: Fault, number: int, url: str, store: Store, slack: SlackStandIn) -> str:
    channel = f"CF{number:02d}"
    known = {s.run.id for s in store.recent_runs(500)}
    slack.reset()
    fault.inject(slack)
    began = time.time()
    for n in range(fault.runs):
        assert (
            command(url, f"propose fault{number}x{n} --models {','.join(MODELS)}\nHi", channel)
            == 200
        )
    deadline = time.monotonic() + 180
    run_ids: list[int] = []
    while len(run_ids) < fault.runs and time.monotonic() < deadline:
        run_ids = sorted(s.run.id for s in store.recent_runs(500) if s.run.id not in known)
        time.sleep(0.05)
    if fault.during is not None:
        while not all(store.get_run(r).thread_ts for r in run_ids):
            time.sleep(0.02)
        fault.during(slack)
    while time.monotonic() < deadline:
        if all(store.get_run(r).status in ("done", "failed") for r in run_ids):
            break
        time.sleep(0.05)
    slack.rate_limit(None)
    counts = tally(store, slack, run_ids)
    status = ",".join(sorted({store.get_run(r).status for r in run_ids}))
    took = counts["last"] - began if counts["last"] else float("nan")
    return (
        f"{fault.name:<36} {counts['answered']:>8.0f} {counts['posted']:>6.0f}"
        f" {counts['duplicates']:>10.0f} {counts['parents']:>7.0f} {took:>9.1f} s  {status}"
    )


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SlackStandIn(bot_token=TOKEN) as slack,
        OpenAIStandIn() as models,
    ):
        directory = Path(tmp)
        for name in MODELS:
            models.set_behaviour(f"{name}-id", latency=0.5)
        bot = start_promptbot(
            directory,
            directory / "bench.db",
            slack.api_url,
            config=write_config(directory, models.base_url),
        )
        store = Store(directory / "bench.db")
        try:
            print(
                f"{'fault':<36} {'answered':>8} {'posted':>6} {'duplicates':>10}"
                f" {'parents':>7} {'recovered':>11}  runs"
            )
            for number, fault in enumerate(FAULTS):
                print(run_fault(fault, number, bot.url, store, slack), flush=True)
        finally:
            bot.stop()


if __name__ == "__main__":
    main()
