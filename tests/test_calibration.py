"""The judge's calibration against the team: κ and α checked against the libraries' own
results on known tables, the bootstrap, the vote threshold and the pairs."""

import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from promptbot.verdicts.calibration import (
    JudgedCandidate,
    JudgedPairRow,
    calibrate,
    median_stars,
    team_label,
)
from promptbot.verdicts.kappa import (
    JUDGE_LABELS,
    bootstrap_kappa,
    cohen_kappa,
    kappa_from_tables,
)


def candidate(cid, approval, human, *, stars=None, human_stars=(), prompt="greet"):
    return JudgedCandidate(cid, 1, prompt, 0, approval, stars, list(human), list(human_stars))


def from_table(table):
    """Candidates whose (judge, team) labels fill a 2×2 table [[yes,yes],[yes,no]],
    [[no,yes],[no,no]] with three votes each."""
    rows = []
    for (judge, team), n in table.items():
        for _ in range(n):
            human = [1, 1, 0] if team == "yes" else [0, 0, 1]
            rows.append(candidate(len(rows) + 1, 1.0 if judge == "yes" else 0.0, human))
    return rows


def test_kappa_on_a_textbook_table_matches_scikit_learn():
    # po = 35/50 = 0.7, pe = (25·30 + 25·20)/50² = 0.5, so κ = 0.4.
    table = {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    result = calibrate(from_table(table), [], prompt=None, min_votes=3, trust_kappa=0.6)
    judge = [j for (j, _), n in table.items() for _ in range(n)]
    team = [t for (_, t), n in table.items() for _ in range(n)]
    assert result.kappa == pytest.approx(0.4)
    assert result.kappa == pytest.approx(cohen_kappa_score(judge, team))
    assert result.candidates == 50
    assert result.confusion == table
    assert result.low is not None and result.high is not None
    assert result.low < 0.4 < result.high
    assert not result.trusted  # its interval reaches well below 0.6


def test_the_vectorised_bootstrap_is_scikit_learns_kappa_on_each_resample():
    rng = np.random.default_rng(7)
    judge = rng.choice(["yes", "no", "unsure"], size=60)
    team = np.where(rng.random(60) < 0.7, judge, rng.choice(["yes", "no"], size=60))
    team = np.where(team == "unsure", "no", team)
    labels = ["yes", "no", "unsure"]
    for _ in range(20):
        pick = rng.integers(0, 60, size=60)
        j, t = judge[pick], team[pick]
        table = np.zeros((3, 3))
        for a, b in zip(j, t, strict=True):
            table[labels.index(a), labels.index(b)] += 1
        (ours,) = kappa_from_tables(table[None])
        assert ours == pytest.approx(cohen_kappa_score(j, t, labels=labels))
    assert cohen_kappa(list(judge), list(team)) == pytest.approx(
        cohen_kappa_score(judge, team, labels=labels)
    )


def test_the_interval_is_seeded_and_brackets_the_estimate():
    judge = ["yes"] * 30 + ["no"] * 30
    team = ["yes"] * 25 + ["no"] * 5 + ["no"] * 22 + ["yes"] * 8
    first = bootstrap_kappa(judge, team, 500, seed=3)
    assert first == bootstrap_kappa(judge, team, 500, seed=3)
    assert first != bootstrap_kappa(judge, team, 500, seed=4)
    point = cohen_kappa(judge, team)
    assert first is not None and first[0] < point < first[1]


def test_stars_weighted_kappa_and_ordinal_alpha_match_the_libraries():
    judge_stars = [5, 4, 4, 2, 1, 3, 5, 2, 3, 4]
    team_votes = [[5, 5, 4], [4, 3, 4], [5, 4, 4], [2, 1, 2], [1, 2, 1], [2, 3, 4], [4, 4, 5]]
    team_votes += [[3, 3, 2], [3, 3, 3], [5, 4, 3]]
    rows = [
        candidate(i, 1.0, [1, 1, 1], stars=s, human_stars=v)
        for i, (s, v) in enumerate(zip(judge_stars, team_votes, strict=True))
    ]
    result = calibrate(rows, [], prompt=None, min_votes=3, trust_kappa=0.6)
    team = [median_stars(v) for v in team_votes]
    assert result.stars_candidates == 10
    assert result.stars_kappa == pytest.approx(
        cohen_kappa_score(judge_stars, team, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )
    assert result.stars_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=[judge_stars, team], level_of_measurement="ordinal")
    )
    assert 0.5 < result.stars_alpha <= 1


def test_only_candidates_with_enough_votes_and_a_majority_count():
    rows = [
        candidate(1, 1.0, [1, 1, 1]),
        candidate(2, 0.0, [0, 0, 0]),
        candidate(3, 1.0, [1, 1]),  # two votes: too few
        candidate(4, 1.0, [1, 0, 1, 0]),  # an even split: no majority
        candidate(5, 0.0, [1, 1, 0], prompt="other"),
    ]
    greet = calibrate(rows, [], prompt="greet", min_votes=3, trust_kappa=0.6)
    assert greet.candidates == 2 and greet.kappa == pytest.approx(1.0)
    overall = calibrate(rows, [], prompt=None, min_votes=3, trust_kappa=0.6)
    assert overall.candidates == 3
    assert overall.confusion == {("yes", "yes"): 1, ("no", "no"): 1, ("no", "yes"): 1}
    nobody = calibrate(rows, [], prompt="missing", min_votes=3, trust_kappa=0.6)
    assert (nobody.kappa, nobody.low, nobody.trusted) == (None, None, False)


def test_an_unsure_judge_does_not_agree():
    assert team_label([0, 1], 0, 1) is None
    rows = [candidate(i, 0.5, [1, 1, 1]) for i in range(5)]
    rows += [candidate(10 + i, 0.0, [0, 0, 0]) for i in range(5)]
    result = calibrate(rows, [], prompt=None, min_votes=3, trust_kappa=0.6)
    assert result.confusion == {("unsure", "yes"): 5, ("no", "no"): 5}
    assert result.kappa is not None and result.kappa < 1


def test_a_judge_that_agrees_earns_trust_and_a_coin_does_not():
    chooser = random.Random(1)
    truth = [chooser.random() < 0.5 for _ in range(80)]

    def votes(yes):
        return [1, 1, 0] if yes else [0, 0, 1]

    agreeing = [candidate(i, float(t), votes(t)) for i, t in enumerate(truth)]
    coin = [candidate(i, float(chooser.random() < 0.5), votes(t)) for i, t in enumerate(truth)]
    good = calibrate(agreeing, [], prompt=None, min_votes=3, trust_kappa=0.6)
    bad = calibrate(coin, [], prompt=None, min_votes=3, trust_kappa=0.6)
    assert good.trusted and good.low == pytest.approx(1.0)
    assert not bad.trusted and bad.low is not None and bad.low < 0.6


def test_pairs_agreement_from_compare_votes_and_from_approval():
    rows = [candidate(1, 1.0, [1, 1, 1]), candidate(2, 0.0, [0, 0, 1])]
    pairs = [
        # No compare votes: the team approved 1 more than 2; the judge agrees.
        JudgedPairRow("greet", 1, 1, 2, "first", True, []),
        # Compare votes, two for second: the judge said first.
        JudgedPairRow("greet", 2, 3, 4, "first", True, ["second", "second", "first"]),
        # Too few votes and no approval: no team outcome.
        JudgedPairRow("greet", 3, 5, 6, "tie", False, ["first"]),
        # Votes split evenly: a tie, which the judge's swap-tie matches.
        JudgedPairRow("greet", 4, 7, 8, "tie", False, ["first", "second", "tie"]),
    ]
    result = calibrate(rows, pairs, prompt=None, min_votes=3, trust_kappa=0.6)
    assert (result.pair_outcomes, result.pair_agreement) == (3, pytest.approx(2 / 3))
    assert result.pairs_judged == 4 and result.position_consistency == 0.5


def test_median_stars_round_halves_up():
    assert [median_stars(v) for v in ([1, 2], [3, 4, 5], [2, 3, 4, 5], [5])] == [2, 4, 4, 5]


# -- our κ against scikit-learn's, the reference it replaces on the digest path ------


def test_weighted_kappa_on_a_textbook_table_matches_scikit_learn():
    # Judge's stars against the team's, 3 labels: linear and quadratic weights differ.
    judge = [1] * 10 + [1] * 4 + [2] * 3 + [2] * 12 + [3] * 1 + [3] * 2 + [3] * 9 + [1] * 2
    team = [1] * 10 + [2] * 4 + [1] * 3 + [2] * 12 + [1] * 1 + [2] * 2 + [3] * 9 + [3] * 2
    for weights in (None, "linear", "quadratic"):
        ours = cohen_kappa(judge, team, weights)
        assert ours == pytest.approx(cohen_kappa_score(judge, team, weights=weights))
    # Quadratic weights forgive the near misses more than plain κ here.
    assert cohen_kappa(judge, team, "quadratic") > cohen_kappa(judge, team)


@pytest.mark.parametrize("seed", range(12))
def test_kappa_on_random_tables_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 120))
    truth = rng.integers(1, 6, size=n)
    noise = rng.integers(-2, 3, size=n) * (rng.random(n) < rng.random())
    judge = [int(v) for v in np.clip(truth + noise, 1, 5)]
    team = [int(v) for v in truth]
    full = [1, 2, 3, 4, 5]  # the whole scale: weights are distances between stars
    for weights in (None, "linear", "quadratic"):
        expected = cohen_kappa_score(judge, team, weights=weights, labels=full)
        assert cohen_kappa(judge, team, weights) == pytest.approx(expected)
    words = rng.choice(list(JUDGE_LABELS), size=n)
    said = np.where(rng.random(n) < 0.6, words, rng.choice(["yes", "no"], size=n))
    assert cohen_kappa(list(words), list(said)) == pytest.approx(
        cohen_kappa_score(words, said, labels=list(JUDGE_LABELS))
    )


def test_weights_are_distances_between_stars_not_places_in_the_list():
    # Only 1, 2 and 5 used: 2 against 5 is three stars apart, not one place.
    judge, team = [1, 2, 5, 2, 5, 1], [1, 5, 2, 2, 5, 2]
    expected = cohen_kappa_score(judge, team, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert cohen_kappa(judge, team, "quadratic") == pytest.approx(expected)
    by_place = cohen_kappa_score(judge, team, weights="quadratic")
    assert expected != pytest.approx(by_place)


def test_kappa_is_undefined_with_one_label_and_a_table_of_one_label_a_side():
    assert math.isnan(cohen_kappa(["yes", "yes"], ["yes", "yes"]))
    # Judge always yes, team always no: chance predicts every cell off the diagonal.
    (plain,) = kappa_from_tables(np.array([[[0.0, 4.0], [0.0, 0.0]]]))
    assert plain == pytest.approx(cohen_kappa_score(["yes"] * 4, ["no"] * 4))
    (none,) = kappa_from_tables(np.array([[[4.0, 0.0], [0.0, 0.0]]]))
    assert math.isnan(none)
