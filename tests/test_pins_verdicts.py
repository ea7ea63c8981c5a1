"""Behaviour `make mutate` found unpinned (issue 16): the verdict statistics' edges."""

from __future__ import annotations

import math

import pytest

from promptbot.verdicts.bradley_terry import (
    BTEntry,
    BTResult,
    ComparisonSet,
    bradley_terry,
    separable,
)
from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.intervals import rank_ub, wilson_interval
from promptbot.verdicts.version_standings import share_standing

# -- the verdict statistics ------------------------------------------------------------


def test_a_standing_from_exactly_two_scores():
    # Wilson's interval for 1 of 2 (z = 1.96): centre 0.5, half-width 0.4055.
    low, high = wilson_interval(1, 2)
    assert low == pytest.approx(0.0945, abs=5e-4) and high == pytest.approx(0.9055, abs=5e-4)
    stars = ScaleInfo("stars", 1.0, 5.0, False)
    standing = share_standing("stars", 0.5 + 1.0, 2, stars)  # a 3-star and a 5-star
    assert standing.value == pytest.approx(4.0)
    assert standing.low == pytest.approx(1.0 + 4 * wilson_interval(1.5, 2)[0])
    assert standing.high == pytest.approx(1.0 + 4 * wilson_interval(1.5, 2)[1])
    assert standing.low < 2.0 and standing.high > 4.8  # two votes prove little
    shares = share_standing("approval", 1.0, 2, None)
    assert (shares.value, shares.low, shares.high) == (0.5, low, high)


def _bt_entry(item, low, high):
    return BTEntry(item, (low + high) / 2, low, high, 1, 10, 5, 0)


def test_a_result_with_one_item_declares_no_winner():
    alone = BTResult(entries=(_bt_entry("a", 1.0, 2.0),), not_separable=(), rounds=1, seed=0)
    assert alone.winner is None
    pair = BTResult(
        entries=(_bt_entry("a", 1.0, 2.0), _bt_entry("b", -1.0, 0.5)),
        not_separable=(),
        rounds=1,
        seed=0,
    )
    assert pair.winner == "a"


def test_intervals_that_just_touch_are_not_separable():
    assert not separable(_bt_entry("a", 1.0, 2.0), _bt_entry("b", 0.0, 1.0))
    assert rank_ub([(1.0, 2.0), (0.0, 1.0)]) == [1, 1]


def _bt(rows):
    return bradley_terry(ComparisonSet.of(rows), rounds=300, seed=3)


def test_the_pseudo_counts_keep_a_clean_sweep_honest():
    # Three wins in three threads: no zero-width interval, no winner yet.
    sweep = _bt([("a", "b", 1.0)] * 3)
    for entry in sweep.entries:
        assert math.isfinite(entry.low) and math.isfinite(entry.high)
        assert entry.high - entry.low > 0.5
    assert sweep.winner is None and sweep.not_separable == (("a", "b"),)
    # Sixty wins in sixty threads: the pseudo-counts barely matter, "a" is ahead.
    big = _bt([("a", "b", 1.0)] * 60)
    assert big.winner == "a" and big.not_separable == ()
    assert big.entries[0].low > big.entries[1].high
    # More data, narrower intervals.
    assert big.entries[0].high - big.entries[0].low < sweep.entries[0].high - sweep.entries[0].low


@pytest.mark.parametrize(("successes", "n"), [(3, 2), (-0.5, 2), (1, -1)])
def test_impossible_counts_are_refused(successes, n):
    with pytest.raises(ValueError, match="need 0 <= successes <= n"):
        wilson_interval(successes, n)


def test_length_bias_says_what_it_could_not_measure_and_counts_the_ratings():
    from promptbot.verdicts.bias import length_bias
    from tests.test_bias import candidates

    same_length = length_bias(candidates([0] * 12, [0.0, 1.0] * 6, judgements=2))
    assert same_length.plain_words == (
        "No length bias can be measured: within each model and prompt version every"
        " length or every score is the same (n = 24)."
    )
    varied = length_bias(
        candidates([0] * 12, [0.0, 1.0] * 6, chars=[100 + 37 * i for i in range(12)])
    )
    assert varied.n == 12 and varied.r is not None


def test_position_bias_on_pairs_is_mcnemars_test():
    """Ten prompt versions × models, each rated on exactly two answers, one per slot; the
    first slot wins eight. With two answers a stratum's variance has one degree of freedom,
    and the stratified test is McNemar's: (8 - 2)² / (8 + 2) = 3.6, p = 0.058, so no bias
    is declared on this evidence."""
    from promptbot.verdicts.bias import position_bias
    from tests.test_bias import candidates

    firsts = [1.0] * 8 + [0.0] * 2
    slots, values, strata = [], [], []
    for stratum, first in enumerate(firsts):
        slots += [0, 1]
        values += [first, 1.0 - first]
        strata += [stratum, stratum]
    bias = position_bias(candidates(slots, values, strata))
    assert bias.p_value == pytest.approx(math.erfc(math.sqrt(3.6 / 2)))
    assert bias.p_value == pytest.approx(0.0578, abs=1e-4)
    assert not bias.matters
    assert "p = 0.058" in bias.plain_words
    with pytest.raises(ValueError, match="display slots start at 0"):
        position_bias(candidates([-1, 0], [1.0, 0.0], [0, 0]))


def test_length_bias_without_a_measure_says_so_and_counts_the_ratings():
    from promptbot.verdicts.bias import length_bias
    from tests.test_bias import candidates

    few = length_bias(candidates([0] * 3, [0.0, 1.0, 1.0], judgements=3))
    assert (few.n, few.matters, few.r) == (9, False, None)
    flat = length_bias(candidates([0] * 12, [0.0, 1.0] * 6, judgements=2))
    assert (flat.n, flat.matters, flat.r) == (24, False, None)
    # scores that differ only a little still differ: the correlation is measured
    small = length_bias(
        candidates([0] * 12, [0.5, 0.6] * 6, chars=[100 + 37 * i for i in range(12)])
    )
    assert small.r is not None and small.n == 12


def test_items_joined_by_a_chain_of_comparisons_are_one_group():
    import numpy as np

    from promptbot.verdicts.intervals import components

    # 0-1 and 1-2 chain three items together; 3-4 are a group of their own; 5 is alone
    lo, hi = np.array([0, 1, 3]), np.array([1, 2, 4])
    assert components(6, lo, hi).tolist() == [0, 0, 0, 3, 3, 5]


def test_a_fit_gives_each_entry_its_rank_bound():
    rows = [("a", "b", 1.0)] * 30 + [("b", "c", 1.0)] * 30 + [("a", "c", 1.0)] * 30
    ranks = {e.item: e.rank_ub for e in _bt(rows).entries}
    assert ranks == {"a": 1, "b": 2, "c": 3}


def test_comparison_sets_are_the_same_only_with_the_same_outcomes():
    # (winner side, loser side, outcome, thread): the same comparisons in another order
    one = ComparisonSet.of([("a", "b", 1.0, 1), ("a", "b", 0.5, 2), ("b", "c", 0.0, 3)])
    reordered = ComparisonSet.of([("b", "c", 0.0, 3), ("a", "b", 0.5, 2), ("a", "b", 1.0, 1)])
    assert one.fingerprint() == reordered.fingerprint()
    won = ComparisonSet.of([("a", "b", 1.0, 1), ("b", "c", 1.0, 2)])
    lost = ComparisonSet.of([("a", "b", 0.0, 1), ("b", "c", 0.0, 2)])
    tied = ComparisonSet.of([("a", "b", 0.5, 1), ("b", "c", 0.5, 2)])
    assert len({won.fingerprint(), lost.fingerprint(), tied.fingerprint()}) == 3


def test_slots_past_z_are_numbered():
    """Blind labels run A…Z; a run with more candidates names the rest by number, never
    by the characters that follow Z."""
    from promptbot.verdicts.bias import slot_label

    assert [slot_label(s) for s in (0, 25, 26, 40)] == ["A", "Z", "#27", "#41"]
