"""The bootstrap's win records: reviewer-threads with the same record merged into one
pattern drawn as Gamma(m), which must be the per-thread Bayesian bootstrap exactly."""

from __future__ import annotations

import numpy as np
import pytest

from promptbot.verdicts import bradley_terry as bt
from promptbot.verdicts import ilsr, resampling, win_records
from promptbot.verdicts.bradley_terry import ComparisonSet, bradley_terry
from promptbot.verdicts.judgements import dense_inverse


def threads_ranking(items: int, threads: int, seed: int, inputs: int = 1) -> ComparisonSet:
    """Each reviewer-thread ranks ``items`` answers (true strengths 0, 0.4, …; Gumbel
    noise) for each of ``inputs`` inputs, ties when utilities round alike."""
    rng = np.random.default_rng(seed)
    strengths = np.arange(items) * 0.4
    rows: list[tuple[str, str, float, int]] = []
    for thread in range(threads):
        for _ in range(inputs):
            utility = np.round(strengths + rng.gumbel(size=items), 0)
            for i in range(items):
                for j in range(i + 1, items):
                    outcome = 0.5 if utility[i] == utility[j] else float(utility[i] > utility[j])
                    rows.append((f"i{i}", f"i{j}", outcome, thread))
    return ComparisonSet.of(rows)


def pattern_wins(records: win_records.WinRecords, patterns: np.ndarray) -> np.ndarray:
    """(patterns, k * k): each pattern's wins."""
    wins = np.zeros((records.patterns, records.k * records.k))
    np.add.at(wins, (records.pattern, records.cell), records.credit)
    return wins[patterns]


def records_of(found: ComparisonSet) -> tuple[win_records.WinRecords, int]:
    k = len(found.items)
    return win_records.win_records(
        found.a, found.b, found.outcome, dense_inverse(found.cluster), k
    ), k


@pytest.mark.parametrize("inputs", [1, 2])
def test_patterns_times_their_threads_are_the_observed_wins(inputs: int) -> None:
    found = threads_ranking(4, 300, seed=1, inputs=inputs)
    records, k = records_of(found)
    threads = records.threads
    observed = np.zeros(k * k)
    np.add.at(observed, found.a * k + found.b, found.outcome)
    np.add.at(observed, found.b * k + found.a, 1.0 - found.outcome)
    real = records.shapes != win_records.PSEUDO_SHAPE
    merged = records.shapes[real] @ pattern_wins(records, np.flatnonzero(real))
    assert merged == pytest.approx(observed)
    assert records.shapes[real].sum() == threads == 300
    # Four answers to one input: few distinct records (two inputs make more).
    assert real.sum() < (threads / 3 if inputs == 1 else threads)
    # Two pseudo-comparisons, one won by each side, for each of the 6 observed pairs.
    assert (~real).sum() == 12


def test_a_fingerprint_collision_never_merges_different_records(monkeypatch) -> None:
    found = threads_ranking(4, 200, seed=2)
    honest, _ = records_of(found)
    # Every thread with as many entries gets the same fingerprint: the entry-by-entry
    # check must refuse to merge them.
    monkeypatch.setattr(win_records, "_hash_vectors", lambda size: (np.zeros(size),) * 2)
    collided, _ = records_of(found)
    real = collided.shapes != win_records.PSEUDO_SHAPE
    assert real.sum() == collided.threads == 200 > (honest.shapes != win_records.PSEUDO_SHAPE).sum()
    observed = collided.shapes[real] @ pattern_wins(collided, np.flatnonzero(real))
    kept = honest.shapes != win_records.PSEUDO_SHAPE
    expected = honest.shapes[kept] @ pattern_wins(honest, np.flatnonzero(kept))
    assert observed == pytest.approx(expected)


def per_thread_bootstrap(found: ComparisonSet):
    """The bootstrap as it was before patterns: an Exp(1) weight per reviewer-thread and
    a Gamma(0.5) weight per pseudo-comparison, every thread's wins summed on its own."""

    def run(table, point, rounds, seed):
        k = len(table.items)
        index = {name: i for i, name in enumerate(table.items)}
        position = np.array([index[name] for name in found.items])
        a, b = position[found.a], position[found.b]
        thread = dense_inverse(found.cluster)
        threads = int(thread.max()) + 1
        per_thread = np.zeros((threads, k * k))
        np.add.at(per_thread, (thread, a * k + b), found.outcome)
        np.add.at(per_thread, (thread, b * k + a), 1.0 - found.outcome)
        pairs = len(table.lo)
        pseudo = np.zeros((2 * pairs, k * k))
        pseudo[np.arange(pairs), table.lo * k + table.hi] = 1.0
        pseudo[pairs + np.arange(pairs), table.hi * k + table.lo] = 1.0
        rng = np.random.default_rng(seed)
        wins = rng.standard_exponential((rounds, threads)) @ per_thread
        wins += rng.gamma(0.5, size=(rounds, 2 * pairs)) @ pseudo
        return ilsr.refit_stack(wins.reshape(rounds, k, k), point)

    def run_each(tables, points, rounds, seed):
        return [run(t, p, rounds, seed) for t, p in zip(tables, points, strict=True)]

    return run_each


@pytest.mark.parametrize("threads", [12, 400])
def test_merged_patterns_give_the_per_thread_bootstraps_intervals(monkeypatch, threads) -> None:
    found = threads_ranking(4, threads, seed=3)
    merged = bradley_terry(found, rounds=3000, seed=1)
    monkeypatch.setattr(bt, "_bootstrap", per_thread_bootstrap(found))
    reference = bradley_terry(found, rounds=3000, seed=2)
    for new, old in zip(merged.entries, reference.entries, strict=True):
        assert new.item == old.item and new.strength == pytest.approx(old.strength)
        width = old.high - old.low
        assert abs(new.low - old.low) < 0.08 * width
        assert abs(new.high - old.high) < 0.08 * width


def test_a_shared_stream_gives_each_table_the_draws_of_its_own_generator() -> None:
    # The Exp(1) draws every table's generator starts with, and the pseudo-comparisons'
    # weights, are drawn once for a digest's tables: each must still get exactly the
    # numbers its own generator would draw.
    sizes = [(3, 30, 1), (4, 80, 2), (5, 200, 3), (4, 80, 4), (4, 3000, 5)]
    tables = [records_of(threads_ranking(items, n, seed))[0] for items, n, seed in sizes]
    rounds = 40
    single = [t.patterns for t in tables if resampling.single_chunk(rounds, t.patterns)]
    pseudo = [int((t.shapes == win_records.PSEUDO_SHAPE).sum()) for t in tables]
    stream = resampling.ExponentialStream(7, rounds, single, pseudo)
    assert len(set(single)) >= 3
    for table in tables:
        alone = list(resampling.resampled_wins(table, rounds, 7))
        shared = list(resampling.resampled_wins(table, rounds, 7, stream))
        assert len(alone) == len(shared)
        assert all(np.array_equal(a, b) for a, b in zip(alone, shared, strict=True))


def test_the_pseudo_comparisons_weigh_gamma_one_half() -> None:
    # Drawn as Z²/2 for speed: the Jeffreys prior's Gamma(0.5) all the same.
    from scipy import stats

    drawn = resampling.jeffreys_weights(3, 400, 50).reshape(-1)
    assert stats.kstest(drawn, stats.gamma(0.5).cdf).pvalue > 0.01
    assert drawn.mean() == pytest.approx(0.5, abs=0.02)
    assert drawn.var() == pytest.approx(0.5, abs=0.05)
    stream = resampling.ExponentialStream(3, 400, [], [10, 50])
    assert np.array_equal(stream.jeffreys(10), resampling.jeffreys_weights(3, 400, 10))
    with pytest.raises(ValueError, match="50 pseudo"):
        stream.jeffreys(51)
