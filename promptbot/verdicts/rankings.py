"""Everything the evidence says at one moment: standings, head-to-head rankings,
champions and the checks on the reviewers. Pure functions over judgements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from promptbot.verdicts.agreement import Agreement, Level, agreement_of, reviewer_agreement
from promptbot.verdicts.bias import Candidates, LengthBias, PositionBias, length_bias, position_bias
from promptbot.verdicts.champions import ChampionReport, champions
from promptbot.verdicts.evidence import RunRow, ScaleInfo
from promptbot.verdicts.head_to_head import HeadToHead, Ranking, head_to_head, rank, rank_all
from promptbot.verdicts.judgements import Judgements, dense_codes, dense_inverse
from promptbot.verdicts.version_standings import (
    LeaderboardRow,
    NeedsVotes,
    VersionStanding,
    leaderboard,
    needs_votes,
    standings,
)


def rated_candidates(table: Judgements) -> Candidates:
    """Judgements on rating scales, one entry per candidate (the unit slots are shuffled
    by), with its prompt version and model as the stratum."""
    rated = table.rated
    if not len(rated):
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, empty, np.zeros(0), empty)
    ids, first, code = np.unique(rated.candidate, return_index=True, return_inverse=True)
    code = code.reshape(-1)
    count = np.bincount(code, minlength=len(ids))
    value = np.bincount(code, rated.score, len(ids)) / count
    stratum = dense_codes(rated.prompt[first], rated.version[first], rated.model[first])
    return Candidates(rated.slot[first], rated.chars[first], stratum, value, count)


@dataclass(frozen=True)
class Biases:
    """Checks on the reviewers: position bias (by display slot), length bias and
    agreement (reported for the scale with most overlap)."""

    position: PositionBias
    length: LengthBias
    agreement: Agreement
    agreement_scale: str | None
    agreement_by_scale: tuple[tuple[str, Agreement], ...]

    @property
    def plain_words(self) -> tuple[str, ...]:
        return (self.position.plain_words, self.length.plain_words, self.agreement.plain_words)


def bias_checks(table: Judgements, scales: Sequence[ScaleInfo]) -> Biases:
    candidates = rated_candidates(table)
    binary = {s.name: s.binary for s in scales}
    agreements = []
    for name, values in table.scale_scores.items():
        used = ~np.isnan(values)
        if not used.any():
            continue
        level: Level = "nominal" if binary.get(name, False) else "ordinal"
        item = dense_inverse(table.candidate[used])
        agreements.append(
            (name, agreement_of(table.reviewer[used], item.reshape(-1), values[used], level))
        )
    if agreements:
        scale, agreement = max(agreements, key=lambda pair: pair[1].n_items)
    else:
        scale, agreement = None, reviewer_agreement([])
    return Biases(
        position_bias(candidates), length_bias(candidates), agreement, scale, tuple(agreements)
    )


@dataclass(frozen=True)
class Rankings:
    """Everything the evidence says so far. Archived prompts are left off the leaderboard,
    the champions and the prompt rankings; their votes still count towards models."""

    standings: tuple[VersionStanding, ...]
    leaderboard: tuple[LeaderboardRow, ...]
    models: Ranking
    prompts: Ranking
    versions_by_prompt: tuple[Ranking, ...]
    models_by_prompt: tuple[Ranking, ...]
    champions: tuple[ChampionReport, ...]
    needs_votes: tuple[NeedsVotes, ...]
    biases: Biases
    min_votes: int

    @property
    def all_rankings(self) -> tuple[Ranking, ...]:
        return (self.models, self.prompts, *self.versions_by_prompt, *self.models_by_prompt)

    def versions_of(self, prompt: str) -> Ranking | None:
        return next((r for r in self.versions_by_prompt if r.prompt == prompt), None)


def compute_rankings(
    table: Judgements,
    runs: Sequence[RunRow],
    scales: Sequence[ScaleInfo],
    archived: set[str],
    *,
    min_votes: int,
    rounds: int,
    seed: int,
    found: HeadToHead | None = None,
) -> Rankings:
    """Rankings from counted judgements only: leave late ratings out before building
    them. ``found`` is ``head_to_head(table, archived)`` when the caller has it."""
    by_version = standings(table, runs, scales, min_votes=min_votes)
    # Before the comparisons exist: each is ~40 MB at a million ratings, and so are the
    # agreement check's per-candidate counts.
    biases = bias_checks(table, scales)
    if found is None:
        found = head_to_head(table, archived)
    settings = {"min_votes": min_votes, "rounds": rounds, "seed": seed}
    versions = rank_all("versions", found.versions, **settings)
    return Rankings(
        standings=tuple(by_version.values()),
        leaderboard=leaderboard(by_version.values(), archived),
        models=rank("models", None, found.models, **settings),
        prompts=rank("prompts", None, found.prompts, **settings),
        versions_by_prompt=versions,
        models_by_prompt=rank_all("models_for_prompt", found.models_by_prompt, **settings),
        champions=champions(by_version.values(), versions, archived),
        needs_votes=needs_votes(by_version.values(), archived),
        biases=biases,
        min_votes=min_votes,
    )
