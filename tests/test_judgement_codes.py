"""The integer coding the digest builds its tables with agrees with numpy's sorting
``np.unique``, whichever way it takes (a lookup table for a narrow range, a sort for a
wide one)."""

from __future__ import annotations

import numpy as np
import pytest

from promptbot.verdicts.judgements import dense_codes, dense_unique, distinct


@pytest.mark.parametrize("spread", [10, 5_000, 70_000, 10**12])
def test_dense_unique_is_np_unique_with_its_inverse(spread: int) -> None:
    rng = np.random.default_rng(spread)
    values = rng.integers(-spread, spread, 20_000)
    unique, inverse = dense_unique(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    assert unique.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.tolist()
    assert inverse.dtype == np.int64


def test_dense_unique_of_nothing() -> None:
    unique, inverse = dense_unique(np.zeros(0, dtype=np.int64))
    assert len(unique) == len(inverse) == 0


def test_distinct_is_the_sorted_set_of_values() -> None:
    values = np.array([7, 3, 3, 0, 7, 12])
    assert distinct(values, 13).tolist() == [0, 3, 7, 12]
    assert distinct(np.zeros(0, dtype=np.int64), 4).tolist() == []


def test_dense_codes_number_distinct_rows_in_sorted_order() -> None:
    first = np.array([2, 1, 2, 1, 2])
    second = np.array([5, 9, 5, 3, 4])
    # Rows (1, 3) < (1, 9) < (2, 4) < (2, 5).
    assert dense_codes(first, second).tolist() == [3, 1, 3, 0, 2]
