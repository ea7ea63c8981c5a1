"""The digest from SQL aggregates is the digest from rating rows, judgement for judgement."""

from __future__ import annotations

import random
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from promptbot.config.settings import AppConfig, DigestSettings
from promptbot.digest.assembly import build_digest, build_digest_from
from promptbot.domain import PlannedCandidate
from promptbot.review.scales import RatingScales
from storage import Store, digest_columns, digest_reads
from storage.digest_inputs import load_digest_inputs
from storage.evidence import load_evidence, scale_infos
from storage.store import stamp

SCORES = {"+1": 1.0, "-1": 0.0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def posted(store: Store, name: str, models: list[str], number: int):
    run = store.create_run(
        prompt_name=name, template=f"Hi {number}", system_prompt=None, author="UP",
        channel="C1", models=models, inputs=[{}],
        candidates=[PlannedCandidate("ABC"[i], i, m, f"{m}-id", 0) for i, m in enumerate(models)],
    )  # fmt: skip
    store.set_thread(run.id, "C1", f"{run.id}.000001", f"https://team.slack.com/p{run.id}")
    store.set_run_status(run.id, "done")
    return run


def rate_some(store: Store, runs, rng: random.Random, users: range, tag: str) -> None:
    for run in runs:
        for candidate in store.candidates(run.id):
            for user in users:
                for emoji in rng.sample(list(SCORES), rng.randint(0, 2)):
                    scale = "approval" if emoji in ("+1", "-1") else "stars"
                    store.apply_reaction(
                        event_id=f"{tag}-{candidate.id}-{user}-{emoji}", channel="C1",
                        ts=f"{candidate.id}.5", candidate_id=candidate.id, user_id=f"U{user}",
                        emoji=emoji, scale=scale, present=True, event_ts=f"{rng.random()}",
                        scale_emoji={e: float(s) for e, s in SCORES.items()
                                     if (e in ("+1", "-1")) == (scale == "approval")},
                    )  # fmt: skip


def vote_some(store: Store, pair, users: range, rng: random.Random, tag: str) -> None:
    for user in users:
        emoji = rng.choice(["a", "b", "handshake", "-1"])
        store.pairs.apply_reaction(
            event_id=f"{tag}-pair-{user}", pair=pair, user_id=f"U{user}", emoji=emoji,
            present=True, event_ts=f"{rng.random()}",
        )  # fmt: skip


@pytest.mark.parametrize("rowids_a_slice", [1, 7, 100_000])
def test_sql_aggregates_give_the_rows_digest(tmp_path, monkeypatch, rowids_a_slice) -> None:
    # Ratings and candidates are read in slices of ids: any size gives the same digest.
    monkeypatch.setattr(digest_reads, "SLICE", rowids_a_slice)
    store = Store(tmp_path / "t.db")
    config = AppConfig()
    rng = random.Random(3)
    runs = [posted(store, f"p{i % 2}", ["m1", "m2", "m3"], i) for i in range(4)]
    rate_some(store, runs, rng, range(8), "early")
    compare = store.pairs.create_compare_run(
        runs[0].version.id, author="UP", channel="C1", models=["m1", "m2"], inputs=[{}],
        candidates=[PlannedCandidate("AB"[i], i, m, f"{m}-id", 0) for i, m in enumerate(["m1", "m2"])],
        pairs=[(0, "A", "B")],
    )  # fmt: skip
    pair = store.pairs.for_run(compare.id)[0]
    vote_some(store, pair, range(6), rng, "early")
    start = datetime.now(UTC)
    rate_some(store, runs, rng, range(4, 12), "later")
    vote_some(store, pair, range(3, 9), rng, "later")
    store.close_run(runs[0].id, "UP")
    rate_some(store, runs[:1], rng, range(12, 16), "late")
    end = datetime.now(UTC) + timedelta(seconds=1)
    settings = DigestSettings.model_validate({"min_votes": 3, "bootstrap_rounds": 50})
    scales = RatingScales(config.scales)

    from_rows = build_digest(
        load_evidence(store, scales, end), start=start, end=end, settings=settings, now=end
    )
    inputs = load_digest_inputs(store, scales, start, end)
    from_sql = build_digest_from(inputs, start=start, end=end, settings=settings, now=end)
    assert from_sql == from_rows
    assert from_sql.late_ratings > 0 and from_sql.ratings > 0
    assert len(inputs.judged) > len(inputs.judged_before) > 0
    assert from_sql.leaderboard and from_sql.rankings.models.ranked
    assert inputs.judged.pairwise.sum() > inputs.judged_before.pairwise.sum() > 0


STORED_TIMES = [
    "2026-03-01T12:00:59.999600+00:00",  # SQLite's unixepoch() rounds this up
    "2026-03-01T12:00:00.000001+00:00",
    "2026-12-31T23:59:59.500000+00:00",
    "2026-03-01T12:00:00+00:00",  # no fraction: never written so, but read all the same
    "2026-03-01T12:00:00.250000+00:00",
]


@pytest.mark.parametrize("rowids_a_slice", [1, 2, 100])
def test_stored_times_read_to_the_microsecond(tmp_path, monkeypatch, rowids_a_slice) -> None:
    # Fixed-width times are cut apart by numpy; a slice holding any other form is read
    # again as text. Either way each rating gets its own time, in rowid order.
    monkeypatch.setattr(digest_reads, "SLICE", rowids_a_slice)
    store = Store(tmp_path / "t.db")
    config = AppConfig()
    (run,) = [posted(store, "p", ["m1", "m2", "m3"], 1)]
    rate_some(store, [run] * 3, random.Random(5), range(4), "any")
    db = store.connection()
    rowids = [r for (r,) in db.execute("SELECT rowid FROM ratings ORDER BY rowid")]
    assert len(rowids) >= 2 * len(STORED_TIMES)
    stored = [STORED_TIMES[i % len(STORED_TIMES)] for i in range(len(rowids))]
    with store.transaction() as tx:
        for rowid, when in zip(rowids, stored, strict=True):
            tx.execute("UPDATE ratings SET updated_at = ? WHERE rowid = ?", [when, rowid])
    infos = scale_infos(RatingScales(config.scales))

    read = digest_columns.read_ratings(db, infos, "2027-01-01")

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = [(datetime.fromisoformat(w) - epoch) // timedelta(microseconds=1) for w in stored]
    assert read.micro.tolist() == expected


@pytest.mark.parametrize("score", [0.0, 1.0, 5.0, -1.0, 0.5, 2.75, 0.1, 1e-3, 1234567.0])
def test_scores_read_back_as_the_same_float(score) -> None:
    expression = digest_reads.SCORE.format("x")
    db = sqlite3.connect(":memory:")
    query = f"SELECT group_concat({expression}) FROM (SELECT ? AS x UNION ALL SELECT ?)"
    (text,) = db.execute(query, [score, score]).fetchone()
    assert digest_columns._numbers(text, float).tolist() == [score, score]


def rated_store(tmp_path) -> tuple[Store, datetime, datetime]:
    store = Store(tmp_path / "t.db")
    runs = [posted(store, f"p{i % 2}", ["m1", "m2", "m3"], i) for i in range(3)]
    rate_some(store, runs, random.Random(8), range(6), "early")
    start = datetime.now(UTC)
    rate_some(store, runs, random.Random(9), range(3, 9), "later")
    return store, start, datetime.now(UTC) + timedelta(seconds=1)


def test_reads_on_their_own_thread_give_the_same_digest(tmp_path) -> None:
    # The service starts the long reads on a thread while the statistics load.
    store, start, end = rated_store(tmp_path)
    scales = RatingScales(AppConfig().scales)
    names = [info.name for info in scale_infos(scales)]
    settings = DigestSettings.model_validate({"min_votes": 2, "bootstrap_rounds": 30})
    reading = digest_reads.start_reading(store, names, stamp(end))
    assert reading is not None
    threaded = load_digest_inputs(store, scales, start, end, reading)
    inline = load_digest_inputs(store, scales, start, end)
    digests = [
        build_digest_from(inputs, start=start, end=end, settings=settings, now=end)
        for inputs in (threaded, inline)
    ]
    assert digests[0] == digests[1] and digests[0].ratings > 0
    assert digest_reads.start_reading(Store(":memory:"), names, stamp(end)) is None


def test_a_read_that_fails_on_its_thread_fails_the_digest(tmp_path, monkeypatch) -> None:
    store, start, end = rated_store(tmp_path)

    def refused(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(digest_reads, "rating_slices", refused)
    scales = RatingScales(AppConfig().scales)
    reading = digest_reads.start_reading(store, ["approval"], stamp(end))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        load_digest_inputs(store, scales, start, end, reading)


def test_a_slice_that_fails_after_the_first_fails_the_digest(tmp_path, monkeypatch) -> None:
    store, start, end = rated_store(tmp_path)
    monkeypatch.setattr(digest_reads, "SLICE", 3)
    real = digest_reads.rating_slices

    def failing(*args):
        yield next(real(*args))
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(digest_reads, "rating_slices", failing)
    scales = RatingScales(AppConfig().scales)
    reading = digest_reads.start_reading(store, ["approval", "stars"], stamp(end))
    with pytest.raises(sqlite3.OperationalError, match="I/O"):
        load_digest_inputs(store, scales, start, end, reading)


def test_slices_nobody_takes_stop_the_reading_thread(tmp_path, monkeypatch) -> None:
    # The thread holds at most _AHEAD slices; a digest that gives up (an error while
    # parsing) lets it finish rather than wait for ever with its connection open.
    store, _, end = rated_store(tmp_path)
    monkeypatch.setattr(digest_reads, "SLICE", 1)
    monkeypatch.setattr(digest_reads, "_AHEAD", 1)
    reading = digest_reads.start_reading(store, ["approval", "stars"], stamp(end))
    assert reading is not None
    slices = iter(reading.result().ratings)
    next(slices)
    thread = next(t for t in threading.enumerate() if t.name == "digest-reads")
    thread.join(0.3)
    assert thread.is_alive()  # waiting for room: more slices than _AHEAD are left
    slices.close()  # type: ignore[attr-defined]
    thread.join(5)
    assert not thread.is_alive()
