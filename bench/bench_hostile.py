"""Hostile input against the real `promptbot run` process. Prints; asserts nothing.

1. Largest within budget: the most loop iterations and the largest output a template
   may have and still render within the default budget (1 s, 64 KB), found by doubling
   through the bot's own render pool; and the largest model answer (a worst case of
   ``<``, which escaping makes four times longer) whose Slack messages build in 1 s.
2. Latency under attack: /healthz, reaction-ack and /prompt help latency (signed HTTP to the real
   process) while 20 distinct budget-busting templates arrive at once, against the
   same traffic with none; every reaction is counted in the database afterwards.

Run: .venv/bin/python bench/bench_hostile.py   (about a minute)
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import SECRET, TOKEN, free_port, promptbot_command, start
from promptbot.domain import Candidate, Run, Version
from promptbot.errors import TemplateError
from promptbot.render.messages import candidate_messages
from promptbot.review.render_budget import RenderBudget
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from storage import Store

BUSTING = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
ATTACKERS = 20
WINDOW = 8.0  # seconds of traffic per phase; 20 busting templates keep the pool busy ~10 s


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def largest(fits, start: int, most: int, exact: bool = False) -> int:  # type: ignore[no-untyped-def]
    """The largest n (doubling, then bisecting to 2 %, or to 1 if ``exact``) for which
    fits(n) holds."""
    good, n = 0, start
    while n <= most and fits(n):
        good, n = n, n * 2
    bad = min(n, most + 1)
    while bad - good > (1 if exact else max(1, good // 50)):
        middle = (good + bad) // 2
        good, bad = (middle, bad) if fits(middle) else (good, middle)
    return good


def within_budget() -> None:
    budget = RenderBudget(1.0, 65_536, workers=1)
    try:

        def loops_fit(n: int) -> bool:
            try:
                budget.render(
                    "{% for i in range(" + str(n) + ") %}{% endfor %}{# " + str(n) + " #}", {}
                )
            except TemplateError:
                return False
            return True

        def output_fits(n: int) -> bool:
            try:
                budget.render("{{ 'y' * " + str(n) + " }}", {})
            except TemplateError:
                return False
            return True

        budget.render("warm {{ x }}", {"x": 1})
        started = time.perf_counter()
        whole_range = loops_fit(100_000)
        range_ms = (time.perf_counter() - started) * 1000
        nested = largest(lambda n: loops_fit_nested(budget, n), 100, 100_000)
        size = largest(output_fits, 1_000, 10_000_000, exact=True)
        started = time.perf_counter()
        budget.render("{{ 'y' * " + str(size) + " }}{# timed #}", {})
        render_ms = (time.perf_counter() - started) * 1000
    finally:
        budget.close()
    print("largest template within the budget (1 s, 64 KB):")
    fits = "fits" if whole_range else "does not fit"
    print(
        f"  a single loop over range(100000), the sandbox's largest range: {fits}"
        f" ({range_ms:.0f} ms)"
    )
    print(f"  two nested loops: {nested:,} x {nested:,} = {nested * nested:,} iterations")
    print(f"  output: {size:,} bytes, rendered in {render_ms:.1f} ms")
    version = Version(1, 1, "p", 1, "Hi", None, "U1", "now")
    run = Run(1, version, "running", "C1", "1.1", None, "U1", "now", ["m"], [{}])

    def answer_fits(n: int) -> bool:
        candidate = Candidate(1, 1, "A", 0, "m", "m", 0, {}, "answered", output="<" * n)
        started = time.perf_counter()
        candidate_messages(run, candidate)
        return time.perf_counter() - started <= 1.0

    biggest = largest(answer_fits, 10_000, 16_000_000)
    candidate = Candidate(1, 1, "A", 0, "m", "m", 0, {}, "answered", output="<" * biggest)
    parts = len(candidate_messages(run, candidate))
    print(f"largest model answer of '<' whose messages build in 1 s: {biggest:,} characters")
    print(f"  ({4 * biggest:,} once escaped, in {parts:,} Slack messages)")


def loops_fit_nested(budget: RenderBudget, n: int) -> bool:
    source = (
        "{% for a in range(" + str(n) + ") %}{% for b in range(" + str(n) + ") %}"
        "{% endfor %}{% endfor %}"
    )
    try:
        budget.render(source, {})
    except TemplateError:
        return False
    return True


def get_ms(port: int, path: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    return (time.perf_counter() - started) * 1000


def post(url: str, body: str, content_type: str) -> int:
    return payloads.post_signed(url + "/slack/events", body, SECRET, content_type=content_type)[0]


def react_ms(url: str, ts: str, user: str) -> float:
    event = payloads.reaction_event("reaction_added", user=user, reaction="+1", channel="C1", ts=ts)
    started = time.perf_counter()
    assert post(url, payloads.event_body(event), "application/json") == 200
    return (time.perf_counter() - started) * 1000


def help_ms(url: str) -> float:
    started = time.perf_counter()
    assert command(url, "help") == 200
    return (time.perf_counter() - started) * 1000


def command(url: str, text: str, user: str = "U1") -> int:
    body = payloads.slash_command_body(text, user_id=user, channel_id="C1")
    return post(url, body, "application/x-www-form-urlencoded")


def under_attack(tmp: Path) -> None:
    with SlackStandIn(bot_token=TOKEN) as slack, OpenAIStandIn() as models:
        # A cost ceiling, so every proposal's cost is estimated too: that renders its
        # prompts, which must happen off the listener threads like the run itself.
        price = {"input_per_million": 1.0, "output_per_million": 1.0}
        config = {
            "models": [
                {"name": "alpha", "model": "alpha-id", "base_url": models.base_url, "price": price}
            ],
            "limits": {"run_cost_ceiling": 100.0},
        }
        (tmp / "app.yaml").write_text(yaml.safe_dump(config))
        port = free_port()
        db = tmp / "bot.db"
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "PROMPTBOT_DB": str(db),
            "PROMPTBOT_CONFIG": str(tmp / "app.yaml"),
        }
        cmd = [*promptbot_command(), "run", "--host", "127.0.0.1", "--port", str(port)]
        server = start("promptbot", cmd, port=port, env=env, log=tmp / "bot.log")
        try:
            command(server.url, "propose target\nHi")
            store = Store(db)
            slack.wait_for(lambda: len(slack.calls_to("reactions.add")) >= 2, timeout=30)
            ts = slack.calls_to("reactions.add")[0].params["timestamp"]
            results = {}
            for phase, attackers in (
                ("no attack", 0),
                (f"{ATTACKERS} busting templates", ATTACKERS),
            ):
                results[phase] = measure(server.url, port, ts, attackers, phase)
            started = time.perf_counter()
            while store.query("SELECT 1 FROM runs WHERE status IN ('pending', 'running')"):
                if time.perf_counter() - started > 60:
                    break
                time.sleep(0.1)
            drained = time.perf_counter() - started
            stored = len(store.ratings())
            runs = store.query("SELECT status, count(*) AS n FROM runs GROUP BY status")
        finally:
            server.stop()
        print("latency over signed HTTP to `promptbot run` (ms; a cost ceiling is set):")
        for phase, (health, reactions, helps, elapsed) in results.items():
            print(
                f"  {phase:24s} /healthz p50 {statistics.median(health):6.1f} p99"
                f" {percentile(health, 0.99):6.1f} | reaction ack p50"
                f" {statistics.median(reactions):6.1f} p99 {percentile(reactions, 0.99):6.1f}"
                f" | /prompt help p50 {statistics.median(helps):6.1f}"
                f" p99 {percentile(helps, 0.99):6.1f}  ({elapsed:.1f} s)"
            )
        ratio = percentile(results[list(results)[1]][0], 0.99) / percentile(
            results["no attack"][0], 0.99
        )
        print(f"  /healthz p99 under attack / without: {ratio:.2f}")
        sent = sum(len(reactions) for _, reactions, _, _ in results.values())
        print(
            f"reactions sent {sent}, stored {stored}; runs by status: "
            + ", ".join(f"{r['status']} {r['n']}" for r in runs)
            + f"; model calls {len(models.requests)}"
        )
        print(f"  (the last busting run was refused {drained:.1f} s after the traffic stopped)")


def measure(url: str, port: int, ts: str, attackers: int, phase: str):  # type: ignore[no-untyped-def]
    """Health checks and reactions from 4 clients for WINDOW seconds, starting as the
    attackers' commands go out."""
    tag = "a" if attackers else "b"
    threads = [
        threading.Thread(
            target=command, args=(url, f"propose bust{tag}{n}\n{BUSTING}{{# {n} #}}", f"UA{n}")
        )
        for n in range(attackers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    health: list[float] = []
    reactions: list[float] = []
    helps: list[float] = []

    def client(number: int) -> None:
        sent = 0
        while time.perf_counter() - started < WINDOW:
            health.append(get_ms(port, "/healthz"))
            reactions.append(react_ms(url, ts, f"U{tag}{number}x{sent}"))
            if sent % 5 == 0:
                helps.append(help_ms(url))
            sent += 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    for thread in threads:
        thread.join()
    return health, reactions, helps, time.perf_counter() - started


if __name__ == "__main__":
    within_budget()
    with tempfile.TemporaryDirectory() as tmp:
        under_attack(Path(tmp))
