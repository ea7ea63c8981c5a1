"""What people wait for when they look at standings, at 0, 100k and 1M past ratings, and
whether the ratings arriving meanwhile wait too. Prints; asserts nothing.

Against the real `promptbot run` (HTTP) on the benches' seeded database (bench/seed.py:
1,000 prompts, 25,000 runs, the past ratings spread over them), with the Slack stand-in:

* `/prompt show NAME`: from the signed command to the ephemeral answer in Slack;
* ratings behind a Home view: 200 signed reactions sent right after the first
  `app_home_opened`, timed until all 200 are stored in the database, beside the same
  200 with no Home view in front of them;
* the Home tab: from that first `app_home_opened` to its `views.publish` in Slack (the
  standings worked out, while the 200 ratings arrive), and for a second user right
  after (the standings reused).

Run: .venv/bin/python bench/bench_views.py [--sizes 0,100000,1000000]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import reaction_rows
from bench.processes import SECRET, TOKEN, Server, start_promptbot
from bench.seed import CHANNEL, candidate_ts, open_candidates, seeded_db
from promptbot.standins import payloads
from promptbot.standins.slack_api import SlackStandIn

REACTIONS = 200
LIMIT = 120.0  # seconds to wait for any one answer


def send(server: Server, body: str, content_type: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Content-Type": content_type, **payloads.sign(SECRET, body)}
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        status = conn.getresponse().status
        assert status == 200, status
    finally:
        conn.close()


def wait(what: str, done: Callable[[], bool]) -> float:
    """Seconds until ``done()``, polled every millisecond."""
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > LIMIT:
            raise TimeoutError(what)
        time.sleep(0.001)
    return time.perf_counter() - started


def show_seconds(server: Server, slack: SlackStandIn, user: str) -> float:
    body = payloads.slash_command_body("show prompt-7", user_id=user, channel_id=CHANNEL)
    started = time.perf_counter()
    send(server, body, "application/x-www-form-urlencoded")
    wait("the show reply", lambda: bool(slack.ephemerals(user=user)))
    return time.perf_counter() - started


def home_seconds(server: Server, slack: SlackStandIn, user: str) -> float:
    started = time.perf_counter()
    send(server, payloads.event_body(payloads.app_home_opened_event(user)), "application/json")
    wait("the Home view", lambda: slack.home_view(user) is not None)
    return time.perf_counter() - started


def reactions_seconds(server: Server, db: Path, tag: str, home_user: str | None) -> float:
    """Seconds from the first send until ``REACTIONS`` new reactions are stored."""
    before = reaction_rows(db)
    bodies = []
    for i in range(REACTIONS):
        candidate = open_candidates()[(i * 13) % len(open_candidates())]
        event = payloads.reaction_event(
            "reaction_added", user=f"U{tag}{i}", reaction="+1", channel=CHANNEL,
            ts=candidate_ts(candidate),
        )  # fmt: skip
        bodies.append(payloads.event_body(event))
    started = time.perf_counter()
    if home_user is not None:
        send(
            server,
            payloads.event_body(payloads.app_home_opened_event(home_user)),
            "application/json",
        )
    for body in bodies:
        send(server, body, "application/json")
    wait("the reactions stored", lambda: reaction_rows(db) - before >= REACTIONS)
    return time.perf_counter() - started


def measure(past: int, directory: Path) -> None:
    db = seeded_db(past, directory / f"views-{past}.db")
    with SlackStandIn(bot_token=TOKEN) as slack:
        server = start_promptbot(directory, db, slack.api_url, log_name=f"views-{past}")
        try:
            show = show_seconds(server, slack, "USHOW")
            plain = reactions_seconds(server, db, "plain", None)
            started = time.perf_counter()
            behind = reactions_seconds(server, db, "behind", "UHOME1")
            wait("the first Home view", lambda: slack.home_view("UHOME1") is not None)
            first = time.perf_counter() - started
            second = home_seconds(server, slack, "UHOME2")
        finally:
            server.stop()
    print(
        f"  {past:>9,} past | show {show:6.2f} s | Home {first:6.2f} s, next {second:5.2f} s"
        f" | {REACTIONS} ratings stored in {plain:5.2f} s, behind a Home view {behind:5.2f} s"
        f" ({behind / plain:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,100000,1000000")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"views over signed HTTP to `promptbot run`; load average {load} at the start:")
    with tempfile.TemporaryDirectory() as tmp:
        for past in (int(s) for s in args.sizes.split(",")):
            measure(past, Path(tmp))


if __name__ == "__main__":
    main()
