"""Position and length bias, tested per candidate within model and prompt version."""

from __future__ import annotations

import numpy as np

from promptbot.verdicts.bias import Candidates, length_bias, position_bias


def candidates(
    slot: list[int], value: list[float], stratum: list[int] | None = None,
    chars: list[int] | None = None, judgements: int = 1,
) -> Candidates:  # fmt: skip
    n = len(slot)
    return Candidates(
        np.asarray(slot, dtype=np.int64),
        np.asarray(chars if chars is not None else [500] * n, dtype=np.int64),
        np.asarray(stratum if stratum is not None else [0] * n, dtype=np.int64),
        np.asarray(value, dtype=np.float64),
        np.full(n, judgements, dtype=np.int64),
    )


def approvals(rng: np.random.Generator, rates: list[float], n: int) -> Candidates:
    """``n`` candidates in each slot, two models (strata), each candidate judged by 5."""
    slots, values, strata = [], [], []
    for slot, rate in enumerate(rates):
        for i in range(n):
            model = i % 2
            slots.append(slot)
            strata.append(model)
            values.append(float(rng.binomial(5, min(1.0, rate + 0.1 * model))) / 5)
    return candidates(slots, values, strata, judgements=5)


def test_strong_slot_a_advantage_is_flagged() -> None:
    result = position_bias(approvals(np.random.default_rng(0), [0.8, 0.5, 0.5], 60))
    assert result.matters
    assert result.p_value is not None and result.p_value < 0.001
    assert [s.label for s in result.slots] == ["A", "B", "C"]
    assert result.slots[0].n == 300 and result.slots[0].mean_score > 0.7
    assert "slot A" in result.plain_words and "matters" in result.plain_words


def test_uniform_slots_are_not_flagged() -> None:
    result = position_bias(approvals(np.random.default_rng(1), [0.6, 0.6, 0.6], 60))
    assert not result.matters
    assert result.plain_words.startswith("No meaningful position bias")


def test_position_bias_needs_data() -> None:
    result = position_bias(candidates([0, 1, 0], [1.0, 0.0, 1.0]))
    assert result.p_value is None and not result.matters
    assert result.plain_words.startswith("Not enough")
    identical = position_bias(candidates([0, 1] * 20, [1.0] * 40))
    assert identical.p_value == 1.0 and not identical.matters


def test_a_slot_seen_by_one_model_only_is_no_evidence() -> None:
    # Model 0 always in slot A, model 1 always in slot B: nothing compares slots within a
    # model, whatever the scores say.
    result = position_bias(candidates([0, 1] * 20, [0.9, 0.2] * 20, [0, 1] * 20))
    assert result.p_value == 1.0 and not result.matters


def test_false_alarms_stay_near_five_percent_under_no_effect() -> None:
    rng = np.random.default_rng(7)
    alarms = 0
    for _ in range(400):
        slot = np.concatenate([rng.permutation(2) for _ in range(30)])
        stratum = np.tile([0, 1], 30)
        value = rng.binomial(5, np.where(stratum == 0, 0.3, 0.7)) / 5
        found = position_bias(
            candidates(slot.tolist(), value.tolist(), stratum.tolist(), judgements=5)
        )
        alarms += found.p_value is not None and found.p_value < 0.05
    assert alarms / 400 < 0.075


def test_length_correlated_scores_are_flagged() -> None:
    rng = np.random.default_rng(2)
    lengths = rng.integers(100, 3000, 200)
    scores = np.clip(np.log(lengths) / 8 + rng.normal(0, 0.1, 200), 0, 1)
    result = length_bias(candidates([0] * 200, scores.tolist(), chars=lengths.tolist()))
    assert result.matters and result.r is not None and result.r > 0.5
    assert "longer answers score higher" in result.plain_words

    shuffled = rng.permutation(scores)
    unrelated = length_bias(candidates([0] * 200, shuffled.tolist(), chars=lengths.tolist()))
    assert not unrelated.matters
    assert unrelated.r is not None and abs(unrelated.r) < 0.2


def test_a_longer_stronger_model_is_not_length_bias() -> None:
    # The strong model writes longer answers; within each model, length changes nothing.
    rng = np.random.default_rng(4)
    model = np.repeat([0, 1], 100)
    chars = np.where(model == 1, 2000, 300) + rng.integers(0, 100, 200)
    value = np.where(model == 1, 0.8, 0.3) + rng.normal(0, 0.1, 200)
    result = length_bias(candidates([0] * 200, value.tolist(), model.tolist(), chars.tolist()))
    assert not result.matters
    assert result.r is not None and abs(result.r) < 0.2


def test_length_bias_needs_data_and_variation() -> None:
    few = length_bias(candidates([0, 0], [0.0, 1.0], chars=[100, 200]))
    assert few.r is None and few.n == 2 and few.plain_words.startswith("Not enough")
    constant = length_bias(candidates([0] * 19, [0.5] * 19, chars=list(range(100, 2000, 100))))
    assert constant.r is None and not constant.matters
