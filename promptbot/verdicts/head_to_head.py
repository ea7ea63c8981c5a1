"""Head-to-head evidence: comparisons within a thread, Bradley-Terry rankings, champions.

A reviewer who rated two candidates for the same input of one run, on the same scale,
compared them: the higher score wins, equal is a tie. Each ranking (versions of a prompt,
models overall, models on one prompt, prompts that met) is a Bradley-Terry fit over those
comparisons (:func:`promptbot.verdicts.stats.bradley_terry`). Pure functions: no Slack, SQL or I/O.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from promptbot.verdicts.evidence import RatingRow
from promptbot.verdicts.stats import (
    BTEntry,
    BTResult,
    Comparison,
    bradley_terry,
    comparisons_from_scores,
)

if TYPE_CHECKING:
    from promptbot.verdicts.standings import VersionStanding

VersionKey = tuple[str, int]
RankingKind = Literal["models", "prompts", "versions", "models_for_prompt"]
Outcome = Literal["beat", "lost to", "not yet separable"]


def item_name(prompt: str, version: int) -> str:
    """How a prompt version is named in rankings: ``"summary v2"``."""
    return f"{prompt} v{version}"


@dataclass
class HeadToHead:
    """Comparisons for each Bradley-Terry ranking, kept as counts of identical outcomes.

    ``versions_before`` holds the version comparisons from ratings before ``split`` (when
    one was given): what the versions of each prompt showed at the start of a period.
    """

    versions: dict[str, Counter[Comparison]]
    models: Counter[Comparison]
    models_by_prompt: dict[str, Counter[Comparison]]
    prompts: Counter[Comparison]
    versions_before: dict[str, Counter[Comparison]]


def expand(tally: Counter[Comparison]) -> list[Comparison]:
    """The comparison list Bradley-Terry takes, rebuilt from counts (in a stable order)."""
    out: list[Comparison] = []
    for comparison, count in tally.items():
        out.extend([comparison] * count)
    return out


ScoreKey = tuple[tuple[str, ...], tuple[int, ...]]
"""Items in name order with their scores' dense ranks: all a comparison depends on."""


def _score_key(pairs: list[tuple[str, float]]) -> ScoreKey | None:
    """One reviewer's scores in one group, reduced to their order (an item scored twice
    counts with its mean); None unless at least two items were scored. Reducing scores
    to ranks makes groups with the same outcomes share one key."""
    if len(pairs) == 2:  # the common case, kept cheap
        (a, x), (b, y) = pairs
        if a == b:
            return None
        if b < a:
            a, b, x, y = b, a, y, x
        return ((a, b), (1, 0) if x > y else (0, 1) if x < y else (0, 0))
    scores: dict[str, list[float]] = defaultdict(list)
    for item, score in pairs:
        scores[item].append(score)
    if len(scores) < 2:
        return None
    items = tuple(sorted(scores))
    means = [sum(scores[item]) / len(scores[item]) for item in items]
    dense = {value: place for place, value in enumerate(sorted(set(means)))}
    return (items, tuple(dense[m] for m in means))


class _Counts:
    """Groups counted by their score order; each distinct order becomes comparisons once
    (``comparisons_from_scores``), then is multiplied by its count."""

    def __init__(self) -> None:
        self.memo: dict[ScoreKey, list[tuple[str, str, float]]] = {}
        self.made: dict[tuple[str, str, float], Comparison] = {}

    def outcomes(self, keys: Counter[ScoreKey]) -> Counter[Comparison]:
        triples: Counter[tuple[str, str, float]] = Counter()
        for key, count in keys.items():
            pairs = self.memo.get(key)
            if pairs is None:
                items, ranks = key
                found = comparisons_from_scores(dict(zip(items, map(float, ranks), strict=True)))
                pairs = self.memo[key] = [(c.a, c.b, c.outcome) for c in found]
                self.made.update(zip(pairs, found, strict=True))
            for triple in pairs:
                triples[triple] += count
        return Counter({self.made[t]: n for t, n in triples.items()})


GroupKey = tuple[int, int, str, str]  # run, input, scale, reviewer


def head_to_head(
    rows: Sequence[RatingRow], archived: set[str], split: datetime | None = None
) -> HeadToHead:
    """A reviewer's ratings of one input of one run, on one scale, form a group: the
    candidates in it were compared. Models compare within one prompt version (the prompt
    is held fixed); versions of a prompt, and prompts, compare on their mean score in
    the group. Rows are grouped once, with plain dicts, by (group, prompt, version)."""
    cells: dict[tuple[GroupKey, str, int], list[RatingRow]] = defaultdict(list)
    touched: set[GroupKey] = set()  # groups with a rating at or after ``split``
    first: dict[int, VersionKey] = {}  # the first version seen in each run
    mixed_versions: set[int] = set()  # runs whose rated candidates span versions
    mixed_prompts: set[int] = set()  # ... and prompts
    for row in rows:
        group = (row.run_id, row.input_index, row.scale, row.user_id)
        cells[(group, row.prompt, row.version)].append(row)
        if split is not None and row.rated_at >= split:
            touched.add(group)
        seen = first.setdefault(row.run_id, (row.prompt, row.version))
        if seen[1] != row.version or seen[0] != row.prompt:
            mixed_versions.add(row.run_id)
            if seen[0] != row.prompt:
                mixed_prompts.add(row.run_id)

    models: Counter[ScoreKey] = Counter()
    models_by_prompt: dict[str, Counter[ScoreKey]] = defaultdict(Counter)
    mixed: dict[tuple[GroupKey, str], list[tuple[str, list[RatingRow]]]] = defaultdict(list)
    for (group, prompt, version), cell in cells.items():
        key = _score_key([(r.model, r.score) for r in cell])
        if key is not None:
            models[key] += 1
            if prompt not in archived:
                models_by_prompt[prompt][key] += 1
        if group[0] in mixed_versions and prompt not in archived:
            mixed[(group, prompt)].append((item_name(prompt, version), cell))

    versions: dict[str, Counter[ScoreKey]] = defaultdict(Counter)
    before: dict[str, Counter[ScoreKey]] = defaultdict(Counter)
    for (group, prompt), named in mixed.items():
        key = _score_key([(name, sum(r.score for r in c) / len(c)) for name, c in named])
        if key is not None:
            versions[prompt][key] += 1
        if split is not None and group in touched:
            key = _score_key(_means_before(named, split))
        if key is not None and split is not None:
            before[prompt][key] += 1

    prompts: Counter[ScoreKey] = Counter()
    if mixed_prompts:
        by_group: dict[GroupKey, list[tuple[str, float]]] = defaultdict(list)
        for (group, prompt, _), cell in cells.items():
            if group[0] in mixed_prompts and prompt not in archived:
                by_group[group].extend((prompt, r.score) for r in cell)
        for pairs in by_group.values():
            key = _score_key(pairs)
            if key is not None:
                prompts[key] += 1

    counts = _Counts()
    return HeadToHead(
        versions={p: counts.outcomes(k) for p, k in versions.items()},
        models=counts.outcomes(models),
        models_by_prompt={p: counts.outcomes(k) for p, k in models_by_prompt.items()},
        prompts=counts.outcomes(prompts),
        versions_before={p: counts.outcomes(k) for p, k in before.items()},
    )


def _means_before(
    named: list[tuple[str, list[RatingRow]]], split: datetime
) -> list[tuple[str, float]]:
    """Each version's mean score in one group, from its ratings before ``split`` only."""
    pairs = []
    for name, cell in named:
        kept = [r.score for r in cell if r.rated_at < split]
        if kept:
            pairs.append((name, sum(kept) / len(kept)))
    return pairs


@dataclass(frozen=True)
class Ranking:
    """One Bradley-Terry ranking. Entries with fewer than ``min_votes`` comparisons are
    not ranked (they need votes); entries whose intervals overlap are not yet separable.

    When fewer than two items reach ``min_votes`` nothing can be ranked, so no model is
    fitted: ``result`` is empty and ``waiting`` lists every item with its comparisons.
    """

    kind: RankingKind
    prompt: str | None
    result: BTResult
    min_votes: int
    waiting: tuple[tuple[str, int], ...] = ()

    @property
    def title(self) -> str:
        if self.kind == "versions":
            return f"Versions of {self.prompt}"
        if self.kind == "models_for_prompt":
            return f"Models on {self.prompt}"
        return "Models overall" if self.kind == "models" else "Prompts head-to-head"

    @property
    def ranked(self) -> tuple[BTEntry, ...]:
        return tuple(e for e in self.result.entries if e.n_comparisons >= self.min_votes)

    @property
    def unranked(self) -> tuple[tuple[str, int], ...]:
        """(item, comparisons) for items below ``min_votes``: they need votes."""
        below = tuple(
            (e.item, e.n_comparisons)
            for e in self.result.entries
            if e.n_comparisons < self.min_votes
        )
        return below + self.waiting

    @property
    def winner(self) -> str | None:
        """Separable #1 (never with one vote, never while an unranked entry could be ahead)."""
        return self.result.winner

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """Not-yet-separable pairs among ranked entries (unranked ones need votes first)."""
        names = {e.item for e in self.ranked}
        return tuple((a, b) for a, b in self.result.not_separable if a in names and b in names)


def rank(
    kind: RankingKind,
    prompt: str | None,
    tally: Counter[Comparison],
    *,
    min_votes: int,
    rounds: int,
    seed: int,
) -> Ranking:
    """Fit Bradley-Terry to the comparisons, unless fewer than two items could be ranked."""
    per_item: Counter[str] = Counter()
    for comparison, count in tally.items():
        per_item[comparison.a] += count
        per_item[comparison.b] += count
    if sum(1 for n in per_item.values() if n >= min_votes) < 2:
        empty = BTResult(entries=(), not_separable=(), rounds=rounds, seed=seed)
        waiting = tuple(sorted(per_item.items(), key=lambda pair: (-pair[1], pair[0])))
        return Ranking(kind, prompt, empty, min_votes, waiting)
    result = bradley_terry(expand(tally), rounds=rounds, seed=seed, min_comparisons=min_votes)
    return Ranking(kind, prompt, result, min_votes)


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


def _low(standing: VersionStanding) -> float:
    return standing.ranked_by.norm_low if standing.ranked_by is not None else -1.0
