"""Bradley-Terry with the cluster bootstrap: choix's fit, ties count half, intervals that
follow the reviewer-thread."""

from __future__ import annotations

import random

import choix
import numpy as np
import pytest

from promptbot.verdicts import bradley_terry as bt
from promptbot.verdicts import ilsr
from promptbot.verdicts.bradley_terry import BTEntry, ComparisonSet, bradley_terry, separable

# Five items, log-strengths 0.7 apart, centred.
TRUE_STRENGTHS = np.arange(5) * 0.7 - 1.4
NAMES = ["e", "d", "c", "b", "a"]  # "a" is the strongest: names do not give the order away


def synthetic_votes(n: int, seed: int, ties: float = 0.0) -> ComparisonSet:
    """``n`` comparisons between random pairs, drawn from TRUE_STRENGTHS, each from its
    own reviewer-thread."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 5, n)
    second = (first + rng.integers(1, 5, n)) % 5
    p_first = 1.0 / (1.0 + np.exp(TRUE_STRENGTHS[second] - TRUE_STRENGTHS[first]))
    draw = rng.random(n)
    outcome = np.where(draw < ties, 0.5, np.where(rng.random(n) < p_first, 1.0, 0.0))
    return ComparisonSet.of(
        [(NAMES[i], NAMES[j], float(o)) for i, j, o in zip(first, second, outcome, strict=True)]
    )


def of(*rows: tuple[str, str, float]) -> ComparisonSet:
    return ComparisonSet.of(list(rows))


def entry(item: str, low: float, high: float) -> BTEntry:
    return BTEntry(item, (low + high) / 2, low, high, 1, 10, 5, 0)


def test_bt_recovers_known_order() -> None:
    result = bradley_terry(synthetic_votes(3000, seed=1))
    assert [e.item for e in result.entries] == ["a", "b", "c", "d", "e"]
    assert [e.rank_ub for e in result.entries] == [1, 2, 3, 4, 5]
    assert result.winner == "a"
    assert result.not_separable == ()
    strengths = np.array([e.strength for e in result.entries])
    assert strengths.mean() == pytest.approx(0.0, abs=1e-9)
    assert strengths == pytest.approx(TRUE_STRENGTHS[::-1], abs=0.2)
    assert all(e.low <= e.strength <= e.high for e in result.entries)
    assert sum(e.n_comparisons for e in result.entries) == 2 * 3000


def test_bt_bootstrap_intervals_cover_truth() -> None:
    truth = dict(zip(NAMES, TRUE_STRENGTHS, strict=True))
    covered = total = 0
    for repetition in range(40):
        result = bradley_terry(synthetic_votes(600, seed=100 + repetition), seed=repetition)
        for e in result.entries:
            covered += e.low <= truth[e.item] <= e.high
            total += 1
    assert 0.8 <= covered / total <= 1.0


def test_ties_count_half() -> None:
    # Two wins and two ties are the same evidence as three wins and one loss.
    with_ties = bradley_terry(of(*[("a", "b", 1.0)] * 2, *[("a", "b", 0.5)] * 2))
    three_one = bradley_terry(of(*[("a", "b", 1.0)] * 3, ("b", "a", 1.0)))
    ignoring_ties = bradley_terry(of(*[("a", "b", 1.0)] * 2))

    def gap(result: bt.BTResult) -> float:
        return result.entries[0].strength - result.entries[1].strength

    assert gap(with_ties) == pytest.approx(gap(three_one), abs=1e-9)
    assert 0 < gap(with_ties) < gap(ignoring_ties)
    top = with_ties.entries[0]
    assert (top.item, top.wins, top.ties, top.n_comparisons) == ("a", 2, 2, 4)


def test_all_ties_mean_equal_strengths_and_no_winner() -> None:
    result = bradley_terry(of(*[("a", "b", 0.5), ("b", "c", 0.5)] * 20))
    assert all(e.strength == pytest.approx(0.0, abs=1e-9) for e in result.entries)
    assert result.winner is None
    assert ("a", "b") in result.not_separable


def test_one_vote_never_makes_a_winner() -> None:
    assert bradley_terry(of(("a", "b", 1.0))).winner is None
    chain = of(("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 1.0))
    assert bradley_terry(chain).winner is None
    empty = bradley_terry(ComparisonSet.of([]))
    assert empty.entries == () and empty.winner is None


def test_items_below_min_comparisons_are_never_separable() -> None:
    votes = of(*[("a", "b", 1.0)] * 40, ("a", "c", 1.0))
    assert bradley_terry(votes, min_comparisons=0).entries[0].item == "a"
    result = bradley_terry(votes, min_comparisons=5)
    by_item = {e.item: e for e in result.entries}
    assert by_item["c"].n_comparisons == 1
    assert by_item["c"].low == min(e.low for e in result.entries)
    assert by_item["c"].high == max(e.high for e in result.entries)
    assert not separable(by_item["a"], by_item["c"])
    assert result.winner is None


def test_disconnected_groups_are_never_separable() -> None:
    # a-b and c-d were never linked by any chain of comparisons. By the numbers a's interval
    # clears d's, but that gap comes only from the regularisation, so it proves nothing.
    votes = [("a", "b", 1.0)] * 300 + [("b", "a", 1.0)] * 100
    votes += [("c", "d", 1.0)] * 200 + [("d", "c", 1.0)] * 200
    result = bradley_terry(of(*votes))
    by_item = {e.item: e for e in result.entries}
    assert result.entries[0].item == "a"
    assert separable(by_item["a"], by_item["d"])
    assert ("a", "d") in result.not_separable
    assert result.winner is None
    assert by_item["d"].rank_ub == 1  # not "surely below a"
    assert by_item["b"].rank_ub == 2  # but surely below a, its own opponent


def test_bt_is_reproducible() -> None:
    votes = synthetic_votes(500, seed=3, ties=0.2)
    order = list(range(len(votes)))
    random.Random(0).shuffle(order)
    shuffled = ComparisonSet(
        votes.items, votes.a[order], votes.b[order], votes.outcome[order], votes.cluster[order]
    )
    assert bradley_terry(votes, seed=5) == bradley_terry(shuffled, seed=5)
    other = bradley_terry(votes, seed=6)
    assert [e.low for e in other.entries] != [e.low for e in bradley_terry(votes, seed=5).entries]


def test_separable_means_no_overlap() -> None:
    assert separable(entry("a", 1.0, 2.0), entry("b", -1.0, 0.9))
    assert separable(entry("b", -1.0, 0.9), entry("a", 1.0, 2.0))
    assert not separable(entry("a", 1.0, 2.0), entry("b", -1.0, 1.0))


def test_batched_refit_matches_choix() -> None:
    # The bootstrap refits all rounds at once; each must equal choix's own fit.
    rng = np.random.default_rng(0)
    wins = rng.integers(0, 12, (6, 4, 4)).astype(np.float64)
    wins[:, np.arange(4), np.arange(4)] = 0.0
    wins[0, 0, :] = 0.0  # item 0 never wins: perfect separation
    start = np.array([0.3, -0.1, 0.0, -0.2])
    batched = ilsr.refit_stack(wins, start)
    for matrix, fitted in zip(wins, batched, strict=True):
        expected = choix.ilsr_pairwise_dense(matrix, alpha=ilsr.ALPHA, tol=1e-10)
        assert fitted == pytest.approx(expected, abs=1e-6)


# --- the unit of independence: the reviewer-thread ----------------------------------------


def rankings_of_six(threads: int, rng: np.random.Generator) -> ComparisonSet:
    """Each reviewer-thread ranks six items of true strengths 0, 0.3, … 1.5 (Gumbel noise:
    Bradley-Terry exactly) and yields its 15 linked comparisons."""
    strengths = np.arange(6) * 0.3
    rows: list[tuple[str, str, float, int]] = []
    for thread in range(threads):
        utility = strengths + rng.gumbel(size=6)
        for i in range(6):
            for j in range(i + 1, 6):
                rows.append((f"i{i}", f"i{j}", float(utility[i] > utility[j]), thread))
    return ComparisonSet.of(rows)


def test_intervals_are_not_too_narrow_at_six_candidates_a_thread() -> None:
    # The spread of the point estimates over many data sets is the truth the intervals
    # must match; treating the 15 comparisons of a thread as independent made them ~30%
    # too narrow.
    rng = np.random.default_rng(11)
    points, half_widths = [], []
    for repetition in range(40):
        result = bradley_terry(rankings_of_six(20, rng), rounds=200, seed=repetition)
        by_item = {e.item: e for e in result.entries}
        points.append([by_item[f"i{i}"].strength for i in range(6)])
        half_widths.append([(by_item[f"i{i}"].high - by_item[f"i{i}"].low) / 2 for i in range(6)])
    needed = 1.96 * np.std(points, axis=0, ddof=1).mean()
    assert 0.9 * needed < np.mean(half_widths) < 1.3 * needed


def test_a_reviewer_threads_comparisons_move_together() -> None:
    found = rankings_of_six(12, np.random.default_rng(3))
    separate = ComparisonSet(found.items, found.a, found.b, found.outcome, np.arange(len(found)))
    linked, independent = bradley_terry(found, seed=1), bradley_terry(separate, seed=1)

    def width(result: bt.BTResult) -> float:
        return float(np.mean([e.high - e.low for e in result.entries]))

    assert width(linked) > 1.3 * width(independent)
    assert [e.strength for e in linked.entries] == [e.strength for e in independent.entries]


def test_a_single_reviewer_thread_separates_nothing() -> None:
    # One reviewer ranking six answers, however many comparisons that makes.
    found = rankings_of_six(1, np.random.default_rng(5))
    assert len(found) == 15
    result = bradley_terry(found)
    assert result.winner is None
    assert len(result.not_separable) == 15


def test_the_fit_is_choix_fit() -> None:
    rng = np.random.default_rng(8)
    for k in (2, 5, 9):
        wins = rng.integers(0, 20, (k, k)).astype(np.float64) * rng.random((k, k))
        np.fill_diagonal(wins, 0.0)
        expected = choix.ilsr_pairwise_dense(wins, alpha=ilsr.ALPHA)
        assert ilsr.fit(wins) == pytest.approx(expected, abs=1e-7)


def test_components_are_scipys_connected_components() -> None:
    # The union-find that replaced scipy's csgraph on the digest's path: same partition
    # on random sparse graphs (isolated items, chains, one big group).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(4)
    for k, edges in [(1, 0), (6, 0), (10, 4), (30, 25), (50, 200), (200, 150)]:
        lo = rng.integers(0, k, edges)
        hi = rng.integers(0, k, edges)
        graph = coo_matrix((np.ones(edges), (lo, hi)), shape=(k, k))
        _, expected = connected_components(graph, directed=False)
        labels = bt.components(k, lo, hi)
        same = labels[:, None] == labels[None, :]
        assert (same == (expected[:, None] == expected[None, :])).all()
        assert all(labels[i] <= i for i in range(k))  # labelled by the smallest member


def test_refits_run_together_give_each_matrix_its_own_fit(monkeypatch) -> None:
    # Small batches, so that stacks of one size are split across several of them too.
    monkeypatch.setattr(ilsr, "_BATCH_CELLS", 3 * 25 * 7)
    rng = np.random.default_rng(4)
    stacks = [
        rng.gamma(2.0, size=(rounds, k, k))
        for rounds, k in [(7, 5), (3, 4), (9, 5), (1, 3), (5, 4)]
    ]
    initials = [rng.normal(size=s.shape[-1]) * 0.3 for s in stacks]
    together = ilsr.refit_all(stacks, initials)
    for stack, initial, fitted in zip(stacks, initials, together, strict=True):
        alone = ilsr.refit_stack(stack, initial)
        assert fitted.shape == alone.shape
        assert np.array_equal(fitted, alone)  # exactly: the digest must not change


def test_rankings_fitted_together_are_the_rankings_fitted_alone() -> None:
    sets = [
        synthetic_votes(300, seed=7),
        ComparisonSet.of([]),
        of(("x", "y", 1.0), ("y", "z", 0.5), ("x", "z", 1.0), ("z", "x", 0.0)),
        synthetic_votes(120, seed=8, ties=0.2),
    ]
    together = bt.bradley_terry_all(sets, rounds=60, seed=3, min_comparisons=2)
    assert together == [bradley_terry(s, rounds=60, seed=3, min_comparisons=2) for s in sets]
    assert together[1].entries == () and len(together[0].entries) == 5


@pytest.mark.parametrize("newton_steps", [0, 1, 12])
def test_refits_that_newton_does_not_settle_are_left_to_ilsr(monkeypatch, newton_steps) -> None:
    # Newton gets a few steps; whatever has not settled by then is fitted by I-LSR from
    # its start. Either way each fit is choix's, perfect separations included.
    monkeypatch.setattr(ilsr, "_NEWTON_STEPS", newton_steps)
    rng = np.random.default_rng(6)
    wins = rng.integers(0, 15, (9, 5, 5)).astype(np.float64) * (rng.random((9, 5, 5)) < 0.6)
    wins[:, np.arange(5), np.arange(5)] = 0.0
    wins[:3] = np.triu(wins[:3]) * 20  # every item beats every later one, heavily
    fitted = ilsr.refit_stack(wins, np.zeros(5))
    for matrix, strengths in zip(wins, fitted, strict=True):
        expected = choix.ilsr_pairwise_dense(matrix, alpha=ilsr.ALPHA, tol=1e-12)
        assert strengths == pytest.approx(expected, abs=1e-7)


def test_newton_settles_closer_than_ilsr_stops() -> None:
    # The same fixed point: Newton's five steps land far closer to it than I-LSR's
    # stopping rule leaves choix (its last step may still move a strength by ~1e-8).
    rng = np.random.default_rng(2)
    wins = rng.gamma(2.0, size=(20, 6, 6))
    wins[:, np.arange(6), np.arange(6)] = 0.0
    fitted = ilsr.refit_stack(wins, np.zeros(6))
    for matrix, strengths in zip(wins, fitted, strict=True):
        exact = choix.ilsr_pairwise_dense(matrix, alpha=ilsr.ALPHA, tol=1e-13, max_iter=100_000)
        assert np.abs(strengths - exact).max() < 1e-10


def test_items_may_come_in_any_order() -> None:
    # The digest names items in name order; a set built otherwise is renamed so, and
    # each comparison still counts for the items it named.
    rows = [(0, 1, 1.0)] * 30 + [(0, 1, 0.0)] * 10 + [(2, 1, 1.0)] * 20 + [(2, 0, 0.0)] * 25
    a, b, outcome = (np.array(column) for column in zip(*rows, strict=True))
    found = ComparisonSet(("c", "a", "b"), a, b, outcome.astype(np.float64), np.arange(len(a)))
    by_name = of(*[(found.items[i], found.items[j], float(o)) for i, j, o in rows])
    assert bradley_terry(found, rounds=50) == bradley_terry(by_name, rounds=50)
    assert [e.item for e in bradley_terry(found, rounds=50).entries] == ["c", "b", "a"]


def test_a_single_comparison_keeps_its_own_interval_without_a_minimum() -> None:
    # Without min_comparisons, an item with one comparison gets its bootstrap interval
    # (the pseudo-comparisons make it wide), not the set's widest.
    rows = [("x", "y", 1.0)] * 120 + [("y", "x", 1.0)] * 80 + [("x", "z", 1.0)]
    result = bradley_terry(of(*rows), rounds=200, seed=2)
    by_item = {e.item: e for e in result.entries}
    assert by_item["z"].n_comparisons == 1
    assert by_item["z"].high < max(e.high for e in result.entries)
    widest = bradley_terry(of(*rows), rounds=200, seed=2, min_comparisons=2)
    assert {e.item: e for e in widest.entries}["z"].high == max(e.high for e in widest.entries)


def test_nothing_to_rank_draws_nothing(monkeypatch) -> None:
    # An empty digest ranks nothing: it loads no random generator or thread limiter.
    def refused(*args: object) -> None:
        raise AssertionError("drew weights for no table")

    monkeypatch.setattr(bt, "ExponentialStream", refused)
    monkeypatch.setattr(bt, "one_blas_thread", refused)
    assert (
        bt.bradley_terry_all([ComparisonSet.of([]), ComparisonSet.of([])])
        == [bt.BTResult(entries=(), not_separable=(), rounds=200, seed=0)] * 2
    )
