"""A store holding what the judge's calibration reads: a revealed run whose candidates
the judge scored, with the team's ratings on them (tests of the export, the digest's
imports). Built through the store's own writes, as the running app stores them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from promptbot.domain import PlannedCandidate
from promptbot.judge.records import PairRecord, VerdictRecord

APPROVAL = {"+1": 1.0, "-1": 0.0}
STARS = {"one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0}
STAR_EMOJI = {v: k for k, v in STARS.items()}


@dataclass(frozen=True)
class Judged:
    """One candidate: the judge's approval (and stars) and the team's votes."""

    approval: float
    stars: float | None = None
    votes: Sequence[str] = ()  # "+1" / "-1", one reviewer each
    star_votes: Sequence[float] = field(default=())


def judged_run(store, prompt: str, rows: Sequence[Judged], *, judge: str = "judge"):
    """A revealed run of ``prompt`` with a candidate per row, each scored by ``judge``
    and rated by the team, and the judge's verdict on the first two as a pair."""
    run = store.create_run(
        prompt_name=prompt,
        template="Hi {{ x }}",
        system_prompt=None,
        author="UP",
        channel="C1",
        models=["m"],
        inputs=[{"x": "1"}],
        candidates=[PlannedCandidate(f"L{i}", i, "m", "m-id", 0) for i in range(len(rows))],
    )
    store.set_thread(run.id, "C1", f"{run.id}.000001", f"https://x.test/p{run.id}")
    store.set_run_status(run.id, "done")
    candidates = sorted(store.candidates(run.id), key=lambda c: c.slot)
    for candidate, row in zip(candidates, rows, strict=True):
        store.judge.record_verdict(
            candidate.id,
            judge,
            VerdictRecord(row.approval, row.stars, f"because {candidate.slot}", None, "APPROVE"),
        )
        ballots = [("approval", emoji, APPROVAL) for emoji in row.votes]
        ballots += [("stars", STAR_EMOJI[s], STARS) for s in row.star_votes]
        for user, (scale, emoji, scores) in enumerate(ballots):
            store.apply_reaction(
                event_id=f"{candidate.id}-{user}-{emoji}",
                channel="C1",
                ts=f"{run.id}.{candidate.slot:06d}",
                candidate_id=candidate.id,
                user_id=f"U{user}",
                emoji=emoji,
                scale=scale,
                present=True,
                event_ts=f"1.{user:06d}",
                scale_emoji=scores,
            )
    if len(candidates) >= 2:
        store.judge.record_pair(
            run.id,
            candidates[0].id,
            candidates[1].id,
            judge,
            PairRecord("first", False, "first", "tie", None, 0.0),
        )
    store.mark_revealed(run.id)
    return run
