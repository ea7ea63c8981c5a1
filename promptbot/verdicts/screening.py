"""Pre-screening: which candidates of a screened run need a human, given what the judge
and the checks said. Pure: the caller gathers the verdicts, results and the champion's.

A candidate is posted for the team when

- the judge gave it no verdict (its call failed): nobody has looked at it;
- the judge and the checks disagree (the judge approves an answer that fails a check,
  or rejects one that passes every check);
- the judge is unsure: a middle score, or its head-to-head verdicts involving this
  answer changed when the two answers were swapped;
- the judge and the prompt's champion disagree: the judge approves this answer, and the
  champion's answer to the same input (from the same model) was not approved, or the
  other way round (a claimed improvement or regression, which is for people to
  confirm). The champion's answer is judged by the team's own majority where enough of
  the team rated it, by the judge otherwise: the team's verdict is the better known,
  and the judge's errors on two answers would otherwise add up;
- it falls in the random audit sample (``audit_share`` of all candidates, drawn from
  every candidate, so the calibration sees the easy ones too). The draw is seeded by
  the run alone (``audit_draw``), never by what the judge said: deciding again after a
  restart draws the same sample, and the sample stays independent of the judge's flags.

Everything else is held: summarised in one message, postable on request, and never
counted in the human rankings (judge verdicts are not votes).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

Reason = Literal[
    "no judge verdict",
    "judge vs checks",
    "judge unsure",
    "judge inconsistent when swapped",
    "judge vs champion",
    "audit sample",
]
REASONS: tuple[Reason, ...] = get_args(Reason)
# Approval scores strictly inside this band are a middle score (3 of 5 stars is 0.5).
UNSURE_BAND = (1 / 3, 2 / 3)


@dataclass(frozen=True, slots=True)
class ScreenedCandidate:
    id: int
    approval: float | None  # the judge's, 0..1; None: no verdict
    checks_passed: bool | None = None  # None: no checks ran on it
    swap_consistent: bool = True  # every judged pair with it agreed in both orders
    # the champion's answer to the same input: the team's majority (1.0/0.0), else the judge's
    champion_approval: float | None = None


@dataclass(frozen=True)
class Screening:
    posted: dict[int, tuple[Reason, ...]]  # candidate id → why a human should see it
    held: tuple[int, ...]

    @property
    def share_posted(self) -> float:
        total = len(self.posted) + len(self.held)
        return len(self.posted) / total if total else 0.0

    def count(self, reason: Reason) -> int:
        return sum(reason in why for why in self.posted.values())


def approves(approval: float) -> bool | None:
    """The judge's yes (True), no (False), or a middle score (None)."""
    low, high = UNSURE_BAND
    if approval >= high:
        return True
    if approval <= low:
        return False
    return None


def reasons_for(candidate: ScreenedCandidate) -> tuple[Reason, ...]:
    """Why this candidate needs a human, apart from the audit draw; () if it does not."""
    if candidate.approval is None:
        return ("no judge verdict",)
    reasons: list[Reason] = []
    says = approves(candidate.approval)
    if says is None:
        reasons.append("judge unsure")
    elif candidate.checks_passed is not None and says != candidate.checks_passed:
        reasons.append("judge vs checks")
    if not candidate.swap_consistent:
        reasons.append("judge inconsistent when swapped")
    if says is not None and candidate.champion_approval is not None:
        champion = approves(candidate.champion_approval)
        if champion is not None and champion != says:
            reasons.append("judge vs champion")
    return tuple(reasons)


def audit_size(total: int, share: float) -> int:
    """How many candidates the audit draws: the share of all, rounded half up."""
    return int(total * share + 0.5)


def audit_draw(run_id: int) -> random.Random:
    """The audit's random source for a run: the same in every process and every retry.
    Seeded by the run's id only, so which candidates are audited cannot depend on the
    verdicts (a sample chosen by the judge's flags would bias the calibration)."""
    return random.Random(f"promptbot audit sample, run {run_id}")


def screen(
    candidates: Sequence[ScreenedCandidate], *, audit_share: float, rng: random.Random
) -> Screening:
    """Split ``candidates`` into those posted for the team (with reasons) and held ones."""
    audited = set(rng.sample([c.id for c in candidates], audit_size(len(candidates), audit_share)))
    posted: dict[int, tuple[Reason, ...]] = {}
    held: list[int] = []
    for candidate in candidates:
        why = reasons_for(candidate) + (("audit sample",) if candidate.id in audited else ())
        if why:
            posted[candidate.id] = why
        else:
            held.append(candidate.id)
    return Screening(posted, tuple(held))
