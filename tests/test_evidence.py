import random
from datetime import UTC, datetime, timedelta

from promptbot.config.settings import AppConfig
from promptbot.domain import Completion, PlannedCandidate
from promptbot.review.scales import RatingScales
from storage import Store
from storage.evidence import load_evidence

APPROVAL = {"+1": 1.0, "-1": 0.0}


def test_evidence_rows_and_late_ratings(tmp_path):
    store = Store(tmp_path / "t.db")
    run = store.create_run(
        prompt_name="p",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["a", "b"],
        inputs=[{}],
        candidates=[
            PlannedCandidate("A", 0, "a", "a-id", 0),
            PlannedCandidate("B", 1, "b", "b-id", 0),
        ],
    )
    store.set_thread(run.id, "C1", "1.0", "https://x/p1")
    first, second = store.candidates(run.id)
    store.record_answer(first.id, Completion("four", None, 3, 4, 50, "stop"))
    store.record_answer(second.id, Completion(None, "timed out", None, None, 900, None))
    store.mark_posting(first.id)
    store.mark_posted(first.id, "C1", ["1.1"])

    def react(event_id, emoji, present, event_ts, user="U2"):
        store.apply_reaction(
            event_id=event_id, channel="C1", ts="1.1", candidate_id=first.id, user_id=user,
            emoji=emoji, scale="approval", present=present, event_ts=event_ts,
            scale_emoji=APPROVAL,
        )  # fmt: skip

    react("E1", "+1", True, "10.0")
    assert store.close_run(run.id, "U1")
    assert not store.close_run(run.id, "U1")
    react("E2", "-1", True, "11.0")  # after the close: kept apart, the 👍 still counts
    react("E3", "+1", True, "12.0", user="U3")
    assert [r.emoji for r in store.ratings()] == ["+1"]
    assert [(r.user_id, r.emoji) for r in store.late_ratings()] == [("U2", "-1"), ("U3", "+1")]

    evidence = load_evidence(
        store, RatingScales(AppConfig().scales), datetime.now(UTC) + timedelta(seconds=5)
    )
    counted = [r for r in evidence.ratings if not r.late]
    assert [(r.user_id, r.score, r.output_chars, r.model) for r in counted] == [("U2", 1.0, 4, "a")]
    assert sorted((r.user_id, r.score) for r in evidence.ratings if r.late) == [
        ("U2", 0.0),
        ("U3", 1.0),
    ]
    assert {c.model: c.failed for c in evidence.candidates} == {"a": False, "b": True}
    assert [(r.run_id, r.closed, r.permalink) for r in evidence.runs] == [
        (run.id, True, "https://x/p1")
    ]
    assert {s.name: s.binary for s in evidence.scales} == {"approval": True, "stars": False}
    past = load_evidence(store, RatingScales(AppConfig().scales), datetime(2000, 1, 1, tzinfo=UTC))
    assert past.ratings == [] and past.runs == []


def test_one_prompts_evidence_is_the_whole_evidence_of_that_prompt(tmp_path):
    from tests.test_digest_inputs import posted, rate_some, vote_some

    store = Store(tmp_path / "t.db")
    rng = random.Random(5)
    runs = [posted(store, f"p{i % 2}", ["m1", "m2"], i) for i in range(4)]
    # p0's second version, head-to-head against its first: the baseline's answers count
    # for v1, though the run is v2's.
    v1 = runs[0].version
    head_to_head = store.create_rerun(
        runs[2].version.id, author="UP", channel="C1", models=["m1"], inputs=[{}],
        candidates=[
            PlannedCandidate("A", 0, "m1", "m1-id", 0),
            PlannedCandidate("B", 1, "m1", "m1-id", 0, version_id=v1.id),
        ],
    )  # fmt: skip
    compare = store.pairs.create_compare_run(
        runs[1].version.id, author="UP", channel="C1", models=["m1", "m2"], inputs=[{}],
        candidates=[PlannedCandidate("AB"[i], i, m, f"{m}-id", 0) for i, m in enumerate(["m1", "m2"])],
        pairs=[(0, "A", "B")],
    )  # fmt: skip
    rate_some(store, [*runs, head_to_head], rng, range(6), "r")
    vote_some(store, store.pairs.for_run(compare.id)[0], range(4), rng, "v")
    store.close_run(runs[0].id, "UP")
    rate_some(store, runs[:1], rng, range(6, 9), "late")
    archived = store.admin.prompt("p1")
    assert archived is not None and store.admin.archive_prompt(archived, "UA")
    scales = RatingScales(AppConfig().scales)
    until = datetime.now(UTC) + timedelta(seconds=5)

    everything = load_evidence(store, scales, until)
    for prompt in ("p0", "p1"):
        alone = load_evidence(store, scales, until, prompt=prompt)
        assert alone.ratings and sorted(alone.ratings, key=repr) == sorted(
            (r for r in everything.ratings if r.prompt == prompt), key=repr
        )
        assert sorted(alone.candidates, key=repr) == sorted(
            (c for c in everything.candidates if c.prompt == prompt), key=repr
        )
        assert alone.runs == [r for r in everything.runs if r.prompt == prompt]
        assert alone.archived_prompts == everything.archived_prompts & {prompt}
    p0 = load_evidence(store, scales, until, prompt="p0")
    assert {r.version for r in p0.ratings if r.run_id == head_to_head.id} == {1, 2}
    assert any(r.late for r in p0.ratings)
    p1 = load_evidence(store, scales, until, prompt="p1")
    assert any(r.scale == "pairwise" for r in p1.ratings)
    assert load_evidence(store, scales, until, prompt="nobody").ratings == []
