"""Does the LLM judge agree with the team? Calibration on the candidates the team has
rated enough (``min_votes`` human ratings):

* approval: Cohen's κ between the judge (yes, no, unsure) and the human majority (yes,
  no; an even split is left out), with a percentile bootstrap interval over candidates;
* stars: weighted κ (quadratic) and Krippendorff's α at the ordinal level, between the
  judge's stars and the median human stars;
* pairs: the share of the team's head-to-head outcomes the judge agrees with, and the
  judge's position consistency (pairs whose two orders agreed);
* the confusion table of judge against team, kept for the export.

The statistics themselves are in :mod:`promptbot.verdicts.kappa`. Nothing here loads
numpy or the libraries until a calibration is computed: the store imports these records.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from promptbot.domain import Outcome
from promptbot.verdicts.kappa import bootstrap_kappa, cohen_kappa, ordinal_alpha

if TYPE_CHECKING:
    from promptbot.config.settings import AppConfig

Label = Literal["yes", "no", "unsure"]
# Vectorised resamples: a thousand cost milliseconds.
BOOTSTRAP_ROUNDS = 1000


@dataclass(frozen=True)
class JudgedCandidate:
    """A candidate of a revealed run with the judge's verdict and the counted human
    ratings on the approval and stars scales."""

    candidate_id: int
    run_id: int
    prompt: str
    input_index: int
    approval: float
    stars: float | None
    human_approval: list[float]
    human_stars: list[float]


@dataclass(frozen=True)
class JudgedPairRow:
    prompt: str
    run_id: int
    first_id: int
    second_id: int
    outcome: Outcome
    consistent: bool
    # Counted compare-thread votes, as seen from first: "first", "second" or "tie".
    votes: list[str]


@dataclass(frozen=True)
class Calibration:
    prompt: str | None  # None: every prompt
    candidates: int  # in the approval κ
    kappa: float | None
    low: float | None
    high: float | None
    trust_kappa: float
    position_consistency: float | None  # None: no pairs judged
    pairs_judged: int = 0
    stars_kappa: float | None = None
    stars_alpha: float | None = None
    stars_candidates: int = 0
    pair_agreement: float | None = None
    pair_outcomes: int = 0
    # (judge label, team label) → candidates.
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """Trusted for pre-screening: the interval's lower bound reaches ``trust_kappa``."""
        return self.low is not None and self.low >= self.trust_kappa


# -- labels ------------------------------------------------------------------------


def judge_label(approval: float) -> Label:
    if approval > 0.5:
        return "yes"
    if approval < 0.5:
        return "no"
    return "unsure"


def team_label(scores: Sequence[float], low: float, high: float) -> Label | None:
    """The human majority on approval (scores on the scale ``low``..``high``); None for
    an even split."""
    span = (high - low) or 1.0
    share = sum((s - low) / span for s in scores) / len(scores)
    return None if share == 0.5 else judge_label(share)


def median_stars(scores: Sequence[float]) -> float:
    ordered = sorted(scores)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return float(math.floor(value + 0.5))  # halves round up: 3.5 stars are 4


def approval_labels(
    rows: Iterable[JudgedCandidate], min_votes: int, approval_range: tuple[float, float]
) -> list[tuple[Label, Label]]:
    """(judge, team) approval labels of the candidates that count: ``min_votes`` human
    ratings and a majority (an even split is left out)."""
    labels: list[tuple[Label, Label]] = []
    for row in rows:
        if len(row.human_approval) < min_votes:
            continue
        majority = team_label(row.human_approval, *approval_range)
        if majority is not None:
            labels.append((judge_label(row.approval), majority))
    return labels


def stars_labels(rows: Iterable[JudgedCandidate], min_votes: int) -> list[tuple[float, float]]:
    """(judge's stars, the team's median stars) where both are known, the team's from
    ``min_votes`` human star ratings."""
    return [
        (float(row.stars), median_stars(row.human_stars))
        for row in rows
        if row.stars is not None and len(row.human_stars) >= min_votes
    ]


# -- calibration of one prompt, or all --------------------------------------------------


def calibrate(
    candidates: Iterable[JudgedCandidate],
    pairs: Iterable[JudgedPairRow],
    *,
    prompt: str | None,
    min_votes: int,
    trust_kappa: float,
    approval_range: tuple[float, float] = (0.0, 1.0),
    rounds: int = 1000,
    seed: int = 0,
) -> Calibration:
    rows = [c for c in candidates if prompt is None or c.prompt == prompt]
    judged_pairs = [p for p in pairs if prompt is None or p.prompt == prompt]
    approvals = approval_labels(rows, min_votes, approval_range)
    judge = [j for j, _ in approvals]
    team = [t for _, t in approvals]
    kappa = _defined(cohen_kappa(judge, team)) if judge else None
    interval = bootstrap_kappa(judge, team, rounds, seed) if kappa is not None else None
    stars = stars_labels(rows, min_votes)
    stars_judge = [s for s, _ in stars]
    stars_team = [t for _, t in stars]
    agreed, compared = pair_agreement(rows, judged_pairs, min_votes, approval_range)
    consistent = sum(p.consistent for p in judged_pairs)
    return Calibration(
        prompt=prompt,
        candidates=len(judge),
        kappa=kappa,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        trust_kappa=trust_kappa,
        position_consistency=consistent / len(judged_pairs) if judged_pairs else None,
        pairs_judged=len(judged_pairs),
        stars_kappa=_defined(cohen_kappa(stars_judge, stars_team, "quadratic")) if stars else None,
        stars_alpha=_defined(ordinal_alpha(stars_judge, stars_team)) if stars else None,
        stars_candidates=len(stars),
        pair_agreement=agreed / compared if compared else None,
        pair_outcomes=compared,
        confusion=dict(Counter(zip(judge, team, strict=True))),
    )


def team_outcome(
    pair: JudgedPairRow,
    team_share: dict[int, float],
    min_votes: int,
) -> Outcome | None:
    """The team's head-to-head outcome on a pair: their compare-thread votes if there
    are enough, else which of the two answers the team approved more."""
    if len(pair.votes) >= min_votes:
        votes = Counter(pair.votes)
        if votes["first"] != votes["second"]:
            return "first" if votes["first"] > votes["second"] else "second"
        return "tie"
    first, second = team_share.get(pair.first_id), team_share.get(pair.second_id)
    if first is None or second is None:
        return None
    if first == second:
        return "tie"
    return "first" if first > second else "second"


def pair_agreement(
    rows: Sequence[JudgedCandidate],
    pairs: Sequence[JudgedPairRow],
    min_votes: int,
    approval_range: tuple[float, float],
) -> tuple[int, int]:
    """(outcomes the judge agreed with, team outcomes known) over the judged pairs."""
    low, high = approval_range
    span = (high - low) or 1.0
    share = {
        r.candidate_id: sum((s - low) / span for s in r.human_approval) / len(r.human_approval)
        for r in rows
        if len(r.human_approval) >= min_votes
    }
    agreed = compared = 0
    for pair in pairs:
        outcome = team_outcome(pair, share, min_votes)
        if outcome is not None:
            compared += 1
            agreed += outcome == pair.outcome
    return agreed, compared


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


def approval_range(config: AppConfig) -> tuple[float, float]:
    """The approval scale's lowest and highest scores (0 and 1 unless a team changed it)."""
    scale = config.scales.get("approval")
    if scale is None:
        return 0.0, 1.0
    return min(scale.emoji.values()), max(scale.emoji.values())


def calibrate_for(
    config: AppConfig,
    candidates: Iterable[JudgedCandidate],
    pairs: Iterable[JudgedPairRow],
    prompt: str | None,
) -> Calibration:
    """``calibrate`` with the team's settings: the judge's vote threshold and trust
    level, the approval scale, the digest's seed."""
    return calibrate(
        candidates,
        pairs,
        prompt=prompt,
        min_votes=config.judge.min_human_votes,
        trust_kappa=config.judge.trust_kappa,
        approval_range=approval_range(config),
        rounds=BOOTSTRAP_ROUNDS,
        seed=config.digest.seed,
    )
