"""Events parked behind a message the bot has not recorded yet: each message's events
in arrival order, tried again once its pause is over, the pause doubling to a bound."""

import pytest

from promptbot.jobs.parked import FIRST_PAUSE_SECONDS, LONGEST_PAUSE_SECONDS, ParkedEvents
from storage.inbox import InboxRow


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def row(n):
    return InboxRow(id=n, event_id=f"Ev{n}", body=f"body{n}")


def test_nothing_parked_is_empty_and_never_due():
    parked = ParkedEvents(clock=Clock())
    assert not parked and len(parked) == 0
    assert parked.due() == [] and parked.seconds_to_next() is None
    assert parked.first("m1") is None and "m1" not in parked


def test_each_messages_events_come_out_first_in_first_out():
    parked = ParkedEvents(clock=Clock())
    rows = [row(n) for n in range(4)]
    parked.park("m1", rows[0])
    parked.park("m2", rows[1])
    parked.park("m1", rows[2])
    parked.park("m1", rows[3])
    assert parked and len(parked) == 4 and "m1" in parked and "m2" in parked
    out = []
    while (first := parked.first("m1")) is not None:
        out.append(first)
        parked.drop_first("m1")
    assert out == [rows[0], rows[2], rows[3]]
    assert "m1" not in parked and len(parked) == 1 and parked.first("m2") is rows[1]
    parked.drop_first("m2")
    assert not parked and parked.seconds_to_next() is None


def test_a_message_is_due_once_its_first_pause_is_over_and_not_before():
    clock = Clock()
    parked = ParkedEvents(clock=clock)
    parked.park("m1", row(1))
    assert parked.due() == []
    assert parked.seconds_to_next() == pytest.approx(FIRST_PAUSE_SECONDS)
    clock.now += FIRST_PAUSE_SECONDS / 2
    assert parked.due() == []
    assert parked.seconds_to_next() == pytest.approx(FIRST_PAUSE_SECONDS / 2)
    clock.now = 1000.0 + FIRST_PAUSE_SECONDS  # to the instant: due
    assert parked.due() == ["m1"] and parked.seconds_to_next() == 0.0
    clock.now += 60
    assert parked.due() == ["m1"] and parked.seconds_to_next() == 0.0  # never negative


def test_a_later_event_does_not_postpone_its_message():
    clock = Clock()
    parked = ParkedEvents(clock=clock)
    parked.park("m1", row(1))
    clock.now += FIRST_PAUSE_SECONDS / 2
    parked.park("m1", row(2))
    clock.now = 1000.0 + FIRST_PAUSE_SECONDS
    assert parked.due() == ["m1"]


def test_the_pause_doubles_from_the_last_try_up_to_a_bound():
    clock = Clock()
    parked = ParkedEvents(clock=clock)
    parked.park("m1", row(1))
    pauses = []
    for _ in range(10):
        clock.now += 100  # each try comes late: the next pause counts from the try
        parked.later("m1")
        pauses.append(parked.seconds_to_next())
        assert parked.due() == []
    expected = [min(FIRST_PAUSE_SECONDS * 2**n, LONGEST_PAUSE_SECONDS) for n in range(1, 11)]
    assert pauses == pytest.approx(expected)
    assert pauses[-1] == LONGEST_PAUSE_SECONDS


def test_a_messages_pause_is_its_own():
    clock = Clock()
    parked = ParkedEvents(clock=clock)
    parked.park("slow", row(1))
    parked.later("slow")
    parked.later("slow")  # 0.4 s from now
    parked.park("fresh", row(2))  # 0.1 s from now
    assert parked.seconds_to_next() == pytest.approx(FIRST_PAUSE_SECONDS)
    clock.now += FIRST_PAUSE_SECONDS
    assert parked.due() == ["fresh"]
    parked.drop_first("fresh")
    assert parked.seconds_to_next() == pytest.approx(3 * FIRST_PAUSE_SECONDS)
    clock.now += 3 * FIRST_PAUSE_SECONDS
    assert parked.due() == ["slow"]


def test_a_message_parked_again_after_it_emptied_starts_from_the_first_pause():
    clock = Clock()
    parked = ParkedEvents(clock=clock)
    parked.park("m1", row(1))
    for _ in range(5):
        parked.later("m1")
    parked.drop_first("m1")
    parked.park("m1", row(2))
    assert parked.seconds_to_next() == pytest.approx(FIRST_PAUSE_SECONDS)
    parked.later("m1")
    assert parked.seconds_to_next() == pytest.approx(2 * FIRST_PAUSE_SECONDS)
