"""Standing intervals: Wilson for shares, the same footing for stars; Rank (UB)."""

from __future__ import annotations

import pytest

from promptbot.verdicts.intervals import rank_ub, wilson_interval


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


def test_rank_ub_on_hand_made_intervals() -> None:
    intervals = [(2.0, 4.0), (1.0, 3.0), (0.0, 0.5), (-1.0, 0.8), (-3.0, -2.5)]
    # Nobody is surely above A or B; A and B are surely above C and D; all four above E.
    assert rank_ub(intervals) == [1, 1, 3, 3, 5]
    assert rank_ub([(1.0, 2.0), (0.0, 1.0)]) == [1, 1]  # touching intervals overlap
    assert rank_ub(intervals, groups=[0, 0, 0, 1, 1]) == [1, 1, 3, 1, 2]
    assert rank_ub([]) == []
