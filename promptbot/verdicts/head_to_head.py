"""Head-to-head evidence: which judgements compared which entries, and their rankings.

A reviewer who judged two candidates for the same input of one run compared them: the
higher judgement wins, equal is a tie (worth half). A compare-pair vote compares its two
answers. One judgement per reviewer and candidate (:mod:`promptbot.verdicts.judgements`)
means one comparison per reviewer and pair of candidates, whatever scales they used.

Each ranking is a Bradley-Terry fit (:mod:`promptbot.verdicts.bradley_terry`) over the
comparisons, clustered by reviewer-thread:

* models overall, and models on one prompt: candidates of the same prompt version (the
  prompt is held fixed) in one reviewer's group;
* versions of a prompt: the mean judgement of each version's candidates in one group, in
  runs that show several versions (revisions, compares);
* prompts: the same, for runs where different prompts met.

Pure functions over arrays: no Slack, SQL or I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.bradley_terry import BTEntry, BTResult, ComparisonSet, bradley_terry_all
from promptbot.verdicts.comparisons import compare_within
from promptbot.verdicts.judgements import Judgements, dense_inverse
from promptbot.verdicts.judgements import dense_codes as _codes

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
VersionKey = tuple[str, int]
RankingKind = Literal["models", "prompts", "versions", "models_for_prompt"]


def item_name(prompt: str, version: int) -> str:
    """How a prompt version is named in rankings: ``"summary v2"``."""
    return f"{prompt} v{version}"


@dataclass(frozen=True)
class HeadToHead:
    """The comparisons behind each Bradley-Terry ranking."""

    versions: dict[str, ComparisonSet]
    models: ComparisonSet
    models_by_prompt: dict[str, ComparisonSet]
    prompts: ComparisonSet


def _subset(found: ComparisonSet, mask: BoolArray | IntArray | slice) -> ComparisonSet:
    return ComparisonSet(
        found.items, found.a[mask], found.b[mask], found.outcome[mask], found.cluster[mask]
    )


def _split(found: ComparisonSet, key: IntArray) -> tuple[ComparisonSet, dict[int, ComparisonSet]]:
    """The comparisons sorted by ``key``, and grouped by it: each group is a slice of the
    sorted arrays (a view, not a copy: at a million ratings the comparisons take ~40 MB,
    and the overall ranking takes the same comparisons in any order). Comparisons that
    come sorted already are not copied at all."""
    ordered = found
    if len(key) and (key[1:] < key[:-1]).any():
        order = np.argsort(key, kind="stable")
        ordered, key = _subset(found, order), key[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if len(key) else key
    keys = key[starts]
    bounds = [*starts.tolist(), len(key)]
    return ordered, {
        int(k): _subset(ordered, slice(bounds[i], bounds[i + 1])) for i, k in enumerate(keys)
    }


def _units(table: Judgements) -> tuple[IntArray, IntArray]:
    """The reviewer-thread of each judgement (the unit of independence: everything one
    reviewer said in one thread) and its group (what it can be compared with)."""
    cluster = _codes(table.reviewer, table.run)
    group = _codes(table.reviewer, table.run, table.group, table.pairwise.astype(np.int64))
    return cluster, group


def _live(table: Judgements, archived: set[str]) -> tuple[BoolArray, BoolArray]:
    live = np.array([p not in archived for p in table.prompts], dtype=np.bool_)
    return live, live[table.prompt] if len(table) else np.zeros(0, dtype=np.bool_)


def _in_runs_with_several(table: Judgements, item: IntArray) -> BoolArray:
    """The judgements in runs that show more than one ``item`` (prompt versions in a
    revision or a compare, prompts side by side): the only runs that compare them, and
    at a million ratings a small part of them, so the rest is left out before grouping."""
    if not len(table):
        return np.zeros(0, dtype=np.bool_)
    run = dense_inverse(table.run)
    # In the items' own width: ufunc.at is ~30 times slower when it must cast.
    bounds = np.iinfo(item.dtype)
    low = np.full(int(run.max()) + 1, bounds.max, dtype=item.dtype)
    high = np.full(len(low), bounds.min, dtype=item.dtype)
    np.minimum.at(low, run, item)
    np.maximum.at(high, run, item)
    several: BoolArray = low[run] != high[run]
    return several


def version_comparisons(table: Judgements, archived: set[str]) -> dict[str, ComparisonSet]:
    """Versions of each live prompt that met in a group, compared on their mean there."""
    table = table.take(_in_runs_with_several(table, _codes(table.prompt, table.version)))
    cluster, group = _units(table)
    _, keep = _live(table, archived)
    version_item = _codes(table.prompt, table.version)
    names = _item_names(table, version_item)
    a, b, outcome, clusters = compare_within(
        _codes(table.prompt[keep], group[keep]),
        version_item[keep],
        table.score[keep],
        cluster[keep],
    )
    prompt_of_item = np.zeros(len(names), dtype=np.int64)
    prompt_of_item[version_item] = table.prompt
    everything = ComparisonSet(names, a, b, outcome, clusters)
    _, parts = _split(everything, prompt_of_item[a])
    return {table.prompts[p]: part for p, part in parts.items()}


def head_to_head(table: Judgements, archived: set[str]) -> HeadToHead:
    """Comparisons for every ranking, from the judgements (late ones left out already).
    Archived prompts still count towards the models overall, nowhere else."""
    live, keep = _live(table, archived)
    cluster, group = _units(table)

    # Models: within one prompt version of a group. The prompt rides along with the
    # cluster code, so each comparison knows which prompt it was made on; and it comes
    # first in the cell's code, so the comparisons come out in order of prompt.
    n_prompts = max(len(table.prompts), 1)
    cell = _codes(table.prompt, group, table.version)
    a, b, outcome, carried = compare_within(
        cell, table.model, table.score, cluster * n_prompts + table.prompt
    )
    models, parts = _split(
        ComparisonSet(table.models, a, b, outcome, carried // n_prompts), carried % n_prompts
    )
    del a, b, outcome, carried
    by_prompt = {table.prompts[p]: part for p, part in parts.items() if live[p]}
    versions = version_comparisons(table, archived)
    keep &= _in_runs_with_several(table, table.prompt)
    a, b, outcome, clusters = compare_within(
        group[keep], table.prompt[keep], table.score[keep], cluster[keep]
    )
    prompts = ComparisonSet(table.prompts, a, b, outcome, clusters)
    return HeadToHead(versions, models, by_prompt, prompts)


def _item_names(table: Judgements, version_item: IntArray) -> tuple[str, ...]:
    if not len(version_item):
        return ()
    n = int(version_item.max()) + 1
    prompt = np.zeros(n, dtype=np.int64)
    number = np.zeros(n, dtype=np.int64)
    prompt[version_item], number[version_item] = table.prompt, table.version
    return tuple(item_name(table.prompts[p], int(v)) for p, v in zip(prompt, number, strict=True))


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
    comparisons: ComparisonSet
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


def _waiting(found: ComparisonSet, min_votes: int) -> tuple[tuple[str, int], ...] | None:
    """Every item with its comparisons when fewer than two items could be ranked (then
    no model is fitted); None when there is a ranking to fit."""
    per_item = np.bincount(found.a, minlength=len(found.items)) + np.bincount(
        found.b, minlength=len(found.items)
    )
    if int((per_item >= max(min_votes, 1)).sum()) >= 2:
        return None
    present = [(found.items[i], int(n)) for i, n in enumerate(per_item) if n > 0]
    return tuple(sorted(present, key=lambda pair: (-pair[1], pair[0])))


def rank(
    kind: RankingKind,
    prompt: str | None,
    found: ComparisonSet,
    *,
    min_votes: int,
    rounds: int,
    seed: int,
) -> Ranking:
    """Fit Bradley-Terry to the comparisons, unless fewer than two items could be ranked."""
    (ranking,) = _rank_sets(kind, [(prompt, found)], min_votes=min_votes, rounds=rounds, seed=seed)
    return ranking


def rank_all(
    kind: RankingKind,
    sets: dict[str, ComparisonSet],
    *,
    min_votes: int,
    rounds: int,
    seed: int,
) -> tuple[Ranking, ...]:
    """One ranking per prompt, in name order, for the prompts with any comparison."""
    chosen = [(prompt, found) for prompt, found in sorted(sets.items()) if len(found)]
    return _rank_sets(kind, chosen, min_votes=min_votes, rounds=rounds, seed=seed)


def _rank_sets(
    kind: RankingKind,
    chosen: Sequence[tuple[str | None, ComparisonSet]],
    *,
    min_votes: int,
    rounds: int,
    seed: int,
) -> tuple[Ranking, ...]:
    """``rank`` of each set, the fits run together (the same results, less overhead)."""
    waiting = [_waiting(found, min_votes) for _, found in chosen]
    fitted = iter(
        bradley_terry_all(
            [found for (_, found), wait in zip(chosen, waiting, strict=True) if wait is None],
            rounds=rounds,
            seed=seed,
            min_comparisons=min_votes,
        )
    )
    empty = BTResult(entries=(), not_separable=(), rounds=rounds, seed=seed)
    return tuple(
        Ranking(kind, prompt, empty, min_votes, found, wait)
        if wait is not None
        else Ranking(kind, prompt, next(fitted), min_votes, found)
        for (prompt, found), wait in zip(chosen, waiting, strict=True)
    )


__all__: Sequence[str] = [
    "HeadToHead",
    "Ranking",
    "RankingKind",
    "VersionKey",
    "compare_within",
    "head_to_head",
    "item_name",
    "rank",
    "rank_all",
    "version_comparisons",
]
