"""The inbox worker's event batch (storage/event_batch.py): event ids read and written
once for the batch, message lookups remembered within it. A batch must store exactly
what the same events one by one would, and nothing at all when it is rolled back."""

import random

import pytest

from tests.factories import APPROVAL, posted_run

EMOJI = ["+1", "-1", "heart"]


def message_ts(run, candidate):
    return f"{run.id}.{candidate.slot + 10:06d}"


def react(store, run, candidate, event_id, user, emoji, present, event_ts):
    ts = message_ts(run, candidate)
    ref = store.find_reacted(run.channel, ts)
    assert ref is not None and ref != "pair" and ref.candidate_id == candidate.id
    return store.apply_reaction(
        event_id=event_id,
        channel=run.channel,
        ts=ts,
        candidate_id=ref.candidate_id,
        user_id=user,
        emoji=emoji,
        scale="approval",
        present=present,
        event_ts=event_ts,
        scale_emoji=APPROVAL,
    )


def setup(store):
    """Two runs of two candidates, the second run closed; each candidate's message."""
    runs = [posted_run(store, "p", labels="AB"), posted_run(store, "q", labels="AB")]
    for run in runs:
        for candidate in store.candidates(run.id):
            ts = message_ts(run, candidate)
            store.mark_posted(candidate.id, run.channel, [ts])
    store.close_run(runs[1].id, "UCLOSE")
    return runs


def events(runs_candidates, count, seed):
    """Reactions and removals from three reviewers, with redeliveries and stale ones."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        run, candidate = rng.choice(runs_candidates)
        event_id = f"Ev{rng.randrange(count)}" if rng.random() < 0.2 else f"Ev{n}"
        made.append(
            (
                run,
                candidate,
                event_id,
                rng.choice(["U1", "U2", "U3"]),
                rng.choice(EMOJI),
                rng.random() < 0.7,
                f"{1000 + rng.randrange(40)}.000001",
            )
        )
    return made


def state(store):
    ratings = store.query("SELECT * FROM ratings ORDER BY candidate_id, user_id")
    late = store.query("SELECT * FROM late_ratings ORDER BY candidate_id, user_id")
    reactions = store.query("SELECT * FROM reactions ORDER BY candidate_id, user_id, emoji")
    handled = store.query("SELECT event_id FROM processed_events ORDER BY event_id")
    strip = [{k: v for k, v in row.items() if k != "updated_at"} for row in ratings + late]
    return strip, reactions, [row["event_id"] for row in handled]


@pytest.mark.parametrize(("seed", "prefetch"), [(1, False), (2, True), (3, True), (4, True)])
def test_a_batch_stores_what_the_events_one_by_one_store(tmp_path, seed, prefetch):
    """Prefetched or not: the batch looks its messages and reviewers up together first
    (as the worker does), or each as its event comes."""
    from storage import Store

    one_by_one, batched = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    outcomes = {}
    for store in (one_by_one, batched):
        runs = setup(store)
        pairs = [(run, c) for run in runs for c in store.candidates(run.id)]
        made = events(pairs, 60, seed)
        earlier, later = made[:20], made[20:]
        for event in earlier:  # handled before, in transactions of their own
            react(store, *event)
        if store is one_by_one:
            outcomes[store] = [react(store, *event) for event in later]
        else:
            ids = [event[2] for event in later]
            with store.transaction(savepoints=False), store.event_batch(ids):
                if prefetch:
                    items = [
                        (run.channel, message_ts(run, c), user) for run, c, _, user, *_ in later
                    ]
                    store.prefetch_reactions([*items, ("C-elsewhere", "1.2", "U1")])
                outcomes[store] = [react(store, *event) for event in later]
    assert outcomes[one_by_one] == outcomes[batched]
    assert "duplicate" in outcomes[batched] and "stale" in outcomes[batched]
    assert state(one_by_one) == state(batched)
    assert state(batched)[0], "some ratings, counted and late"


def test_a_batch_rolled_back_leaves_no_claim_and_its_events_apply_later(store):
    run, _ = setup(store)
    candidate = store.candidates(run.id)[0]
    batch = store.event_batch(["Ev1", "Ev2"])
    with pytest.raises(RuntimeError), store.transaction(savepoints=False), batch:
        assert react(store, run, candidate, "Ev1", "U1", "+1", True, "1.1") == "applied"
        raise RuntimeError("the batch fails")
    assert state(store) == ([], [], [])
    assert react(store, run, candidate, "Ev1", "U1", "+1", True, "1.1") == "applied"
    assert react(store, run, candidate, "Ev1", "U1", "+1", True, "1.1") == "duplicate"
    assert state(store)[2] == ["Ev1"]


def test_a_run_closed_before_the_batch_takes_late_ratings_in_it(store):
    run, closed = setup(store)
    open_candidate, closed_candidate = store.candidates(run.id)[0], store.candidates(closed.id)[0]
    with store.transaction(savepoints=False), store.event_batch(["Ev1", "Ev2", "Ev3"]):
        react(store, run, open_candidate, "Ev1", "U1", "+1", True, "1.1")
        react(store, closed, closed_candidate, "Ev2", "U1", "+1", True, "1.1")
        react(store, closed, closed_candidate, "Ev3", "U2", "-1", True, "1.2")
    assert [r.candidate_id for r in store.ratings()] == [open_candidate.id]
    late = store.late_ratings()
    assert [(r.candidate_id, r.user_id) for r in late] == [
        (closed_candidate.id, "U1"),
        (closed_candidate.id, "U2"),
    ]


def test_in_a_batch_the_ratings_so_far_count_and_a_removal_leaves_none(store):
    """The batch writes its ratings at its end; a count inside it (the close after
    enough votes) still sees each one, and a removal later in the batch wins."""
    run, _ = setup(store)
    first, second = store.candidates(run.id)
    counts = []
    with store.transaction(savepoints=False), store.event_batch(["Ev1", "Ev2", "Ev3", "Ev4"]):
        react(store, run, first, "Ev1", "U1", "+1", True, "1.1")
        counts.append(store.rating_count(run.id))
        react(store, run, second, "Ev2", "U2", "-1", True, "1.2")
        react(store, run, second, "Ev3", "U3", "+1", True, "1.3")
        counts.append(store.rating_count(run.id))
        react(store, run, second, "Ev4", "U3", "+1", False, "1.4")
    assert counts == [1, 3]
    assert [(r.candidate_id, r.user_id, r.emoji) for r in store.ratings()] == [
        (first.id, "U1", "+1"),
        (second.id, "U2", "-1"),
    ]
