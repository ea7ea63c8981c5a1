"""Screened runs in SQLite: which runs are screened, and for each candidate whether it
is posted for the team (and why) or held. Until a run is decided, all its candidates
are held."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from storage.base import StoreBase, utcnow


@dataclass(frozen=True)
class ScreenedRun:
    run_id: int
    forced: bool
    trust: str  # the judge's calibration when the run was asked for, in words
    decided: bool


class ScreeningStore:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def mark(self, run_id: int, *, forced: bool, trust: str) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO screened_runs (run_id, forced, trust) VALUES (?, ?, ?)",
                [run_id, int(forced), trust],
            )

    def get(self, run_id: int) -> ScreenedRun | None:
        rows = self.store.query(
            "SELECT run_id, forced, trust, decided_at FROM screened_runs WHERE run_id = ?",
            [run_id],
        )
        if not rows:
            return None
        row = rows[0]
        return ScreenedRun(
            row["run_id"], bool(row["forced"]), row["trust"], bool(row["decided_at"])
        )

    def undecided(self) -> list[int]:
        rows = self.store.query("SELECT run_id FROM screened_runs WHERE decided_at IS NULL")
        return [int(row["run_id"]) for row in rows]

    def held(self, run_id: int) -> set[int] | None:
        """The candidates not to post: None when the run is not screened; every one of
        its candidates while undecided (the caller treats None and "all" apart)."""
        run = self.get(run_id)
        if run is None:
            return None
        if not run.decided:
            rows = self.store.query("SELECT id FROM candidates WHERE run_id = ?", [run_id])
        else:
            rows = self.store.query(
                "SELECT candidate_id AS id FROM screened_candidates"
                " WHERE run_id = ? AND posted = 0",
                [run_id],
            )
        return {int(row["id"]) for row in rows}

    def decide(
        self,
        run_id: int,
        posted: Mapping[int, Sequence[str]],
        held: Iterable[int],
        summary: str,
    ) -> bool:
        """Record the decision (with the summary message to post, as JSON) and send the
        run back to be posted; False if another process decided it first."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE screened_runs SET decided_at = ?, summary = ?"
                " WHERE run_id = ? AND decided_at IS NULL",
                [utcnow(), summary, run_id],
            )
            if cursor.rowcount != 1:
                return False
            rows = [(cid, run_id, 1, json.dumps(list(why))) for cid, why in posted.items()]
            rows += [(cid, run_id, 0, "[]") for cid in held]
            db.conn.executemany(
                "INSERT INTO screened_candidates (candidate_id, run_id, posted, reasons)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            self._reopen(db, run_id)
            return True

    def release(self, run_id: int, candidate_ids: Iterable[int], reason: str) -> list[int]:
        """Post held candidates after all (someone asked): returns those released."""
        released = []
        with self.store.transaction() as db:
            for candidate_id in candidate_ids:
                cursor = db.execute(
                    "UPDATE screened_candidates SET posted = 1, reasons = ?"
                    " WHERE candidate_id = ? AND run_id = ? AND posted = 0",
                    [json.dumps([reason]), candidate_id, run_id],
                )
                if cursor.rowcount == 1:
                    released.append(candidate_id)
            if released:
                self._reopen(db, run_id)
        return released

    def reasons(self, run_id: int) -> dict[int, list[str]]:
        """Each decided candidate's reasons to be posted (empty: held)."""
        rows = self.store.query(
            "SELECT candidate_id, reasons FROM screened_candidates WHERE run_id = ?", [run_id]
        )
        return {int(r["candidate_id"]): [str(x) for x in json.loads(r["reasons"])] for r in rows}

    def summary(self, run_id: int) -> str | None:
        rows = self.store.query("SELECT summary FROM screened_runs WHERE run_id = ?", [run_id])
        return str(rows[0]["summary"]) if rows and rows[0]["summary"] else None

    def reopen(self, run_id: int) -> bool:
        """Send a finished run back to be posted; False if it is not finished."""
        with self.store.transaction() as db:
            return self._reopen(db, run_id)

    @staticmethod
    def _reopen(db: Database, run_id: int) -> bool:
        # A finished run goes back to pending: the runner posts what is now unheld,
        # at once or after a restart (it resumes unfinished runs).
        cursor = db.execute(
            "UPDATE runs SET status = 'pending', finished_at = NULL"
            " WHERE id = ? AND status IN ('done', 'failed')",
            [run_id],
        )
        return cursor.rowcount == 1
