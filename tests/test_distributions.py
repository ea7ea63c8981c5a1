"""The tail functions the verdicts use, against scipy.special (the reference; the
digest does not load it)."""

from __future__ import annotations

import pytest
from scipy import special

from promptbot.verdicts.distributions import chi2_sf, normal_quantile, normal_sf, t_quantile

DFS = [1, 2, 3, 4, 5, 6, 7, 10, 11, 29, 30, 99, 1000, 4999, 140_000]


@pytest.mark.parametrize("df", DFS)
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995])
def test_t_quantile_is_scipys(df: int, p: float) -> None:
    assert t_quantile(df, p) == pytest.approx(float(special.stdtrit(df, p)), rel=1e-11)


@pytest.mark.parametrize("df", [*range(1, 31), 57, 120])
def test_chi2_tail_is_scipys(df: int) -> None:
    for x in [0.0, 1e-6, 0.3, 1.0, df - 0.5, float(df), df + 3.0, 2.0 * df + 10, 150.0]:
        expected = float(special.chdtrc(df, x))
        assert chi2_sf(df, x) == pytest.approx(expected, rel=1e-11, abs=1e-300)


def test_normal_tails_are_scipys() -> None:
    for z in [-8.0, -2.5, -1e-3, 0.0, 0.7, 1.959963984540054, 4.0, 12.0]:
        assert normal_sf(z) == pytest.approx(float(special.ndtr(-z)), rel=1e-13)
    assert normal_quantile(0.975) == pytest.approx(float(special.ndtri(0.975)), rel=1e-14)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        t_quantile(0, 0.975)
    with pytest.raises(ValueError):
        t_quantile(5, 0.4)
    with pytest.raises(ValueError):
        chi2_sf(0, 1.0)
