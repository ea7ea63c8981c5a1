"""Tables tabulated and resampled together, and the bootstrap's Newton stopping where
its quadratic convergence says the next step would not matter: each must give what the
per-table code (or choix) gives."""

from __future__ import annotations

import choix
import numpy as np
import pytest

from promptbot.verdicts import ilsr, resampling, win_records, win_tables
from promptbot.verdicts.bradley_terry import ComparisonSet


def ranked_threads(
    items: int, threads: int, seed: int, first_cluster: int = 0, taking_part: int | None = None
) -> ComparisonSet:
    """Reviewer-threads each ranking ``taking_part`` of ``items`` answers (ties where
    utilities round alike), clusters numbered from ``first_cluster`` with gaps."""
    rng = np.random.default_rng(seed)
    shown = taking_part or items
    rows: list[tuple[int, int, float, int]] = []
    for thread in range(threads):
        chosen = rng.choice(shown, size=min(shown, 4), replace=False)
        utility = np.round(chosen * 0.4 + rng.gumbel(size=len(chosen)), 0)
        for i in range(len(chosen)):
            for j in range(i + 1, len(chosen)):
                outcome = 0.5 if utility[i] == utility[j] else float(utility[i] > utility[j])
                rows.append((chosen[i], chosen[j], outcome, first_cluster + 3 * thread))
    a, b, outcome, cluster = (np.array(column) for column in zip(*rows, strict=True))
    names = tuple(f"m{i}" for i in range(items))[::-1]  # code order is not name order
    return ComparisonSet(names, a, b, outcome.astype(np.float32), cluster.astype(np.int32))


def the_same(x: win_tables.WinTable, y: win_tables.WinTable) -> bool:
    records = [
        (r.k, r.threads, r.pattern, r.cell, r.credit, r.shapes) for r in (x.records, y.records)
    ]
    fields = [
        (t.items, t.clusters, t.observed, t.lo, t.hi, t.n_comparisons, t.wins, t.ties)
        for t in (x, y)
    ]
    return all(
        np.array_equal(p, q) if isinstance(p, np.ndarray) else p == q
        for p, q in zip([*records[0], *fields[0]], [*records[1], *fields[1]], strict=True)
    )


SETS = [
    ranked_threads(8, 60, seed=1),
    ranked_threads(8, 25, seed=2, first_cluster=5000),
    ranked_threads(8, 40, seed=3, taking_part=5),  # five of eight items: a table of five
    ranked_threads(5, 30, seed=4),  # the same cluster codes as the table of five before it
    ranked_threads(8, 1, seed=5),
]


@pytest.mark.parametrize("batch", [1 << 18, 500])
def test_tables_tabulated_together_are_each_tabulated_alone(monkeypatch, batch) -> None:
    monkeypatch.setattr(win_tables, "_BATCH_COMPARISONS", batch)  # 500: some in batches of one
    together = win_tables.tabulate_all(SETS)
    assert [len(t.items) for t in together] == [8, 8, 5, 5, 4]
    assert together[2].items == ["m3", "m4", "m5", "m6", "m7"]
    for found, table in zip(SETS, together, strict=True):
        assert the_same(table, win_tables.tabulate(found))


def test_tables_tabulated_together_hold_the_per_thread_records() -> None:
    # Each table's records, expanded back to its threads, are its observed wins, and it
    # has one thread per cluster: none leaks into another table.
    for found, table in zip(SETS, win_tables.tabulate_all(SETS), strict=True):
        records = table.records
        k = records.k
        wins = np.zeros((records.patterns, k * k))
        np.add.at(wins, (records.pattern, records.cell), records.credit)
        real = records.shapes != win_records.PSEUDO_SHAPE
        observed = records.shapes[real] @ wins[real]
        assert observed.reshape(k, k) == pytest.approx(table.observed)
        assert records.shapes[real].sum() == table.clusters == len(np.unique(found.cluster))


def test_a_collision_in_one_table_keeps_only_that_tables_threads_apart(monkeypatch) -> None:
    sets = SETS[:2]
    honest = win_tables.tabulate_all(sets)
    # Fingerprints all 0 in one table only: threads with as many entries all collide.
    real = win_records._fingerprints

    def colliding(thread, cell, half, thread_table):  # type: ignore[no-untyped-def]
        vectors = win_records._hash_vectors
        monkeypatch.setattr(win_records, "_hash_vectors", lambda size: (np.zeros(size),) * 2)
        try:
            spoiled = real(thread, cell, half, thread_table)
        finally:
            monkeypatch.setattr(win_records, "_hash_vectors", vectors)
        return spoiled

    monkeypatch.setattr(win_records, "_fingerprints", colliding)
    collided = win_tables.tabulate_all(sets)
    alone = [win_tables.tabulate(found) for found in sets]
    for table, single, before in zip(collided, alone, honest, strict=True):
        assert the_same(table, single)
        kept = table.records.shapes != win_records.PSEUDO_SHAPE
        assert kept.sum() == table.clusters  # every thread its own pattern
        assert (before.records.shapes != win_records.PSEUDO_SHAPE).sum() < table.clusters
        assert np.array_equal(table.observed, before.observed)


def test_tables_resampled_together_draw_what_each_draws_alone() -> None:
    tables = [t.records for t in win_tables.tabulate_all(SETS)]
    rounds = 50
    stream = resampling.ExponentialStream(
        9,
        rounds,
        [t.patterns for t in tables],
        [int((t.shapes == win_records.PSEUDO_SHAPE).sum()) for t in tables],
    )
    assert all(resampling.dense(rounds, t) for t in tables)
    together = resampling.resampled_tables(tables, rounds, stream)
    for records, wins in zip(tables, together, strict=True):
        (alone,) = resampling.resampled_wins(records, rounds, 9)
        assert wins.shape == alone.shape == (rounds, records.k, records.k)
        np.testing.assert_allclose(wins, alone, rtol=1e-13, atol=1e-13)


def test_bootstrap_refits_stop_a_step_sooner_within_choix_tolerance(monkeypatch) -> None:
    # From the point fit, as the bootstrap starts: where Newton's rate says the next step
    # would move the strengths by less than the tolerance, that step is not taken.
    rng = np.random.default_rng(12)
    observed = rng.gamma(3.0, size=(6, 6)) * 20
    observed[np.arange(6), np.arange(6)] = 0.0
    point = ilsr.fit(observed)
    rounds = observed * rng.standard_exponential((200, 6, 6))
    steps = {}
    for settle in (True, False):
        counted = []
        step = ilsr.newton_step
        monkeypatch.setattr(
            ilsr,
            "newton_step",
            lambda w, m, p, step=step, counted=counted: counted.append(len(w)) or step(w, m, p),
        )
        fitted = ilsr.refit_stack(rounds, point, settle=settle)
        monkeypatch.setattr(ilsr, "newton_step", step)
        steps[settle] = sum(counted)
        for matrix, strengths in zip(rounds[:40], fitted, strict=False):
            exact = choix.ilsr_pairwise_dense(matrix, alpha=ilsr.ALPHA, tol=1e-13, max_iter=100_000)
            assert np.abs(strengths - exact).sum() <= ilsr._TOL * 6
    assert steps[False] <= steps[True] - 150  # most matrices spare their last step


def test_a_refit_newton_does_not_settle_is_not_stopped_early(monkeypatch) -> None:
    # A step cut short (far from the fixed point) converges linearly, not quadratically:
    # the rate estimate must not stop it before choix's tolerance is met.
    monkeypatch.setattr(ilsr, "_LONGEST_STEP", 0.05)
    rng = np.random.default_rng(3)
    wins = rng.gamma(2.0, size=(30, 5, 5)) * 10
    wins[:, np.arange(5), np.arange(5)] = 0.0
    fitted = ilsr.refit_stack(wins, np.zeros(5), settle=False)
    for matrix, strengths in zip(wins, fitted, strict=True):
        exact = choix.ilsr_pairwise_dense(matrix, alpha=ilsr.ALPHA, tol=1e-13, max_iter=100_000)
        assert np.abs(strengths - exact).sum() <= ilsr._TOL * 5


def test_only_a_quadratic_rate_stops_newton_early() -> None:
    tol = 1e-8
    before = np.array([1e-2, 1e-2, 4e-8, np.nan, 1e-2])
    change = np.array([1e-5, 5e-3, 2e-8, 1e-9, 1e-6])
    # 1e-5 after 1e-2: the next about 1e-11. Halving (a linear rate) is never trusted,
    # even where the estimate (2e-8 after 4e-8: 5e-9) is under the tolerance; nor is a
    # first step. 1e-6 after 1e-2: the next about 1e-14.
    assert ilsr.next_step_within(change, before, tol).tolist() == [True, False, False, False, True]
