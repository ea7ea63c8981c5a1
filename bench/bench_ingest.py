"""Ratings stored per second by the real `promptbot run` (HTTP mode, waitress), at 0,
100k and 1M past reactions, beside bare Bolt with no-op listeners and bare waitress
(same WSGI server and thread count). Prints; asserts nothing.

16 clients, each on one kept-alive connection, send signed `reaction_added` events
(👍 by a new reviewer on a candidate of an open run) for a fixed time. For promptbot
the stored rate is counted in the database: new rows in `reactions`, from the first
send until the last one is stored (Bolt acks before its listener runs, so the store
may finish after the last ack). For the references, every ack is "stored". Ack
latency p50/p99 is from the clients.

Targets: stored/s at 1M ≥ 0.9× empty; promptbot stored/s ≥ 0.8× bare Bolt's.

The clients have a core of their own and each server another (on a machine of two, one
each), as in production, where Slack's senders are not on the bot's machine. Left to
share both cores (--no-pin), 16 client threads contend with the server's threads, which
the scheduler moves from core to core, handing Python's lock across them: promptbot,
with more threads taking turns at the lock, then spends a third more CPU per event,
bare Bolt up to as much on a busy machine, and consecutive runs differ by a fifth. The
clients' core stays well under full (their CPU per event is printed).

The machine is shared, so one measurement can be off by a third. The servers are
measured in rounds: promptbot at each size (each round starting at another size), with
bare Bolt measured first and after each promptbot measurement, so that each one's
reference is the mean of the Bolt runs just before and just after it. Each ratio is
taken within a round, and the range and median over the rounds are printed. The
clients' own CPU per event is printed too.

Run: .venv/bin/python bench/bench_ingest.py [--rounds 3] [--seconds 4]
     [--sizes 0,100000,1000000] [--no-pin]                         (about 3 minutes)
Seeded databases are cached under $TMPDIR/promptbot-bench (a million takes ~15 s once).
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import SECRET, TOKEN, Server, start_promptbot, start_reference
from bench.seed import CHANNEL, candidate_ts, open_candidates, seeded_db
from promptbot.standins import payloads
from promptbot.standins.slack_api import SlackStandIn

CLIENTS = 16
SETTLE_LIMIT = 60.0  # seconds to wait for the store to catch up after the last ack


@dataclass
class Result:
    name: str
    acked: int
    stored: int
    seconds: float  # first send → last ack (references) or last row stored (promptbot)
    latencies_ms: list[float]
    cpu_seconds: float  # the server's, over the measurement
    client_cpu_seconds: float  # the sending clients', over the load

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu_seconds / self.acked

    @property
    def client_ms_per_event(self) -> float:
        return 1000 * self.client_cpu_seconds / self.acked

    @property
    def stored_per_s(self) -> float:
        return self.stored / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def signed_requests(client: int, count: int) -> list[tuple[str, dict[str, str]]]:
    """Events ready to send: a new reviewer each, round the open candidates."""
    candidates = open_candidates()
    requests = []
    for i in range(count):
        candidate = candidates[(client * 7919 + i * 13) % len(candidates)]
        event = payloads.reaction_event(
            "reaction_added",
            user=f"ULOAD{client}x{i}",
            reaction="+1",
            channel=CHANNEL,
            ts=candidate_ts(candidate),
        )
        body = payloads.event_body(event)
        headers = {"Content-Type": "application/json", **payloads.sign(SECRET, body)}
        requests.append((body, headers))
    return requests


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Load:
    started: float
    last_ack: float
    latencies_ms: list[float]
    client_cpu_seconds: float


def load(server: Server, seconds: float, prepared: list[list[tuple[str, dict[str, str]]]]) -> Load:
    """Send ``prepared`` from CLIENTS kept-alive connections for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    last_ack = [0.0] * CLIENTS
    barrier = threading.Barrier(CLIENTS + 1)
    started = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        barrier.wait()
        deadline = started[0] + seconds
        for body, headers in prepared[index]:
            sent = time.perf_counter()
            if sent >= deadline:
                break
            conn.request("POST", "/slack/events", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            acked = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"{server.name} answered {response.status}")
            latencies[index].append((acked - sent) * 1000)
            last_ack[index] = acked
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    cpu = own_cpu_seconds()
    started[0] = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    cpu = own_cpu_seconds() - cpu
    return Load(started[0], max(last_ack), [ms for per in latencies for ms in per], cpu)


def reaction_rows(db: Path) -> int:
    """Reactions on the open candidates (the only ones the load reacts to): counted
    through the table's key, which starts with the candidate."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        first = open_candidates()[0]
        query = "SELECT COUNT(*) FROM reactions WHERE candidate_id >= ?"
        return int(conn.execute(query, [first]).fetchone()[0])
    finally:
        conn.close()


def measure_reference(kind: str, directory: Path, slack: SlackStandIn, args: argparse.Namespace):
    server = start_reference(kind, directory, slack.api_url, cpus=args.server_cpus)
    prepared = [signed_requests(c, args.per_client) for c in range(CLIENTS)]
    try:
        time.sleep(0.5)
        cpu = server.cpu_seconds()
        sent = load(server, args.seconds, prepared)
        cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    name = "bare waitress" if kind == "waitress" else "bare Bolt"
    acked = len(sent.latencies_ms)
    seconds = sent.last_ack - sent.started
    return Result(name, acked, acked, seconds, sent.latencies_ms, cpu, sent.client_cpu_seconds)


def measure_promptbot(past: int, directory: Path, slack: SlackStandIn, args: argparse.Namespace):
    db = seeded_db(past, directory / f"ingest-{past}.db")
    before = reaction_rows(db)
    server = start_promptbot(
        directory, db, slack.api_url, log_name=f"bot-{past}", cpus=args.server_cpus
    )
    prepared = [signed_requests(c, args.per_client) for c in range(CLIENTS)]
    try:
        time.sleep(1.0)  # start-up jobs (resume, the close check) out of the way
        cpu = server.cpu_seconds()
        sent = load(server, args.seconds, prepared)
        stored, stored_at = reaction_rows(db) - before, time.perf_counter()
        deadline = stored_at + SETTLE_LIMIT
        while stored < len(sent.latencies_ms) and time.perf_counter() < deadline:
            time.sleep(0.02)
            now_stored = reaction_rows(db) - before
            if now_stored != stored:
                stored, stored_at = now_stored, time.perf_counter()
        cpu = server.cpu_seconds() - cpu
    finally:
        server.stop()
    for leftover in directory.glob(f"{db.name}*"):
        leftover.unlink()
    name = f"promptbot, {past:,} past"
    acked = len(sent.latencies_ms)
    return Result(
        name,
        acked,
        stored,
        stored_at - sent.started,
        sent.latencies_ms,
        cpu,
        sent.client_cpu_seconds,
    )


def print_result(r: Result) -> None:
    print(
        f"  {r.name:25s} acked {r.acked:6d} · stored {r.stored:6d} in {r.seconds:5.2f} s"
        f" = {r.stored_per_s:5.0f}/s · ack p50 {statistics.median(r.latencies_ms):4.1f} ms"
        f" p99 {r.percentile(0.99):5.1f} ms · CPU per event: server"
        f" {r.cpu_ms_per_event:.2f} ms, clients {r.client_ms_per_event:.2f} ms"
    )


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f} (median {statistics.median(values):.2f})"


def pin_cores(args: argparse.Namespace) -> str:
    """Put this process (the clients) on one core and set ``args.server_cpus`` to
    another; say where each runs."""
    cores = sorted(os.sched_getaffinity(0))
    if not args.pin or len(cores) < 2:
        args.server_cpus = None
        return "clients and server sharing the machine's cores"
    os.sched_setaffinity(0, {cores[0]})  # before any thread exists: each inherits it
    args.server_cpus = {cores[1]}
    return f"clients on core {cores[0]}, each server on core {cores[1]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--sizes", default="0,100000,1000000")
    parser.add_argument("--per-client", type=int, default=2500, help="events prepared per client")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="clients on one core, the server on another (default)",
    )
    args = parser.parse_args()
    cores = pin_cores(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:  # generate (or find) the data first, outside any measurement
        with tempfile.TemporaryDirectory() as tmp:
            seeded_db(size, Path(tmp) / "warm.db")
    print(
        f"reaction events, {CLIENTS} kept-alive clients, {args.seconds:g} s of load each,"
        f" {args.rounds} rounds, {cores}; load average {os.getloadavg()[0]:.1f} at the start:"
    )
    rounds: list[dict[str, Result]] = []
    # For each promptbot measurement, bare Bolt's rate: the mean of its runs just before
    # and just after it, as the machine's other load drifts while the servers take turns.
    references: list[dict[str, float]] = []
    lost: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(bot_token=TOKEN) as slack:
        directory = Path(tmp)
        print_result(measure_reference("waitress", directory, slack, args))
        bolt = measure_reference("bolt", directory, slack, args)
        print_result(bolt)
        for number in range(1, args.rounds + 1):
            print(f" round {number}:")
            # Each round starts at another size, so that none is always measured first.
            turn = (number - 1) % len(sizes)
            results: dict[str, Result] = {}
            reference: dict[str, float] = {}
            for size in sizes[turn:] + sizes[:turn]:
                before = bolt
                result = measure_promptbot(size, directory, slack, args)
                bolt = measure_reference("bolt", directory, slack, args)
                results[result.name] = result
                reference[result.name] = (before.stored_per_s + bolt.stored_per_s) / 2
                for r in (result, bolt):
                    print_result(r)
                    if r.stored < r.acked:
                        lost.add(r.name)
            rounds.append(results)
            references.append(reference)

    names = [f"promptbot, {size:,} past" for size in sizes]
    print(f" ratios within each round, range over {len(rounds)} rounds")
    print(" (bare Bolt: the mean of its runs just before and just after each measurement):")
    for name in names:
        ratios = [
            r[name].stored_per_s / ref[name] for r, ref in zip(rounds, references, strict=True)
        ]
        print(f"  {name} / bare Bolt: {spread(ratios)} (target ≥ 0.8)")
    if len(names) > 1:
        empty, largest = names[0], names[-1]
        ratios = [r[largest].stored_per_s / r[empty].stored_per_s for r in rounds]
        print(f"  {largest} / {empty}: {spread(ratios)} (target ≥ 0.9)")
    if lost:
        print(f"  NOT ALL STORED within {SETTLE_LIMIT:g} s: {', '.join(sorted(lost))}")


if __name__ == "__main__":
    main()
