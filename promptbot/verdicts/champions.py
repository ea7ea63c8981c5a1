"""Each prompt's champion: the version best supported by the evidence.

It sits between the absolute standings (:mod:`promptbot.verdicts.version_standings`) and the
head-to-head rankings (:mod:`promptbot.verdicts.head_to_head`), and needs both; neither
of them needs it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from promptbot.verdicts.bradley_terry import BTEntry
from promptbot.verdicts.head_to_head import Ranking
from promptbot.verdicts.version_standings import VersionStanding

Outcome = Literal["beat", "lost to", "not yet separable"]


@dataclass(frozen=True, slots=True)
class Challenger:
    """Another version against the champion; ``head_to_head`` False: they never met."""

    version: int
    outcome: Outcome
    head_to_head: bool


@dataclass(frozen=True)
class ChampionReport:
    prompt: str
    champion: int | None
    incumbent: int | None
    reason: str
    challengers: tuple[Challenger, ...]


def _outcome(challenger: BTEntry | None, champion: BTEntry | None) -> Outcome:
    if challenger is None or champion is None:
        return "not yet separable"
    if challenger.low > champion.high:
        return "beat"
    if champion.low > challenger.high:
        return "lost to"
    return "not yet separable"


def _low(standing: VersionStanding) -> float:
    return standing.ranked_by.norm_low if standing.ranked_by is not None else -1.0


def choose_champion(
    prompt: str, versions: Iterable[VersionStanding], ranking: Ranking | None
) -> ChampionReport:
    """The version of ``prompt`` best supported by the evidence.

    Rule: only versions with at least ``min_votes`` votes (a ``ranked_by`` standing) take
    part. When at least two versions are ranked head-to-head (each in ``min_votes``
    comparisons), the incumbent is the earliest eligible version; otherwise it is the one
    with the best absolute standing (highest lower bound; the earlier on a tie). Then, in
    version order, a newer version takes over only when it is separably better than the
    current champion in the Bradley-Terry ranking of versions: its 95% interval lies
    wholly above the champion's. Overlap keeps the champion, so a close race or a
    one-vote lead never changes it. Every other eligible version is reported as having
    "beat" or "lost to" the champion, or as "not yet separable" (which includes versions
    that never met it head-to-head: ``head_to_head`` is then False).
    """
    eligible = sorted((s for s in versions if s.ranked_by is not None), key=lambda s: s.version)
    if not eligible:
        return ChampionReport(prompt, None, None, "no version has enough votes yet", ())
    ranked = {e.item: e for e in ranking.ranked} if ranking is not None else {}
    if len(ranked) >= 2:
        incumbent = eligible[0]
        reason = "holds as the incumbent: no newer version is separably better"
    else:
        incumbent = max(eligible, key=lambda s: (_low(s), -s.version))
        reason = "best absolute standing; too little head-to-head evidence yet"
    champion = incumbent
    for standing in eligible:
        newer = standing.version > champion.version
        if newer and _outcome(ranked.get(standing.item), ranked.get(champion.item)) == "beat":
            champion = standing
    if champion is not incumbent:
        reason = f"took over from v{incumbent.version}: separably better head-to-head"
    challengers = tuple(
        Challenger(
            s.version,
            _outcome(ranked.get(s.item), ranked.get(champion.item)),
            s.item in ranked and champion.item in ranked,
        )
        for s in eligible
        if s is not champion
    )
    return ChampionReport(prompt, champion.version, incumbent.version, reason, challengers)


def champions(
    versions: Iterable[VersionStanding], rankings: Iterable[Ranking], archived: set[str]
) -> tuple[ChampionReport, ...]:
    """One report per live prompt, the most recently active prompt first."""
    by_prompt: dict[str, list[VersionStanding]] = defaultdict(list)
    for standing in versions:
        if standing.prompt not in archived:
            by_prompt[standing.prompt].append(standing)
    ranking_of = {r.prompt: r for r in rankings}

    def recency(prompt: str) -> tuple[float, str]:
        times = [s.last_activity.timestamp() for s in by_prompt[prompt] if s.last_activity]
        return (-max(times, default=float("-inf")), prompt)

    return tuple(
        choose_champion(prompt, by_prompt[prompt], ranking_of.get(prompt))
        for prompt in sorted(by_prompt, key=recency)
    )
