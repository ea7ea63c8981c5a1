"""Checks in SQLite: the checks a version carries, the checks a run took from its test
set for each input, and each answer's result per check (``check_results``).

Check lists are stored as JSON lists of ``type: value`` strings, as written; results
one row per candidate and check, in the order the checks ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from promptbot.domain import CheckResult, CheckTally
from storage.base import StoreBase

# SQLite's limit on ``?`` parameters is far above this; it keeps each statement small.
_CHUNK = 500

# Tallies count answers of closed runs only: results stay hidden while a run is open.
_TALLY_FROM = """
    FROM check_results AS r
    JOIN candidates AS c ON c.id = r.candidate_id
    JOIN runs ON runs.id = c.run_id
    JOIN versions ON versions.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts ON prompts.id = versions.prompt_id
    WHERE runs.closed_at IS NOT NULL AND runs.deleted_at IS NULL
      AND prompts.deleted_at IS NULL
      AND (:before IS NULL OR runs.closed_at < :before)
      AND (:version_id IS NULL OR versions.id = :version_id)
"""


class CheckStore:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    # -- what is checked ------------------------------------------------------------

    def set_version_checks(self, version_id: int, checks: Sequence[str]) -> None:
        with self.store.transaction() as db:
            if checks:
                db.execute(
                    "INSERT OR REPLACE INTO version_checks (version_id, checks) VALUES (?, ?)",
                    [version_id, json.dumps(list(checks))],
                )
            else:
                db.execute("DELETE FROM version_checks WHERE version_id = ?", [version_id])

    def version_checks(self, version_id: int) -> list[str]:
        rows = self.store.query(
            "SELECT checks FROM version_checks WHERE version_id = ?", [version_id]
        )
        return [str(c) for c in json.loads(rows[0]["checks"])] if rows else []

    def set_input_checks(self, run_id: int, per_input: Sequence[Sequence[str]]) -> None:
        """The checks each of a run's inputs carries (from its test set's rows)."""
        rows = [
            (run_id, index, json.dumps(list(checks)))
            for index, checks in enumerate(per_input)
            if checks
        ]
        if not rows:
            return
        with self.store.transaction() as db:
            db.conn.executemany(
                "INSERT OR REPLACE INTO run_input_checks (run_id, input_index, checks)"
                " VALUES (?, ?, ?)",
                rows,
            )

    def input_checks(self, run_id: int, input_index: int) -> list[str]:
        rows = self.store.query(
            "SELECT checks FROM run_input_checks WHERE run_id = ? AND input_index = ?",
            [run_id, input_index],
        )
        return [str(c) for c in json.loads(rows[0]["checks"])] if rows else []

    # -- results --------------------------------------------------------------------

    def record(self, candidate_id: int, results: Sequence[CheckResult]) -> None:
        """A candidate's results, replacing any earlier ones (its answer is stored once,
        so a second recording can only be the same answer checked again)."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM check_results WHERE candidate_id = ?", [candidate_id])
            db.conn.executemany(
                "INSERT INTO check_results (candidate_id, position, check_text, passed, detail)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (candidate_id, position, r.check, int(r.passed), r.detail)
                    for position, r in enumerate(results)
                ],
            )

    def results(self, candidate_ids: Iterable[int]) -> dict[int, list[CheckResult]]:
        """Each candidate's results in the order its checks ran; candidates without
        results are absent."""
        found: dict[int, list[CheckResult]] = {}
        ids = list(candidate_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self.store.query(
                "SELECT candidate_id, check_text, passed, detail FROM check_results"
                f" WHERE candidate_id IN ({marks}) ORDER BY candidate_id, position",
                chunk,
            )
            for row in rows:
                found.setdefault(int(row["candidate_id"]), []).append(
                    CheckResult(str(row["check_text"]), bool(row["passed"]), str(row["detail"]))
                )
        return found

    def tallies(
        self, *, closed_before: str | None = None, version_id: int | None = None
    ) -> list[CheckTally]:
        """Per prompt version, over answers in closed runs: how many were checked and
        passed every check (``check`` None), and the same per check."""
        params = {"before": closed_before, "version_id": version_id}
        overall = self.store.connection().query(
            "SELECT prompt, version, COUNT(*) AS answers, SUM(all_passed) AS passed FROM ("
            " SELECT prompts.name AS prompt, versions.number AS version,"
            " MIN(r.passed) AS all_passed"
            + _TALLY_FROM
            + " GROUP BY r.candidate_id) GROUP BY prompt, version ORDER BY prompt, version",
            params,
        )
        per_check = self.store.connection().query(
            "SELECT prompts.name AS prompt, versions.number AS version, r.check_text AS check_text,"
            " COUNT(*) AS answers, SUM(r.passed) AS passed"
            + _TALLY_FROM
            + " GROUP BY prompts.name, versions.number, r.check_text"
            " ORDER BY prompts.name, versions.number, r.check_text",
            params,
        )
        tallies = [
            CheckTally(str(r["prompt"]), int(r["version"]), None, r["answers"], r["passed"])
            for r in overall
        ]
        tallies += [
            CheckTally(
                str(r["prompt"]), int(r["version"]), str(r["check_text"]), r["answers"], r["passed"]
            )
            for r in per_check
        ]
        return tallies
