"""What a run still owes Slack, and which process is delivering it.

A run is delivered by one process at a time: it holds the run's lease, renews it (the
heartbeat) and lets it go when done; a lease not renewed expires, and then any process
may take the run over. Each Slack post of a run is a named step: ``posting`` is recorded
before the post, so a step found ``posting`` later may have reached Slack, and is
looked for before it is posted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from storage.base import StoreBase, stamp, utcnow

StepStatus = Literal["pending", "posting", "done", "failed"]
# The step that records a proposer's "run it anyway" to the cost question.
COST_CONFIRMED = "cost:confirmed"


@dataclass(frozen=True)
class Step:
    run_id: int
    name: str
    status: StepStatus
    ts: str | None
    error: str | None


@dataclass(frozen=True)
class Lease:
    run_id: int
    owner: str | None
    until: str | None


def _later(seconds: float) -> str:
    return stamp(datetime.now(UTC) + timedelta(seconds=seconds))


class DeliveryLog:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    # -- leases -----------------------------------------------------------------

    def take_lease(
        self, run_id: int, owner: str, seconds: float, *, from_dead: Sequence[str] = ()
    ) -> bool:
        """Take (or keep) an unfinished run's lease: True if ``owner`` now holds it.
        ``from_dead`` names holders known to be gone, whose leases are free at once."""
        dead = list(from_dead) or [""]
        marks = ", ".join("?" * len(dead))
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET lease_owner = ?, lease_until = ? WHERE id = ?"
                " AND status IN ('pending', 'running') AND (lease_owner IS NULL"
                f" OR lease_owner = ? OR lease_until < ? OR lease_owner IN ({marks}))",
                [owner, _later(seconds), run_id, owner, utcnow(), *dead],
            )
            return cursor.rowcount == 1

    def renew_leases(self, owner: str, run_ids: Sequence[int], seconds: float) -> list[int]:
        """The heartbeat: push the expiry of the leases still held; returns those held."""
        held = []
        with self.store.transaction() as db:
            for run_id in run_ids:
                cursor = db.execute(
                    "UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                    [_later(seconds), run_id, owner],
                )
                if cursor.rowcount == 1:
                    held.append(run_id)
        return held

    def release_lease(self, run_id: int, owner: str) -> None:
        with self.store.transaction() as db:
            db.execute(
                "UPDATE runs SET lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                [run_id, owner],
            )

    def unfinished(self) -> list[Lease]:
        """Every run still to be delivered, with whoever holds it (if anyone)."""
        rows = self.store.query(
            "SELECT id, lease_owner, lease_until FROM runs WHERE status IN ('pending', 'running')"
            " AND deleted_at IS NULL ORDER BY id"
        )
        return [Lease(row["id"], row["lease_owner"], row["lease_until"]) for row in rows]

    # -- the cost question -------------------------------------------------------

    def confirm_cost(self, run_id: int) -> bool:
        """A held run's proposer said go: back to pending, never asked again. False if
        the run was not held (answered already, or cancelled)."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET status = 'pending' WHERE id = ? AND status = 'held'", [run_id]
            )
            if cursor.rowcount != 1:
                return False
            db.execute(
                "INSERT OR REPLACE INTO run_steps (run_id, name, status, updated_at)"
                " VALUES (?, ?, 'done', ?)",
                [run_id, COST_CONFIRMED, utcnow()],
            )
            return True

    def cost_confirmed(self, run_id: int) -> bool:
        found = self.step(run_id, COST_CONFIRMED)
        return found is not None and found.status == "done"

    # -- steps ------------------------------------------------------------------

    def step(self, run_id: int, name: str) -> Step | None:
        rows = self.store.query(
            "SELECT * FROM run_steps WHERE run_id = ? AND name = ?", [run_id, name]
        )
        return _step(rows[0]) if rows else None

    def steps(self, run_id: int, prefix: str = "") -> list[Step]:
        rows = self.store.query(
            "SELECT * FROM run_steps WHERE run_id = ? AND substr(name, 1, ?) = ? ORDER BY name",
            [run_id, len(prefix), prefix],
        )
        return [_step(row) for row in rows]

    def add(self, run_id: int, name: str) -> None:
        """A step to do (nothing changes if it is already known)."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO run_steps (run_id, name, status, updated_at)"
                " VALUES (?, ?, 'pending', ?)",
                [run_id, name, utcnow()],
            )

    def begin(self, run_id: int, name: str) -> StepStatus | None:
        """Claim a step before its post; returns its status before the claim (None for a
        new step). ``posting`` means an earlier attempt may have landed."""
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT status FROM run_steps WHERE run_id = ? AND name = ?", [run_id, name]
            ).fetchone()
            if row is not None and row[0] == "done":
                return "done"
            db.execute(
                "INSERT INTO run_steps (run_id, name, status, updated_at)"
                " VALUES (?, ?, 'posting', ?) ON CONFLICT (run_id, name)"
                " DO UPDATE SET status = 'posting', updated_at = excluded.updated_at",
                [run_id, name, utcnow()],
            )
            return row[0] if row is not None else None

    def finish(self, run_id: int, name: str, ts: str | None = None) -> None:
        self._set(run_id, name, "done", ts=ts)

    def put_back(self, run_id: int, name: str, error: str) -> None:
        """Slack was unavailable until the deadline: the step waits for the resumer. A
        step that may have landed stays ``posting``, so it is looked for first."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE run_steps SET error = ?, updated_at = ? WHERE run_id = ? AND name = ?",
                [error, utcnow(), run_id, name],
            )

    def fail(self, run_id: int, name: str, error: str) -> None:
        """Slack refused the step for good."""
        self._set(run_id, name, "failed", error=error)

    def _set(
        self,
        run_id: int,
        name: str,
        status: StepStatus,
        *,
        ts: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO run_steps (run_id, name, status, ts, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET"
                " status = excluded.status, ts = COALESCE(excluded.ts, ts),"
                " error = excluded.error, updated_at = excluded.updated_at",
                [run_id, name, status, ts, error, utcnow()],
            )

    def reopen(self, run_id: int) -> bool:
        """A failed run's refused steps go back to pending, to be posted again (what is
        posted stays); False if the run had not failed."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET status = 'pending', finished_at = NULL"
                " WHERE id = ? AND status = 'failed'",
                [run_id],
            )
            if cursor.rowcount != 1:
                return False
            db.execute(
                "UPDATE run_steps SET status = 'pending', error = NULL, updated_at = ?"
                " WHERE run_id = ? AND status = 'failed'",
                [utcnow(), run_id],
            )
            # Telling the proposer is part of the next attempt, should it fail again.
            db.execute("DELETE FROM run_steps WHERE run_id = ? AND name LIKE 'tell:%'", [run_id])
            return True

    # -- candidates' messages ---------------------------------------------------------

    def record_part(self, run_id: int, candidate_id: int, channel: str, part: int, ts: str) -> None:
        """One posted message of a candidate, recorded as soon as it is posted."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO messages (channel, ts, run_id, candidate_id, part)"
                " VALUES (?, ?, ?, ?, ?)",
                [channel, ts, run_id, candidate_id, part],
            )

    def posted_parts(self, candidate_id: int) -> dict[int, str]:
        rows = self.store.query(
            "SELECT part, ts FROM messages WHERE candidate_id = ? ORDER BY part", [candidate_id]
        )
        return {int(row["part"]): str(row["ts"]) for row in rows}

    def set_response_url(self, run_id: int, url: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE runs SET response_url = ? WHERE id = ?", [url, run_id])

    def response_url(self, run_id: int) -> tuple[str | None, str]:
        """(the proposer's response_url if any, when the run was created)."""
        row = self.store.query("SELECT response_url, created_at FROM runs WHERE id = ?", [run_id])
        return row[0]["response_url"], row[0]["created_at"]


def _step(row: dict[str, object]) -> Step:
    return Step(
        int(str(row["run_id"])),
        str(row["name"]),
        row["status"],  # type: ignore[arg-type]
        None if row["ts"] is None else str(row["ts"]),
        None if row["error"] is None else str(row["error"]),
    )
