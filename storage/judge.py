"""The LLM judge's verdicts, kept apart from human ratings: nothing here is ever read by
the rankings, which count only the ``ratings`` table. Verdicts are read back for a run
once it is revealed, and for calibration against the team's votes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from promptbot.domain import JudgePair, JudgeVerdict, Outcome
from promptbot.judge.records import PairRecord, VerdictRecord
from promptbot.verdicts.calibration import JudgedCandidate, JudgedPairRow
from storage.base import StoreBase, utcnow

_LIVE_REVEALED = """
    JOIN runs ON runs.id = c.run_id
    JOIN versions ON versions.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts ON prompts.id = versions.prompt_id
    WHERE runs.revealed_at IS NOT NULL AND runs.deleted_at IS NULL
      AND prompts.deleted_at IS NULL AND (? IS NULL OR prompts.name = ?)
"""


class JudgeStore:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    # -- the runs waiting for the judge (so a restart finishes them) ---------------

    def enqueue(self, run_id: int) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO judge_queue (run_id, queued_at) VALUES (?, ?)",
                [run_id, utcnow()],
            )

    def queued(self) -> list[int]:
        return [r["run_id"] for r in self.store.query("SELECT run_id FROM judge_queue")]

    def is_queued(self, run_id: int) -> bool:
        return bool(self.store.query("SELECT 1 FROM judge_queue WHERE run_id = ?", [run_id]))

    def done(self, run_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM judge_queue WHERE run_id = ?", [run_id])

    # -- writing -------------------------------------------------------------------

    def judged(self, run_id: int) -> tuple[set[int], set[tuple[int, int]]]:
        """The candidates and pairs of a run the judge has answered for already."""
        verdicts = self.store.query(
            "SELECT v.candidate_id FROM judge_verdicts AS v"
            " JOIN candidates AS c ON c.id = v.candidate_id WHERE c.run_id = ?",
            [run_id],
        )
        pairs = self.store.query(
            "SELECT first_id, second_id FROM judge_pairs WHERE run_id = ?", [run_id]
        )
        return {r["candidate_id"] for r in verdicts}, {
            (r["first_id"], r["second_id"]) for r in pairs
        }

    def record_verdict(self, candidate_id: int, model_name: str, record: VerdictRecord) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO judge_verdicts (candidate_id, model_name, approval,"
                " stars, reason, error, reply, tokens_in, tokens_out, cost, cached, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    candidate_id,
                    model_name,
                    record.approval,
                    record.stars,
                    record.reason,
                    record.error,
                    record.reply,
                    record.tokens_in,
                    record.tokens_out,
                    record.cost,
                    int(record.cached),
                    utcnow(),
                ],
            )

    def record_pair(
        self, run_id: int, first_id: int, second_id: int, model_name: str, record: PairRecord
    ) -> None:
        consistent = None if record.consistent is None else int(record.consistent)
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO judge_pairs (run_id, first_id, second_id, model_name,"
                " outcome, consistent, forward, backward, error, cost, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    first_id,
                    second_id,
                    model_name,
                    record.outcome,
                    consistent,
                    record.forward,
                    record.backward,
                    record.error,
                    record.cost,
                    utcnow(),
                ],
            )

    # -- reading -------------------------------------------------------------------

    def verdicts(self, candidate_ids: Iterable[int]) -> dict[int, JudgeVerdict]:
        """The judge's verdicts on these candidates; a failed call has none (see
        ``failures``)."""
        return {
            row["candidate_id"]: JudgeVerdict(
                row["candidate_id"], row["approval"], row["stars"], row["reason"]
            )
            for row in self._rows(candidate_ids)
            if row["error"] is None
        }

    def failures(self, candidate_ids: Iterable[int]) -> dict[int, str]:
        """Why the judge gave no verdict on these candidates (an unparsable reply, a
        failed call)."""
        return {r["candidate_id"]: r["error"] for r in self._rows(candidate_ids) if r["error"]}

    def _rows(self, candidate_ids: Iterable[int]) -> list[dict[str, Any]]:
        ids = list(candidate_ids)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):  # under SQLite's variable limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.store.query(
                "SELECT candidate_id, approval, stars, reason, error FROM judge_verdicts"
                f" WHERE candidate_id IN ({marks})",
                chunk,
            )
        return rows

    def pairs(self, run_id: int) -> list[JudgePair]:
        """The judge's head-to-head verdicts in a run (pairs it could not judge left out)."""
        rows = self.store.query(
            "SELECT first_id, second_id, outcome, consistent FROM judge_pairs"
            " WHERE run_id = ? AND outcome IS NOT NULL ORDER BY first_id, second_id",
            [run_id],
        )
        return [
            JudgePair(
                r["first_id"], r["second_id"], cast(Outcome, r["outcome"]), bool(r["consistent"])
            )
            for r in rows
        ]

    def run_cost(self, run_id: int) -> float:
        rows = self.store.query(
            "SELECT (SELECT COALESCE(SUM(v.cost), 0) FROM judge_verdicts AS v"
            "        JOIN candidates AS c ON c.id = v.candidate_id WHERE c.run_id = ?1)"
            " + (SELECT COALESCE(SUM(cost), 0) FROM judge_pairs WHERE run_id = ?1) AS cost",
            [run_id],
        )
        return float(rows[0]["cost"])

    # -- calibration: revealed runs only, so nothing leaks into an open thread -------

    def judged_candidates(self, prompt: str | None = None) -> list[JudgedCandidate]:
        """Every candidate of a revealed, live run that the judge scored, with the
        counted human ratings on ``approval`` and ``stars``."""
        params = [prompt, prompt]
        rows = self.store.query(
            "SELECT c.id, c.run_id, c.input_index, prompts.name AS prompt, v.approval, v.stars"
            " FROM judge_verdicts AS v JOIN candidates AS c ON c.id = v.candidate_id"
            + _LIVE_REVEALED
            + " AND v.error IS NULL ORDER BY c.id",
            params,
        )
        human: dict[tuple[int, str], list[float]] = defaultdict(list)
        for rating in self.store.query(
            "SELECT r.candidate_id, r.scale, r.score FROM ratings AS r"
            " JOIN judge_verdicts AS v ON v.candidate_id = r.candidate_id"
            " JOIN candidates AS c ON c.id = r.candidate_id"
            + _LIVE_REVEALED
            + " AND v.error IS NULL AND r.scale IN ('approval', 'stars')",
            params,
        ):
            human[(rating["candidate_id"], rating["scale"])].append(rating["score"])
        return [
            JudgedCandidate(
                candidate_id=r["id"],
                run_id=r["run_id"],
                prompt=r["prompt"],
                input_index=r["input_index"],
                approval=r["approval"],
                stars=r["stars"],
                human_approval=human.get((r["id"], "approval"), []),
                human_stars=human.get((r["id"], "stars"), []),
            )
            for r in rows
        ]

    def judged_pairs(self, prompt: str | None = None) -> list[JudgedPairRow]:
        """The judge's pairs in revealed, live runs, with the counted compare-thread
        votes on the same two answers (seen from the judge's first)."""
        params = [prompt, prompt]
        rows = self.store.query(
            "SELECT jp.run_id, jp.first_id, jp.second_id, jp.outcome, jp.consistent,"
            " prompts.name AS prompt FROM judge_pairs AS jp"
            " JOIN candidates AS c ON c.id = jp.first_id"
            + _LIVE_REVEALED
            + " AND jp.outcome IS NOT NULL ORDER BY jp.first_id, jp.second_id",
            params,
        )
        votes: dict[tuple[int, int], list[str]] = defaultdict(list)
        for vote in self.store.query(
            "SELECT p.left_id, p.right_id, pv.choice FROM pair_votes AS pv"
            " JOIN pairs AS p ON p.id = pv.pair_id JOIN candidates AS c ON c.id = p.left_id"
            + _LIVE_REVEALED
            + " AND pv.late = 0",
            params,
        ):
            seen = {"left": "first", "right": "second"}.get(vote["choice"], "tie")
            votes[(vote["left_id"], vote["right_id"])].append(seen)
            flipped = {"first": "second", "second": "first"}.get(seen, seen)
            votes[(vote["right_id"], vote["left_id"])].append(flipped)
        return [
            JudgedPairRow(
                prompt=r["prompt"],
                run_id=r["run_id"],
                first_id=r["first_id"],
                second_id=r["second_id"],
                outcome=cast(Outcome, r["outcome"]),
                consistent=bool(r["consistent"]),
                votes=votes.get((r["first_id"], r["second_id"]), []),
            )
            for r in rows
        ]

    def approval_by_version(self) -> dict[tuple[str, int], tuple[int, int]]:
        """Per (prompt, version): (verdicts saying yes, readable verdicts) in revealed,
        live runs. One aggregate, so the digest never holds a row per candidate."""
        rows = self.store.query(
            "SELECT prompts.name AS prompt, versions.number AS version,"
            " SUM(v.approval > 0.5) AS yes, COUNT(*) AS judged"
            " FROM judge_verdicts AS v JOIN candidates AS c ON c.id = v.candidate_id"
            + _LIVE_REVEALED
            + " AND v.error IS NULL GROUP BY prompts.name, versions.number",
            [None, None],
        )
        return {(r["prompt"], r["version"]): (int(r["yes"]), int(r["judged"])) for r in rows}

    def failed_verdicts(self) -> dict[str, tuple[int, int]]:
        """Per prompt, (verdicts that failed, verdicts asked for) in revealed, live runs:
        a judge that cannot follow the rubric's format shows here, not in κ."""
        rows = self.store.query(
            "SELECT prompts.name AS prompt, COUNT(v.error) AS failed, COUNT(*) AS asked"
            " FROM judge_verdicts AS v JOIN candidates AS c ON c.id = v.candidate_id"
            + _LIVE_REVEALED
            + " GROUP BY prompts.name",
            [None, None],
        )
        return {r["prompt"]: (int(r["failed"]), int(r["asked"])) for r in rows}
