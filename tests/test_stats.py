"""Unit tests for promptbot.verdicts.stats and promptbot.verdicts.bias: pure functions, synthetic data."""

from __future__ import annotations

import math
import random

import choix
import numpy as np
import pytest

from promptbot.verdicts import stats
from promptbot.verdicts.stats import (
    BTEntry,
    Comparison,
    bradley_terry,
    comparisons_from_scores,
    length_bias,
    mean_interval,
    position_bias,
    rank_ub,
    reviewer_agreement,
    separable,
    wilson_interval,
)

# Five items, log-strengths 0.7 apart, centred.
TRUE_STRENGTHS = np.arange(5) * 0.7 - 1.4
NAMES = ["e", "d", "c", "b", "a"]  # "a" is the strongest: names do not give the order away


def synthetic_votes(n: int, seed: int, ties: float = 0.0) -> list[Comparison]:
    """``n`` comparisons between random pairs, drawn from TRUE_STRENGTHS."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 5, n)
    second = (first + rng.integers(1, 5, n)) % 5
    p_first = 1.0 / (1.0 + np.exp(TRUE_STRENGTHS[second] - TRUE_STRENGTHS[first]))
    draw = rng.random(n)
    outcome = np.where(draw < ties, 0.5, np.where(rng.random(n) < p_first, 1.0, 0.0))
    return [
        Comparison(NAMES[i], NAMES[j], float(o))
        for i, j, o in zip(first, second, outcome, strict=True)
    ]


def entry(item: str, low: float, high: float) -> BTEntry:
    return BTEntry(item, (low + high) / 2, low, high, 1, 10, 5, 0)


# --- intervals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion:
        # comparison of seven methods", Stat. Med. 17:857-872, Table II, method 3 (score).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
        # The 8/10 example usually quoted for the Wilson interval: about (0.490, 0.943).
        (8, 10, (0.4902, 0.9433)),
    ],
)
def test_wilson_matches_published_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    low, high = wilson_interval(successes, n)
    assert low == pytest.approx(expected[0], abs=5e-5)
    assert high == pytest.approx(expected[1], abs=5e-5)


def test_wilson_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(29, 29)[1] == 1.0
    assert wilson_interval(1, 1)[0] < 0.5  # one 👍 proves nothing
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_mean_interval_uses_students_t() -> None:
    # mean 3, sd 1.5811, t(0.975, df=4) = 2.7764: half width 2.7764 * 1.5811 / sqrt(5).
    mean, low, high = mean_interval([1, 2, 3, 4, 5], lo=1, hi=5)
    assert mean == 3.0
    assert low == pytest.approx(3 - 1.9632, abs=1e-4)
    assert high == pytest.approx(3 + 1.9632, abs=1e-4)
    narrower = mean_interval([1, 2, 3, 4, 5], 0.80, lo=1, hi=5)
    assert narrower[1] > low


def test_mean_interval_small_samples_and_clipping() -> None:
    assert mean_interval([4.0], lo=1, hi=5) == (4.0, 1, 5)
    mean, low, high = mean_interval([], lo=1, hi=5)
    assert math.isnan(mean) and (low, high) == (1, 5)
    _, _, high = mean_interval([5, 5, 4], lo=1, hi=5)
    assert high == 5  # clipped to the scale, not 5.7
    with pytest.raises(TypeError):
        mean_interval([1.0, 2.0])  # type: ignore[call-arg]  # the scale must be given


# --- comparisons -----------------------------------------------------------------------


def test_comparisons_from_scores_every_pair() -> None:
    found = comparisons_from_scores({"x": 4, "y": 2, "z": 4})
    assert found == [
        Comparison("x", "y", 1.0),
        Comparison("x", "z", 0.5),
        Comparison("y", "z", 0.0),
    ]
    assert comparisons_from_scores({"only": 5}) == []


def test_comparison_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Comparison("a", "a", 1.0)
    with pytest.raises(ValueError):
        Comparison("a", "b", 0.7)


# --- Bradley-Terry ---------------------------------------------------------------------


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
    with_ties = bradley_terry([Comparison("a", "b", 1.0)] * 2 + [Comparison("a", "b", 0.5)] * 2)
    three_one = bradley_terry([Comparison("a", "b", 1.0)] * 3 + [Comparison("b", "a", 1.0)])
    ignoring_ties = bradley_terry([Comparison("a", "b", 1.0)] * 2)

    def gap(result: stats.BTResult) -> float:
        return result.entries[0].strength - result.entries[1].strength

    assert gap(with_ties) == pytest.approx(gap(three_one), abs=1e-9)
    assert 0 < gap(with_ties) < gap(ignoring_ties)
    top = with_ties.entries[0]
    assert (top.item, top.wins, top.ties, top.n_comparisons) == ("a", 2, 2, 4)


def test_all_ties_mean_equal_strengths_and_no_winner() -> None:
    result = bradley_terry([Comparison("a", "b", 0.5), Comparison("b", "c", 0.5)] * 20)
    assert all(e.strength == pytest.approx(0.0, abs=1e-9) for e in result.entries)
    assert result.winner is None
    assert ("a", "b") in result.not_separable


def test_one_vote_never_makes_a_winner() -> None:
    assert bradley_terry([Comparison("a", "b", 1.0)]).winner is None
    chain = [Comparison("a", "b", 1.0), Comparison("b", "c", 1.0), Comparison("a", "c", 1.0)]
    assert bradley_terry(chain).winner is None
    empty = bradley_terry([])
    assert empty.entries == () and empty.winner is None


def test_items_below_min_comparisons_are_never_separable() -> None:
    votes = [Comparison("a", "b", 1.0)] * 40 + [Comparison("a", "c", 1.0)]
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
    votes = [Comparison("a", "b", 1.0)] * 300 + [Comparison("b", "a", 1.0)] * 100
    votes += [Comparison("c", "d", 1.0)] * 200 + [Comparison("d", "c", 1.0)] * 200
    result = bradley_terry(votes)
    by_item = {e.item: e for e in result.entries}
    assert result.entries[0].item == "a"
    assert separable(by_item["a"], by_item["d"])
    assert ("a", "d") in result.not_separable
    assert result.winner is None
    assert by_item["d"].rank_ub == 1  # not "surely below a"
    assert by_item["b"].rank_ub == 2  # but surely below a, its own opponent


def test_bt_is_reproducible() -> None:
    votes = synthetic_votes(500, seed=3, ties=0.2)
    shuffled = list(votes)
    random.Random(0).shuffle(shuffled)
    assert bradley_terry(votes, seed=5) == bradley_terry(shuffled, seed=5)
    other = bradley_terry(votes, seed=6)
    assert [e.low for e in other.entries] != [e.low for e in bradley_terry(votes, seed=5).entries]


def test_rank_ub_on_hand_made_intervals() -> None:
    intervals = [(2.0, 4.0), (1.0, 3.0), (0.0, 0.5), (-1.0, 0.8), (-3.0, -2.5)]
    # Nobody is surely above A or B; A and B are surely above C and D; all four above E.
    assert rank_ub(intervals) == [1, 1, 3, 3, 5]
    assert rank_ub([(1.0, 2.0), (0.0, 1.0)]) == [1, 1]  # touching intervals overlap
    assert rank_ub(intervals, groups=[0, 0, 0, 1, 1]) == [1, 1, 3, 1, 2]
    assert rank_ub([]) == []


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
    batched = stats._refit_stack(wins, start)
    for matrix, fitted in zip(wins, batched, strict=True):
        expected = choix.ilsr_pairwise_dense(matrix, alpha=stats._ALPHA, tol=1e-10)
        assert fitted == pytest.approx(expected, abs=1e-6)


# --- position and length bias ----------------------------------------------------------


def approvals(rng: np.random.Generator, rates: list[float], n: int) -> list[tuple[int, float]]:
    return [(slot, float(rng.random() < rate)) for slot, rate in enumerate(rates) for _ in range(n)]


def test_strong_slot_a_advantage_is_flagged() -> None:
    result = position_bias(approvals(np.random.default_rng(0), [0.8, 0.5, 0.5], 300))
    assert result.matters
    assert result.p_value is not None and result.p_value < 0.001
    assert [s.label for s in result.slots] == ["A", "B", "C"]
    assert result.slots[0].n == 300 and result.slots[0].mean_score > 0.7
    assert "slot A" in result.plain_words and "matters" in result.plain_words


def test_uniform_slots_are_not_flagged() -> None:
    result = position_bias(approvals(np.random.default_rng(1), [0.6, 0.6, 0.6], 300))
    assert not result.matters
    assert result.plain_words.startswith("No meaningful position bias")


def test_position_bias_needs_data() -> None:
    result = position_bias([(0, 1.0), (1, 0.0), (0, 1.0)])
    assert result.p_value is None and not result.matters
    assert result.plain_words.startswith("Not enough")
    identical = position_bias([(slot, 1.0) for slot in (0, 1) for _ in range(20)])
    assert identical.p_value == 1.0 and not identical.matters


def test_length_correlated_scores_are_flagged() -> None:
    rng = np.random.default_rng(2)
    lengths = rng.integers(100, 3000, 200)
    scores = np.clip(np.rint(1 + 4 * lengths / 3000 + rng.normal(0, 0.7, 200)), 1, 5)
    rows = [(int(n), float(s)) for n, s in zip(lengths, scores, strict=True)]
    result = length_bias(rows)
    assert result.matters and result.rho is not None and result.rho > 0.5
    assert "longer answers score higher" in result.plain_words

    shuffled = list(scores)
    random.Random(3).shuffle(shuffled)
    rows = [(int(n), float(s)) for n, s in zip(lengths, shuffled, strict=True)]
    unrelated = length_bias(rows)
    assert not unrelated.matters
    assert unrelated.rho is not None and abs(unrelated.rho) < 0.2


def test_length_bias_needs_data_and_variation() -> None:
    few = length_bias([(100, 1.0), (200, 2.0)])
    assert few.rho is None and few.n == 2 and few.plain_words.startswith("Not enough")
    constant = length_bias([(n, 3.0) for n in range(100, 2000, 100)])
    assert constant.rho is None and not constant.matters


# --- reviewer agreement ----------------------------------------------------------------


def test_perfect_agreement_is_one() -> None:
    ratings = [(f"r{r}", f"item{i}", float(i % 5 + 1)) for r in range(4) for i in range(20)]
    result = reviewer_agreement(ratings)
    assert result.alpha == pytest.approx(1.0)
    assert (result.n_items, result.n_reviewers) == (20, 4)
    assert result.plain_words.startswith("Reviewers agree well")


def test_random_ratings_agree_near_zero() -> None:
    rng = np.random.default_rng(4)
    ratings = [
        (f"r{r}", f"item{i}", float(rng.integers(1, 6))) for r in range(5) for i in range(300)
    ]
    result = reviewer_agreement(ratings, level="interval")
    assert result.alpha is not None and abs(result.alpha) < 0.1
    assert result.plain_words.startswith("Reviewers agree little")


def test_agreement_needs_shared_items() -> None:
    single_raters = [("r1", "x", 1.0), ("r2", "y", 5.0), ("r1", "z", 3.0)]
    assert reviewer_agreement(single_raters).alpha is None
    one_shared = [("r1", "x", 1.0), ("r2", "x", 5.0), ("r1", "y", 2.0)]
    result = reviewer_agreement(one_shared)
    assert result.alpha is None and result.n_items == 1
    same = [(r, i, 4.0) for r in ("r1", "r2") for i in ("x", "y", "z")]
    assert reviewer_agreement(same).alpha is None


def test_agreement_keeps_a_reviewers_last_rating() -> None:
    ratings = [(f"r{r}", f"item{i}", float(i % 3)) for r in range(3) for i in range(10)]
    changed_mind = [("r0", "item1", 2.0), *ratings]  # the later rating (1.0) replaces it
    assert reviewer_agreement(changed_mind).alpha == pytest.approx(1.0)
