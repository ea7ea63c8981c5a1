"""The ids of handled events (the handlers' dedupe) are forgotten after a week, except
while a delivery recorded before them still waits: it may have been handled by a
process that stopped before marking it, and must not be handled twice."""

import logging
from datetime import UTC, datetime, timedelta

import time_machine

from promptbot.jobs.inbox import KEEP_HANDLED, KEEP_PROCESSED, EventInbox
from storage import Store
from storage.event_batch import claim_event

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def handled(store, *event_ids):
    """Record the events as handled now, as a handler does in its transaction."""
    with store.transaction() as db:
        for event_id in event_ids:
            assert claim_event(store, db, event_id)


def remembered(store):
    rows = store.query("SELECT event_id FROM processed_events ORDER BY event_id")
    return [row["event_id"] for row in rows]


def test_ids_handled_before_the_stamp_are_forgotten_a_chunk_at_a_time(tmp_path):
    store = Store(tmp_path / "p.db")
    with time_machine.travel(START, tick=False):
        handled(store, *(f"EvOld{i}" for i in range(7)))
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        handled(store, "EvNew")
        cutoff = store.query("SELECT MAX(received_at) AS t FROM processed_events")[0]["t"]
    # Seven to forget in chunks of two: four passes, the last one short.
    assert store.forget_handled_events(cutoff, chunk=2) == 7
    assert remembered(store) == ["EvNew"]
    assert store.forget_handled_events(cutoff, chunk=2) == 0
    # An id forgotten is new again: a handler would handle the event once more.
    with store.transaction() as db:
        assert claim_event(store, db, "EvOld3") is True
        assert claim_event(store, db, "EvNew") is False


class Processor:
    """Processes by claiming the event's id, as the handlers do; fails on one body."""

    def __init__(self, store, failing):
        self.store = store
        self.failing = failing
        self.duplicates: list[str] = []

    def __call__(self, body):
        if body == self.failing:
            raise KeyError(body)  # set aside until the next start-up
        with self.store.transaction() as db:
            if not claim_event(self.store, db, body):
                self.duplicates.append(body)


def test_the_worker_forgets_week_old_ids_but_keeps_those_a_waiting_delivery_may_need(tmp_path):
    store = Store(tmp_path / "p.db")
    with time_machine.travel(START, tick=False):
        # Two deliveries handled and marked, more than a week ago.
        for event_id in ("EvDone", "EvAlsoDone"):
            store.inbox.record_many([(event_id, event_id)], budget=1.0)
        handled(store, "EvDone", "EvAlsoDone")
        store.inbox.mark_processed([row.id for row in store.inbox.pending(after=0, limit=2)])
    with time_machine.travel(START + timedelta(days=1), tick=False):
        # A third, a day later, handled too, but its process stopped before marking
        # it, so it still waits.
        store.inbox.record_many([("EvCrashed", "EvCrashed")], budget=1.0)
        handled(store, "EvCrashed")
    with time_machine.travel(START + KEEP_HANDLED + timedelta(days=3), tick=False):
        handled(store, "EvRecent")
        # This start-up's processing of the crashed delivery fails (set aside until
        # the next one), so it is still waiting when the worker forgets old ids.
        process = Processor(store, failing="EvCrashed")
        inbox = EventInbox(store, 100)
        inbox.attach(process)
        inbox.start()
        assert inbox.wait_idle(10)
        inbox.shutdown()
        assert remembered(store) == ["EvCrashed", "EvRecent"]
    with time_machine.travel(START + KEEP_HANDLED + timedelta(days=4), tick=False):
        # The next start-up: the crashed delivery is handled once, not twice.
        process = Processor(store, failing=None)
        inbox = EventInbox(store, 100)
        inbox.attach(process)
        inbox.start()
        assert inbox.wait_idle(10)
        inbox.shutdown()
        assert process.duplicates == ["EvCrashed"]
        # Nothing waits now: the ids older than a week go too.
        assert remembered(store) == ["EvRecent"]
        assert store.inbox.count_pending() == 0


def test_ids_younger_than_a_week_are_kept(tmp_path, caplog):
    # Longer than the inbox keeps a delivery, which recognises Slack's redeliveries.
    assert KEEP_HANDLED == timedelta(days=7) > KEEP_PROCESSED
    store = Store(tmp_path / "p.db")
    with time_machine.travel(START, tick=False):
        handled(store, "EvWeekOld")
    with time_machine.travel(START + KEEP_HANDLED - timedelta(minutes=1), tick=False):
        inbox = EventInbox(store, 100)
        inbox.attach(lambda body: None)
        inbox.start()
        assert inbox.wait_idle(10)
        inbox.shutdown()
        assert remembered(store) == ["EvWeekOld"]
    with (
        time_machine.travel(START + KEEP_HANDLED + timedelta(minutes=1), tick=False),
        caplog.at_level(logging.INFO, logger="promptbot.jobs.inbox"),
    ):
        inbox = EventInbox(store, 100)
        inbox.attach(lambda body: None)
        inbox.start()
        assert inbox.wait_idle(10)
        inbox.shutdown()
        assert remembered(store) == []
    # An operator sees what the pass did (after an upgrade, it may be a million).
    assert "forgot the ids of 1 events handled before" in caplog.text
