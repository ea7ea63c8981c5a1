"""Krippendorff's alpha over shared items (matches the krippendorff package)."""

from __future__ import annotations

import numpy as np
import pytest

from promptbot.verdicts.agreement import alpha_from_counts, reviewer_agreement


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


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_from_counts_is_the_krippendorff_packages(level, seed) -> None:
    # The digest computes alpha without the package's items × values × values array;
    # the package is the reference, on uneven value counts and an uneven domain.
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(seed)
    domain = np.sort(rng.choice(np.arange(0.0, 10.0, 0.5), size=5, replace=False))
    counts = rng.integers(0, 4, size=(60, 5)).astype(np.float64)
    counts[rng.random(60) < 0.3] = 0.0  # items nobody rated twice
    counts[::7, 0] += 3  # and a lean towards the lowest value
    expected = krippendorff.alpha(
        value_counts=counts, value_domain=domain.tolist(), level_of_measurement=level
    )
    assert alpha_from_counts(counts, domain, level) == pytest.approx(expected, rel=1e-12)


def test_agreement_of_ratings_is_the_krippendorff_packages() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(9)
    truth = rng.integers(1, 6, size=40)
    data = np.where(
        rng.random((6, 40)) < 0.6, np.clip(truth + rng.integers(-1, 2, (6, 40)), 1, 5), np.nan
    )
    coders, units = np.nonzero(~np.isnan(data))
    ratings = [(f"r{r}", f"i{i}", float(data[r, i])) for r, i in zip(coders, units, strict=True)]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert reviewer_agreement(ratings).alpha == pytest.approx(expected, rel=1e-12)
