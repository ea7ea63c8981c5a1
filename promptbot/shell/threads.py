"""What a label typed in the open thread points at, and the reactions to show on it.

A review thread's candidates are A, B…; a compare thread's pairs are 1, 2… (1L and 1R
name the sides of pair 1, which share one message). A thread posted in an earlier
session is not in the Slack stand-in, so its counts come from the votes the database
holds rather than from the message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from promptbot.domain import PAIR_EMOJI, Run
from storage import Store

COMPARE_HINT = "react 1 :a:"
PAIR_VOTES = ":a: left is better, :b: right, :handshake: tie, :-1: both bad"


@dataclass(frozen=True)
class Target:
    name: str  # "Candidate A", "Pair 1"
    ts: str
    candidate_id: int | None = None
    pair_id: int | None = None


def react_hint(run: Run) -> str:
    """How to vote in this run's thread."""
    if run.kind == "compare":
        return f"vote on a pair with `{COMPARE_HINT}` ({PAIR_VOTES})"
    return "react with `react A :+1:`"


def labels(store: Store, run: Run) -> str:
    if run.kind == "compare":
        return "pairs " + (", ".join(str(p.number) for p in store.pairs.for_run(run.id)) or "none")
    return "candidates " + (", ".join(c.label for c in store.candidates(run.id)) or "none")


def find_target(store: Store, run: Run, label: str) -> Target | str:
    """The posted message ``label`` names in ``run``'s thread, or a one-line hint."""
    if run.kind == "compare":
        number = label.upper().rstrip("LR")
        pairs = [p for p in store.pairs.for_run(run.id) if p.ts]
        found = [p for p in pairs if number.isdigit() and p.number == int(number)]
        if not found or found[0].ts is None:
            shown = ", ".join(str(p.number) for p in pairs) or "none yet"
            return (
                f"run #{run.id} is a compare with no posted pair {label} (pairs: {shown});"
                f" {react_hint(run)}"
            )
        return Target(f"Pair {found[0].number}", found[0].ts, pair_id=found[0].id)
    candidates = store.candidates(run.id)
    matching = [c for c in candidates if c.label == label]
    posted = store.candidate_message_ts(matching[0].id) if matching else []
    if not posted:
        shown = ", ".join(c.label for c in candidates) or "none yet"
        return f"run #{run.id} has no posted Candidate {label} (labels: {shown})"
    # The last part of a long answer carries the seeded emoji.
    return Target(f"Candidate {label}", posted[-1], candidate_id=matching[0].id)


def stored_reactions(store: Store, run: Run, target: Target) -> dict[str, list[str]]:
    """Emoji → the people whose vote with it the database holds on ``target``."""
    found: dict[str, list[str]] = defaultdict(list)
    if target.pair_id is not None:
        emoji_of = {choice: emoji for emoji, choice in PAIR_EMOJI.items()}
        for vote in store.pairs.votes(run.id):
            if vote["pair_id"] == target.pair_id:
                found[emoji_of[vote["choice"]]].append(vote["user_id"])
    for rating in store.ratings(run.id):
        if rating.candidate_id == target.candidate_id:
            found[rating.emoji].append(rating.user_id)
    return dict(found)
