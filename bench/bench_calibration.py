"""Are the verdicts honest? The project's own verdict code on simulated truths.

Each simulated data set is a set of review threads: every thread shows the same M models
(one prompt version, one input) in shuffled slots, and each of its 4 reviewers ranks the
answers by a Gumbel-noise utility, so P(i beats j) is exactly the logistic of the true
strength gap (Bradley-Terry). Ties merge neighbouring answers at random (tuned so 20% of
pairs tie). Scores are written on a 0..10 scale ("one scale"), or on that scale plus an
approval emoji given when the utility beats the reviewer's own threshold ("both
scales"). Longer answers come from stronger models, so length and quality are confounded;
slot and length effects, when present, add to the utility.

The rows go through the digest's own path: judgements_from_rows → head_to_head →
rank (Bradley-Terry, cluster bootstrap, 200 rounds) and bias_checks. The truth a data set
is scored against is the Bradley-Terry fit of 40,000 reviewer-threads from the same
generator (with ties, that is what the strengths estimate).

Figures (targets from issue 10):
  coverage of the true strengths .............. 0.93-0.97
  false "separable" among equal entries (pair) . <= 5%
  wrong-direction winners (pair) .............. <= 0.5%
  position / length false alarms, no effect ... <= 6%
  power under the stated effects .............. >= 80%

Run: .venv/bin/python bench/bench_calibration.py [--sets N]   (about 2-3 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptbot.verdicts import bradley_terry as bt
from promptbot.verdicts import ilsr
from promptbot.verdicts.evidence import RatingRow, ScaleInfo
from promptbot.verdicts.head_to_head import head_to_head, rank
from promptbot.verdicts.judgements import judgements_from_rows
from promptbot.verdicts.rankings import bias_checks

REVIEWERS_PER_THREAD = 4
ROUNDS = 200
SCORE = ScaleInfo("score", 0.0, 10.0, False)
APPROVAL = ScaleInfo("approval", 0.0, 1.0, True)
SLOT_EFFECT = 0.6  # utility added in slot A, when present (about +0.15 on the win rate)
LENGTH_EFFECT = 0.6  # utility per standard deviation of log length, when present
T0 = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Setting:
    m: int
    reviewer_threads: int
    ties: float
    both_scales: bool
    effects: bool
    equal: bool  # every model equally strong

    @property
    def threads(self) -> int:
        return self.reviewer_threads // REVIEWERS_PER_THREAD

    def strengths(self) -> np.ndarray:
        if self.equal:
            return np.zeros(self.m)
        return np.linspace(-0.6, 0.6, self.m)


def merge_probability(m: int, tied_share: float) -> float:
    """The chance each gap between neighbouring ranks closes, so that ``tied_share`` of
    all pairs tie (a pair d ranks apart ties when all d gaps close)."""
    if tied_share <= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(50):
        q = (lo + hi) / 2
        share = sum((m - d) * q**d for d in range(1, m)) / (m * (m - 1) / 2)
        lo, hi = (q, hi) if share < tied_share else (lo, q)
    return (lo + hi) / 2


def draw(setting: Setting, threads: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Utilities and tie blocks for ``threads`` threads × reviewers × M answers."""
    m, r = setting.m, REVIEWERS_PER_THREAD
    strength = setting.strengths()
    slots = np.argsort(rng.random((threads, m)), axis=1)  # slot of each model, per thread
    log_len = 0.5 * strength[None, :] + rng.normal(0, 0.5, (threads, m))  # confounded
    z_len = (log_len - log_len.mean()) / (log_len.std() or 1.0)
    base = strength[None, :] + (
        setting.effects * (SLOT_EFFECT * (slots == 0) + LENGTH_EFFECT * z_len)
    )
    utility = base[:, None, :] + rng.gumbel(size=(threads, r, m))
    order = np.argsort(-utility, axis=2)
    close = rng.random((threads, r, m - 1)) < merge_probability(m, setting.ties)
    block_of_rank = np.concatenate(
        [np.zeros((threads, r, 1), dtype=int), np.cumsum(~close, axis=2)], axis=2
    )
    block = np.empty_like(order)
    np.put_along_axis(block, order, block_of_rank, axis=2)
    threshold = rng.normal(0.5, 1.0, (threads, r, 1))
    best_in_block = np.full((threads, r, m), -np.inf)
    for b in range(m):
        mask = block == b
        top = np.where(mask, utility, -np.inf).max(axis=2, keepdims=True)
        best_in_block = np.where(mask, top, best_in_block)
    return {
        "slots": slots,
        "chars": np.exp(6 + log_len).astype(int),
        "block": block,
        "approve": best_in_block > threshold,
    }


def rows_of(setting: Setting, drawn: dict[str, np.ndarray]) -> list[RatingRow]:
    rows = []
    threads, r, m = drawn["block"].shape
    for t in range(threads):
        for reviewer in range(r):
            for model in range(m):
                candidate = t * m + model
                common = (
                    candidate, t + 1, "p", 1, f"model{model}",
                    int(drawn["slots"][t, model]), 0, int(drawn["chars"][t, model]),
                    f"U{t}-{reviewer}",
                )  # fmt: skip
                at = T0 + timedelta(minutes=t)
                score = 10.0 - 2.0 * float(drawn["block"][t, reviewer, model])
                rows.append(RatingRow(*common, "score", score, False, at))
                if setting.both_scales:
                    approve = float(drawn["approve"][t, reviewer, model])
                    rows.append(RatingRow(*common, "approval", approve, False, at))
    return rows


def truth(setting: Setting, rng: np.random.Generator) -> np.ndarray:
    """Population Bradley-Terry strengths: the fit to 40,000 reviewer-threads' pairs."""
    drawn = draw(setting, 40_000 // REVIEWERS_PER_THREAD, rng)
    block = drawn["block"].reshape(-1, setting.m)
    wins = np.zeros((setting.m, setting.m))
    for i in range(setting.m):
        for j in range(setting.m):
            if i != j:
                wins[i, j] = (block[:, i] < block[:, j]).sum() + 0.5 * (
                    block[:, i] == block[:, j]
                ).sum()
    strengths: np.ndarray = ilsr.fit(wins)
    return strengths


@dataclass
class Tally:
    """Counts over data sets (effects off/on: the slot and length effects are shared by
    the 4 reviewers of a thread, which reviewer-thread resampling does not see)."""

    covered: int = 0
    entries: int = 0
    equal_pairs: int = 0
    equal_separable: int = 0
    unequal_pairs: int = 0
    wrong: int = 0
    position_alarms: int = 0
    length_alarms: int = 0
    sets: int = 0
    tied: float = 0.0


def one_set(setting: Setting, true: np.ndarray, seed: int, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    rows = rows_of(setting, draw(setting, setting.threads, rng))
    scales = [SCORE, APPROVAL] if setting.both_scales else [SCORE]
    table = judgements_from_rows(rows, scales)
    found = head_to_head(table, set()).models
    tally.tied += float((found.outcome == 0.5).mean())
    ranking = rank("models", None, found, min_votes=5, rounds=ROUNDS, seed=seed)
    entries = {e.item: e for e in ranking.result.entries}
    for model in range(setting.m):
        e = entries.get(f"model{model}")
        tally.entries += 1
        tally.covered += e is not None and e.low <= true[model] <= e.high
    for i in range(setting.m):
        for j in range(i + 1, setting.m):
            a, b = entries.get(f"model{i}"), entries.get(f"model{j}")
            separable = a is not None and b is not None and bt.separable(a, b)
            if setting.equal:
                tally.equal_pairs += 1
                tally.equal_separable += separable
            else:
                tally.unequal_pairs += 1
                # model j is truly stronger (strengths increase with the index)
                tally.wrong += separable and a is not None and b is not None and a.low > b.high
    biases = bias_checks(table, scales)
    tally.position_alarms += biases.position.matters
    tally.length_alarms += biases.length.matters
    tally.sets += 1


def power_at_slot_effect(ratings: int, effect: float, sets: int, seed: int) -> tuple[float, float]:
    """Approval only, 2 models (approval 0.4 and 0.6) in shuffled slots, 5 reviewers a
    thread: the share of data sets where position bias is reported, with slot A's
    approval raised by ``effect``; and the false-alarm rate with no effect."""
    rng = np.random.default_rng(seed)
    threads = ratings // 10
    fired = {effect: 0, 0.0: 0}
    for size in fired:
        for _ in range(sets):
            rows = []
            for t in range(threads):
                slot_of = rng.permutation(2)
                for model, base in enumerate((0.4, 0.6)):
                    p = base + size * (slot_of[model] == 0)
                    for reviewer in range(5):
                        vote = float(rng.random() < p)
                        rows.append(
                            RatingRow(
                                t * 2 + model,
                                t,
                                "p",
                                1,
                                f"model{model}",
                                int(slot_of[model]),
                                0,
                                500,
                                f"U{reviewer}",
                                "approval",
                                vote,
                                False,
                                T0,
                            )
                        )
            table = judgements_from_rows(rows, [APPROVAL])
            fired[size] += bias_checks(table, [APPROVAL]).position.matters
    return fired[effect] / sets, fired[0.0] / sets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", type=int, default=80, help="data sets per setting")
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"{args.sets} data sets per setting, {ROUNDS} bootstrap rounds,"
        f" {REVIEWERS_PER_THREAD} reviewers a thread"
    )
    header = (
        f"{'M':>2} {'rev-thr':>7} {'ties':>5} {'scales':>6} | effects off: {'cover':>5}"
        f" {'eq.sep':>6} {'wrong':>6} {'pos.FA':>6} {'len.FA':>6} | effects on: {'cover':>5}"
        f" {'eq.sep':>6} {'wrong':>6} {'pos.pow':>7} {'len.pow':>7}"
    )
    print(header)
    print("-" * len(header))
    totals = {effects: Tally() for effects in (False, True)}
    seed = 1
    for m in (2, 3, 4, 6):
        for size in (20, 80):
            for ties in (0.0, 0.2):
                for both in (False, True):
                    cells = []
                    for effects in (False, True):
                        tally = Tally()
                        for equal in (False, True):
                            setting = Setting(m, size, ties, both, effects, equal)
                            true = truth(setting, np.random.default_rng(10_000 + seed))
                            for _ in range(args.sets // 2):
                                seed += 1
                                one_set(setting, true, seed, tally)
                        total = totals[effects]
                        for name in vars(tally):
                            setattr(total, name, getattr(total, name) + getattr(tally, name))
                        cells.append(
                            f"{tally.covered / tally.entries:>5.3f}"
                            f" {tally.equal_separable / max(1, tally.equal_pairs):>6.1%}"
                            f" {tally.wrong / max(1, tally.unequal_pairs):>6.2%}"
                            f" {tally.position_alarms / tally.sets:>6.1%}"
                            f" {tally.length_alarms / tally.sets:>6.1%}"
                        )
                    print(
                        f"{m:>2} {size:>7} {ties:>5.0%} {'both' if both else 'one':>6} |"
                        f"              {cells[0]} |             {cells[1]}"
                    )
    off, on = totals[False], totals[True]
    print()
    print("figure                                          effects off  effects on  target")

    def row(name: str, a: float, b: float, target: str, fmt: str = ".1%") -> None:
        print(f"{name:<48}{a:>11{fmt}}{b:>12{fmt}}  {target}")

    row(
        "coverage of the true strengths",
        off.covered / off.entries,
        on.covered / on.entries,
        "0.93-0.97",
        ".3f",
    )
    row(
        "false 'separable' among equal entries, per pair",
        off.equal_separable / off.equal_pairs,
        on.equal_separable / on.equal_pairs,
        "<= 5%",
    )
    row(
        "wrong-direction winners, per pair",
        off.wrong / off.unequal_pairs,
        on.wrong / on.unequal_pairs,
        "<= 0.5%",
        ".2%",
    )
    print(
        f"{'position false alarms under no effect':<48}{off.position_alarms / off.sets:>11.1%}{'':>12}  <= 6%"
    )
    print(
        f"{'length false alarms under no effect':<48}{off.length_alarms / off.sets:>11.1%}{'':>12}  <= 6%"
    )
    print(
        f"{'power in the grid (slot ' + str(SLOT_EFFECT) + ', length ' + str(LENGTH_EFFECT) + ' utility)':<48}"
        f"{'':>11} pos {on.position_alarms / on.sets:.0%}, len {on.length_alarms / on.sets:.0%}  >= 80%"
    )
    for ratings in (200, 400):
        power, false_alarm = power_at_slot_effect(ratings, 0.15, 200, seed=ratings)
        print(
            f"position power, slot A +0.15 approval, {ratings} ratings: {power:.1%}"
            f" (false alarms without it {false_alarm:.1%})   >= 80%"
        )
    print(f"took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
