"""Which prompts got a new champion during a digest period: the champions at the end
against those the evidence named at the start."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from promptbot.config.settings import DigestSettings
from promptbot.verdicts.bradley_terry import ComparisonSet
from promptbot.verdicts.champions import choose_champion
from promptbot.verdicts.head_to_head import item_name
from promptbot.verdicts.head_to_head import rank as fit_ranking
from promptbot.verdicts.rankings import Rankings
from promptbot.verdicts.version_standings import VersionStanding


@dataclass(frozen=True, slots=True)
class NewChampion:
    """A prompt whose champion changed this period (``previous`` None: its first)."""

    prompt: str
    version: int
    previous: int | None


def new_champions(
    rankings: Rankings,
    previous: dict[tuple[str, int], VersionStanding],
    versions_before: dict[str, ComparisonSet],
    active: set[str],
    settings: DigestSettings,
) -> tuple[NewChampion, ...]:
    """Champions now against champions from the ratings before the start. Only prompts
    rated this period can have changed, and a version ranking is refitted only when its
    comparisons changed (same comparisons and seed give the same ranking)."""
    by_prompt: dict[str, list[VersionStanding]] = defaultdict(list)
    for standing in previous.values():
        by_prompt[standing.prompt].append(standing)
    new = []
    for report in rankings.champions:
        if report.prompt not in active or report.champion is None:
            continue
        versions = by_prompt.get(report.prompt, [])
        before = versions_before.get(report.prompt)
        now = rankings.versions_of(report.prompt)
        ranking = None
        if sum(1 for s in versions if s.ranked_by is not None) < 2 or before is None:
            pass  # at most one candidate for champion, or nothing head-to-head: no fit needed
        elif now is not None and before.fingerprint() == now.comparisons.fingerprint():
            ranking = now
        else:
            ranking = fit_ranking(
                "versions",
                report.prompt,
                before,
                min_votes=settings.min_votes,
                rounds=settings.bootstrap_rounds,
                seed=settings.seed,
            )
        previous_champion = choose_champion(report.prompt, versions, ranking).champion
        if previous_champion == report.champion:
            continue
        if previous_champion is None or _separably_ahead(
            rankings, report.prompt, report.champion, previous_champion
        ):
            new.append(NewChampion(report.prompt, report.champion, previous_champion))
    new.sort(key=lambda c: c.previous is None)  # takeovers first, then first champions
    return tuple(new)


def _separably_ahead(rankings: Rankings, prompt: str, version: int, other: int) -> bool:
    """Whether ``version`` is now surely better than ``other``: head-to-head, or else by
    absolute standing (its interval wholly above). A change of champion inside the noise
    (two versions whose intervals overlap trading places) is not announced as a win."""
    ranking = rankings.versions_of(prompt)
    if ranking is not None:
        entries = {e.item: e for e in ranking.ranked}
        mine, theirs = (
            entries.get(item_name(prompt, version)),
            entries.get(item_name(prompt, other)),
        )
        if mine is not None and theirs is not None:
            return mine.low > theirs.high
    standing = {(s.prompt, s.version): s.ranked_by for s in rankings.standings}
    mine_by, theirs_by = standing.get((prompt, version)), standing.get((prompt, other))
    return mine_by is not None and theirs_by is not None and mine_by.norm_low > theirs_by.norm_high
