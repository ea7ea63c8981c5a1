"""Krippendorff's alpha over shared items (matches the krippendorff package)."""

from __future__ import annotations

import numpy as np
import pytest

from promptbot.verdicts.agreement import reviewer_agreement


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
