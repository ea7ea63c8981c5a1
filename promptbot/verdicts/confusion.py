"""The judge against the team as confusion tables, kept for the export: per prompt and
overall, how many candidates got each (judge, team) pair of labels, on approval (the
judge's yes, no or unsure against the human majority) and on stars (the judge's stars
against the median human stars).

The candidates that count, and how votes become labels, are the calibration's own
(:func:`calibration.approval_labels`, :func:`calibration.stars_labels`), so the tables
add up to the κ the digest reports. Every cell is listed, empty ones too, so a table
reads whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from promptbot.verdicts.calibration import (
    JudgedCandidate,
    approval_labels,
    approval_range,
    stars_labels,
)
from promptbot.verdicts.kappa import JUDGE_LABELS

if TYPE_CHECKING:
    from promptbot.config.settings import AppConfig

# The human majority is yes or no: an even split is left out, never "unsure".
TEAM_LABELS = ("yes", "no")


@dataclass(frozen=True)
class CalibrationRule:
    """Which candidates count (``min_votes`` human ratings) and the team's scales."""

    min_votes: int = 3
    approval_range: tuple[float, float] = (0.0, 1.0)
    stars: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)  # empty: the team has no stars

    @classmethod
    def of(cls, config: AppConfig, min_votes: int | None = None) -> CalibrationRule:
        """The team's rule; ``min_votes`` overrides ``judge.min_human_votes``."""
        stars = config.scales.get("stars")
        return cls(
            min_votes=config.judge.min_human_votes if min_votes is None else min_votes,
            approval_range=approval_range(config),
            stars=tuple(sorted(set(stars.emoji.values()))) if stars else (),
        )


@dataclass(frozen=True)
class ConfusionCell:
    prompt: str | None  # None: every prompt in the export
    scale: Literal["approval", "stars"]
    judge: str | float
    team: str | float
    candidates: int


def confusion_tables(
    candidates: Iterable[JudgedCandidate], rule: CalibrationRule, *, overall: bool = True
) -> list[ConfusionCell]:
    """The tables of every prompt among ``candidates``, after the overall ones (unless
    ``overall`` is False: an export of one prompt, whose overall table is its own).
    Empty when nothing was judged."""
    rows = list(candidates)
    if not rows:
        return []  # nothing judged: no table, rather than one of zeros
    scopes: list[str | None] = [None] if overall else []
    scopes += sorted({row.prompt for row in rows})
    cells: list[ConfusionCell] = []
    for scope in scopes:
        mine = [row for row in rows if scope is None or row.prompt == scope]
        approvals: Counter[tuple[str, str]] = Counter(
            approval_labels(mine, rule.min_votes, rule.approval_range)
        )
        cells += [
            ConfusionCell(scope, "approval", judge, team, approvals[(judge, team)])
            for judge in JUDGE_LABELS
            for team in TEAM_LABELS
        ]
        stars = Counter(stars_labels(mine, rule.min_votes))
        if not rule.stars and not stars:
            continue
        # A judge's 3.5 or a scale's gap still gets its row and column.
        values = sorted(set(rule.stars) | {value for pair in stars for value in pair})
        cells += [
            ConfusionCell(scope, "stars", judge, team, stars[(judge, team)])
            for judge in values
            for team in values
        ]
    return cells
