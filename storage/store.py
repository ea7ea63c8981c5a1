"""The store owns the database: migrations on open, one connection per thread,
and every multi-row write in one ``BEGIN IMMEDIATE`` transaction.

Bolt listeners, the run executor and scheduler jobs all run on threads, and a
SQLite connection must not cross threads, so each thread gets its own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlite_utils import Database

from promptbot.domain import (
    Candidate,
    Completion,
    PlannedCandidate,
    Rating,
    Run,
    RunStatus,
    Version,
)
from promptbot.errors import NotFound, StorageError
from storage.migrations import migrations


def stamp(moment: datetime) -> str:
    """How times are stored: UTC, to the microsecond, one fixed width, so that text
    order is time order and nothing recorded in the same second is out of range."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utcnow() -> str:
    return stamp(datetime.now(UTC))


@dataclass(frozen=True)
class MessageRef:
    run_id: int
    candidate_id: int | None


@dataclass(frozen=True)
class RunSummary:
    run: Run
    candidates: int
    ratings: int
    comments: int


ReactionOutcome = Literal["duplicate", "stale", "applied"]


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        try:
            if self.path != ":memory:":
                parent = Path(self.path).resolve().parent
                if not parent.is_dir():
                    raise StorageError(f"cannot open database {self.path}: no such directory")
            db = self._db()
            db.enable_wal()
            migrations.apply(db)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open database {self.path}: {error}") from None

    # -- connections and transactions ---------------------------------------

    def _db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN ourselves, so writes can be IMMEDIATE.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            # With WAL, NORMAL never corrupts and survives a crash of the process; only
            # a power cut may lose the last commits. FULL would fsync every commit.
            conn.execute("PRAGMA synchronous = NORMAL")
            db = Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction. IMMEDIATE takes the write lock up front, so two
        processes deduping the same event cannot both decide it is new."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def connection(self) -> Database:
        """This thread's connection, for read queries elsewhere in storage/."""
        return self._db()

    def close(self) -> None:
        db: Database | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self._db().query(sql, params))

    # -- proposals and runs ---------------------------------------------------

    def create_run(
        self,
        *,
        prompt_name: str,
        template: str,
        system_prompt: str | None,
        author: str,
        channel: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        note: str | None = None,
        parent_id: int | None = None,
        previous_run_id: int | None = None,
        status: RunStatus = "pending",
    ) -> Run:
        """Record a proposal (a new version of its prompt), its run and its pending
        candidates in one transaction, so accepted work is never half-recorded."""
        now = utcnow()
        with self.transaction() as db:
            prompt = next(
                iter(db.query("SELECT id FROM prompts WHERE name = ?", [prompt_name])), None
            )
            if prompt is None:
                prompt_id = db.execute(
                    "INSERT INTO prompts (name, created_by, created_at) VALUES (?, ?, ?)",
                    [prompt_name, author, now],
                ).lastrowid
            else:
                prompt_id = prompt["id"]
                # Proposing a deleted prompt's name again brings the name back; its old
                # runs stay hidden by their own deleted_at.
                db.execute("UPDATE prompts SET deleted_at = NULL WHERE id = ?", [prompt_id])
            number = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE prompt_id = ?", [prompt_id]
            ).fetchone()[0]
            version_id = db.execute(
                "INSERT INTO versions (prompt_id, number, template, system_prompt, author,"
                " created_at, note, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [prompt_id, number, template, system_prompt, author, now, note, parent_id],
            ).lastrowid
            assert version_id is not None
            run_id = self._insert_run(
                db,
                version_id,
                channel=channel,
                author=author,
                models=models,
                inputs=inputs,
                candidates=candidates,
                previous_run_id=previous_run_id,
                status=status,
            )
        return self.get_run(run_id)

    def create_rerun(
        self,
        version_id: int,
        *,
        author: str,
        channel: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        fresh: bool = False,
        kind: str = "review",
        status: RunStatus = "pending",
    ) -> Run:
        """A new run of an existing version (a rerun, or a compare thread)."""
        with self.transaction() as db:
            run_id = self._insert_run(
                db,
                version_id,
                channel=channel,
                author=author,
                models=models,
                inputs=inputs,
                candidates=candidates,
                fresh=fresh,
                kind=kind,
                status=status,
            )
        return self.get_run(run_id)

    @staticmethod
    def _insert_run(
        db: Database,
        version_id: int,
        *,
        channel: str,
        author: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        previous_run_id: int | None = None,
        fresh: bool = False,
        kind: str = "review",
        status: RunStatus = "pending",
    ) -> int:
        run_id = db.execute(
            "INSERT INTO runs (version_id, status, channel, created_by, created_at, models,"
            " inputs, previous_run_id, fresh, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                version_id,
                status,
                channel,
                author,
                utcnow(),
                json.dumps(models),
                json.dumps(inputs),
                previous_run_id,
                int(fresh),
                kind,
            ],
        ).lastrowid
        assert run_id is not None
        db.conn.executemany(
            "INSERT INTO candidates (run_id, label, slot, model_name, model_id, input_index,"
            " variables, status, version_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            [
                (
                    run_id,
                    c.label,
                    c.slot,
                    c.model_name,
                    c.model_id,
                    c.input_index,
                    json.dumps(c.variables),
                    c.version_id,
                )
                for c in candidates
            ],
        )
        return run_id

    _RUN_SELECT = """
        SELECT runs.*, versions.prompt_id, versions.number, versions.template,
               versions.system_prompt, versions.author, versions.created_at AS version_created_at,
               versions.note, versions.parent_id, prompts.name AS prompt_name
        FROM runs
        JOIN versions ON versions.id = runs.version_id
        JOIN prompts ON prompts.id = versions.prompt_id
    """

    @staticmethod
    def _run_from_row(row: dict[str, Any]) -> Run:
        version = Version(
            id=row["version_id"],
            prompt_id=row["prompt_id"],
            prompt_name=row["prompt_name"],
            number=row["number"],
            template=row["template"],
            system_prompt=row["system_prompt"],
            author=row["author"],
            created_at=row["version_created_at"],
            note=row["note"],
            parent_id=row["parent_id"],
        )
        return Run(
            id=row["id"],
            version=version,
            status=row["status"],
            channel=row["channel"],
            thread_ts=row["thread_ts"],
            permalink=row["permalink"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            models=json.loads(row["models"]),
            inputs=json.loads(row["inputs"]),
            closed_at=row["closed_at"],
            closed_by=row["closed_by"],
            revealed_at=row["revealed_at"],
            fresh=bool(row["fresh"]),
            previous_run_id=row["previous_run_id"],
            kind=row["kind"],
            deleted_at=row["deleted_at"],
        )

    def get_run(self, run_id: int) -> Run:
        rows = self.query(self._RUN_SELECT + " WHERE runs.id = ?", [run_id])
        if not rows:
            raise NotFound(f"no run #{run_id}")
        return self._run_from_row(rows[0])

    # -- versions ---------------------------------------------------------------

    _VERSION_SELECT = """
        SELECT versions.*, versions.created_at AS version_created_at, prompts.name AS prompt_name
        FROM versions JOIN prompts ON prompts.id = versions.prompt_id
        WHERE prompts.deleted_at IS NULL
    """

    @staticmethod
    def _version_from_row(row: dict[str, Any]) -> Version:
        return Version(
            id=row["id"],
            prompt_id=row["prompt_id"],
            prompt_name=row["prompt_name"],
            number=row["number"],
            template=row["template"],
            system_prompt=row["system_prompt"],
            author=row["author"],
            created_at=row["version_created_at"],
            note=row["note"],
            parent_id=row["parent_id"],
        )

    def versions(self, prompt_name: str) -> list[Version]:
        """Every version of a prompt, oldest first; NotFound if there is none."""
        rows = self.query(
            self._VERSION_SELECT + " AND prompts.name = ? ORDER BY versions.number", [prompt_name]
        )
        if not rows:
            raise NotFound(f"no prompt named '{prompt_name}'")
        return [self._version_from_row(row) for row in rows]

    def version(self, prompt_name: str, number: int | None = None) -> Version:
        """A version by number, or the latest."""
        versions = self.versions(prompt_name)
        if number is None:
            return versions[-1]
        for version in versions:
            if version.number == number:
                return version
        raise NotFound(f"{prompt_name} has no v{number} (latest is v{versions[-1].number})")

    def get_version(self, version_id: int) -> Version:
        rows = self.query(self._VERSION_SELECT + " AND versions.id = ?", [version_id])
        if not rows:
            raise NotFound(f"no version #{version_id}")
        return self._version_from_row(rows[0])

    def runs_of_version(self, version_id: int) -> list[Run]:
        """Runs whose thread shows this version: its own, and those it was a baseline in."""
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.deleted_at IS NULL AND (runs.version_id = ? OR"
            " runs.id IN (SELECT run_id FROM candidates WHERE version_id = ?))"
            " ORDER BY runs.id",
            [version_id, version_id],
        )
        return [self._run_from_row(row) for row in rows]

    def version_costs(self, version_id: int) -> tuple[int, float]:
        """(candidates, summed cost) for the answers this version produced."""
        rows = self.query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(c.cost), 0) AS cost FROM candidates c"
            " JOIN runs ON runs.id = c.run_id"
            " WHERE COALESCE(c.version_id, runs.version_id) = ? AND runs.deleted_at IS NULL",
            [version_id],
        )
        return int(rows[0]["n"]), float(rows[0]["cost"])

    def run_cost(self, run_id: int) -> float:
        rows = self.query(
            "SELECT COALESCE(SUM(cost), 0) AS cost FROM candidates WHERE run_id = ?", [run_id]
        )
        return float(rows[0]["cost"])

    def recent_runs(self, limit: int) -> list[RunSummary]:
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.deleted_at IS NULL AND prompts.deleted_at IS NULL"
            " ORDER BY runs.id DESC LIMIT ?",
            [limit],
        )
        summaries = []
        for row in rows:
            counts = (
                self._db()
                .execute(
                    "SELECT (SELECT COUNT(*) FROM candidates WHERE run_id = :r),"
                    " (SELECT COUNT(*) FROM ratings JOIN candidates c ON c.id = ratings.candidate_id"
                    "  WHERE c.run_id = :r),"
                    " (SELECT COUNT(*) FROM comments WHERE run_id = :r)",
                    {"r": row["id"]},
                )
                .fetchone()
            )
            summaries.append(RunSummary(self._run_from_row(row), *counts))
        return summaries

    def unfinished_runs(self) -> list[Run]:
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.status IN ('pending', 'running')"
            " AND runs.deleted_at IS NULL AND prompts.deleted_at IS NULL ORDER BY runs.id"
        )
        return [self._run_from_row(row) for row in rows]

    def set_run_status(self, run_id: int, status: RunStatus) -> None:
        finished = utcnow() if status in ("done", "failed") else None
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = COALESCE(?, finished_at) WHERE id = ?",
                [status, finished, run_id],
            )

    def set_thread(self, run_id: int, channel: str, ts: str, permalink: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET channel = ?, thread_ts = ?, permalink = ?, status = 'running'"
                " WHERE id = ?",
                [channel, ts, permalink, run_id],
            )
            db.execute(
                "INSERT OR IGNORE INTO messages (channel, ts, run_id, candidate_id, part)"
                " VALUES (?, ?, ?, NULL, 0)",
                [channel, ts, run_id],
            )

    # -- candidates -----------------------------------------------------------

    @staticmethod
    def _candidate_from_row(row: dict[str, Any]) -> Candidate:
        return Candidate(
            id=row["id"],
            run_id=row["run_id"],
            label=row["label"],
            slot=row["slot"],
            model_name=row["model_name"],
            model_id=row["model_id"],
            input_index=row["input_index"],
            variables=json.loads(row["variables"]),
            status=row["status"],
            output=row["output"],
            error=row["error"],
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            latency_ms=row["latency_ms"],
            finish_reason=row["finish_reason"],
            cached=bool(row["cached"]),
            cost=row["cost"],
            version_id=row["version_id"],
            version_number=row["version_number"],
            prompt_name=row["prompt_name"],
        )

    # A candidate's version is its own (a baseline) or else its run's.
    _CANDIDATE_SELECT = """
        SELECT candidates.*, COALESCE(own.number, run_version.number) AS version_number,
               prompts.name AS prompt_name
        FROM candidates
        JOIN runs ON runs.id = candidates.run_id
        JOIN versions run_version ON run_version.id = runs.version_id
        LEFT JOIN versions own ON own.id = candidates.version_id
        JOIN prompts ON prompts.id = COALESCE(own.prompt_id, run_version.prompt_id)
    """

    def candidates(self, run_id: int) -> list[Candidate]:
        rows = self.query(
            self._CANDIDATE_SELECT + " WHERE candidates.run_id = ? ORDER BY slot", [run_id]
        )
        return [self._candidate_from_row(row) for row in rows]

    def get_candidate(self, candidate_id: int) -> Candidate:
        rows = self.query(self._CANDIDATE_SELECT + " WHERE candidates.id = ?", [candidate_id])
        if not rows:
            raise NotFound(f"no candidate #{candidate_id}")
        return self._candidate_from_row(rows[0])

    def record_answer(self, candidate_id: int, result: Completion) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'answered', output = ?, error = ?, tokens_in = ?,"
                " tokens_out = ?, latency_ms = ?, finish_reason = ?, answered_at = ?, cached = ?,"
                " cost = ? WHERE id = ? AND status = 'pending'",
                [
                    result.output,
                    result.error,
                    result.tokens_in,
                    result.tokens_out,
                    result.latency_ms,
                    result.finish_reason,
                    utcnow(),
                    int(result.cached),
                    result.cost,
                    candidate_id,
                ],
            )

    def mark_posting(self, candidate_id: int) -> bool:
        """Claim a candidate for posting; False if it is already posting or posted.
        Recorded before the post, so a crash mid-post is never silently reposted."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE candidates SET status = 'posting' WHERE id = ? AND status = 'answered'",
                [candidate_id],
            )
            return cursor.rowcount == 1

    def mark_posted(self, candidate_id: int, channel: str, message_ts: Sequence[str]) -> None:
        with self.transaction() as db:
            run_id = db.execute(
                "SELECT run_id FROM candidates WHERE id = ?", [candidate_id]
            ).fetchone()[0]
            db.execute(
                "UPDATE candidates SET status = 'posted', posted_at = ? WHERE id = ?",
                [utcnow(), candidate_id],
            )
            db.conn.executemany(
                "INSERT OR IGNORE INTO messages (channel, ts, run_id, candidate_id, part)"
                " VALUES (?, ?, ?, ?, ?)",
                [(channel, ts, run_id, candidate_id, part) for part, ts in enumerate(message_ts)],
            )

    def revert_posting(self, candidate_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'answered' WHERE id = ? AND status = 'posting'",
                [candidate_id],
            )

    def mark_lost(self, candidate_id: int, error: str) -> None:
        """A post that may or may not have reached Slack: never repost it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'posted', error = COALESCE(error, ?) WHERE id = ?",
                [error, candidate_id],
            )

    # -- events: reactions and comments ---------------------------------------

    def find_message(self, channel: str, ts: str) -> MessageRef | None:
        rows = self.query(
            "SELECT run_id, candidate_id FROM messages WHERE channel = ? AND ts = ?", [channel, ts]
        )
        return MessageRef(rows[0]["run_id"], rows[0]["candidate_id"]) if rows else None

    def find_thread(self, channel: str, thread_ts: str) -> int | None:
        rows = self.query(
            "SELECT id FROM runs WHERE channel = ? AND thread_ts = ?", [channel, thread_ts]
        )
        return int(rows[0]["id"]) if rows else None

    @staticmethod
    def _claim_event(db: Database, event_id: str) -> bool:
        cursor = db.execute(
            "INSERT OR IGNORE INTO processed_events (event_id, received_at) VALUES (?, ?)",
            [event_id, utcnow()],
        )
        return cursor.rowcount == 1

    def apply_reaction(
        self,
        *,
        event_id: str,
        channel: str,
        ts: str,
        candidate_id: int,
        user_id: str,
        emoji: str,
        scale: str,
        present: bool,
        event_ts: str,
        scale_emoji: dict[str, float],
    ) -> ReactionOutcome:
        """Apply one reaction event exactly once, in event-time order.

        Each (message, user, emoji) keeps its latest state; a removal that arrives
        before its add is remembered, so the late add is stale and leaves no vote.
        The user's rating on the scale is then the most recent emoji of that scale
        still present on any of the candidate's messages.
        """
        with self.transaction() as db:
            if not self._claim_event(db, event_id):
                return "duplicate"
            row = db.execute(
                "SELECT event_ts FROM reactions WHERE channel = ? AND ts = ? AND user_id = ?"
                " AND emoji = ?",
                [channel, ts, user_id, emoji],
            ).fetchone()
            if row is not None and Decimal(row[0]) > Decimal(event_ts):
                return "stale"
            db.execute(
                "INSERT OR REPLACE INTO reactions (channel, ts, user_id, emoji, candidate_id,"
                " present, event_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [channel, ts, user_id, emoji, candidate_id, int(present), event_ts],
            )
            present_rows = db.execute(
                "SELECT emoji, event_ts FROM reactions WHERE candidate_id = ? AND user_id = ?"
                " AND present = 1",
                [candidate_id, user_id],
            ).fetchall()
            on_scale = [(Decimal(ets), e) for e, ets in present_rows if e in scale_emoji]
            closed = db.execute(
                "SELECT runs.closed_at IS NOT NULL FROM candidates"
                " JOIN runs ON runs.id = candidates.run_id WHERE candidates.id = ?",
                [candidate_id],
            ).fetchone()[0]
            # Once voting has closed the counted ratings stay as they were; later
            # changes are kept apart as late ratings.
            table = "late_ratings" if closed else "ratings"
            if on_scale:
                _, latest = max(on_scale)
                db.execute(
                    f"INSERT OR REPLACE INTO {table} (candidate_id, user_id, scale, emoji, score,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [candidate_id, user_id, scale, latest, scale_emoji[latest], utcnow()],
                )
            else:
                db.execute(
                    f"DELETE FROM {table} WHERE candidate_id = ? AND user_id = ? AND scale = ?",
                    [candidate_id, user_id, scale],
                )
            return "applied"

    def add_comment(
        self, *, event_id: str, channel: str, ts: str, run_id: int, user_id: str, text: str
    ) -> bool:
        with self.transaction() as db:
            if not self._claim_event(db, event_id):
                return False
            cursor = db.execute(
                "INSERT OR IGNORE INTO comments (channel, ts, run_id, user_id, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [channel, ts, run_id, user_id, text, utcnow()],
            )
            return cursor.rowcount == 1

    def ratings(self, run_id: int | None = None) -> list[Rating]:
        sql = "SELECT ratings.* FROM ratings"
        params: list[Any] = []
        if run_id is not None:
            sql += " JOIN candidates ON candidates.id = ratings.candidate_id WHERE run_id = ?"
            params.append(run_id)
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query(sql + " ORDER BY candidate_id, user_id, scale", params)
        ]

    def comments(self, run_id: int) -> list[dict[str, Any]]:
        return self.query(
            "SELECT user_id, text, ts FROM comments WHERE run_id = ? ORDER BY ts", [run_id]
        )

    def late_ratings(self) -> list[Rating]:
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query("SELECT * FROM late_ratings ORDER BY candidate_id, user_id, scale")
        ]

    def rating_count(self, run_id: int) -> int:
        rows = self.query(
            "SELECT COUNT(*) AS n FROM ratings JOIN candidates ON candidates.id = candidate_id"
            " WHERE candidates.run_id = ?",
            [run_id],
        )
        return int(rows[0]["n"])

    def candidate_message_ts(self, candidate_id: int) -> list[str]:
        rows = self.query(
            "SELECT ts FROM messages WHERE candidate_id = ? ORDER BY part", [candidate_id]
        )
        return [row["ts"] for row in rows]

    # -- closing and revealing -------------------------------------------------

    def close_run(self, run_id: int, by: str, *, reveal: bool = False) -> bool:
        """Close voting; True only for the call that closed it. ``reveal`` records that
        the models are to be shown, so a reveal cut short is finished at start-up."""
        with self.transaction() as db:
            if reveal:
                db.execute("UPDATE runs SET reveal_requested = 1 WHERE id = ?", [run_id])
            cursor = db.execute(
                "UPDATE runs SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                [utcnow(), by, run_id],
            )
            return cursor.rowcount == 1

    def runs_to_close(self, *, older_than: str | None, min_votes: int | None) -> list[int]:
        """Open, finished runs created before ``older_than`` or with ``min_votes`` ratings."""
        rows = self.query(
            "SELECT runs.id, runs.created_at, COUNT(ratings.user_id) AS votes FROM runs"
            " LEFT JOIN candidates ON candidates.run_id = runs.id"
            " LEFT JOIN ratings ON ratings.candidate_id = candidates.id"
            " WHERE runs.closed_at IS NULL AND runs.status IN ('done', 'failed')"
            " AND runs.deleted_at IS NULL GROUP BY runs.id ORDER BY runs.id"
        )
        return [
            int(row["id"])
            for row in rows
            if (older_than is not None and row["created_at"] < older_than)
            or (min_votes is not None and row["votes"] >= min_votes)
        ]

    def unrevealed_closed_runs(self) -> list[int]:
        rows = self.query(
            "SELECT id FROM runs WHERE reveal_requested = 1 AND revealed_at IS NULL"
            " AND thread_ts IS NOT NULL AND deleted_at IS NULL ORDER BY id"
        )
        return [int(row["id"]) for row in rows]

    def mark_revealed(self, run_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET revealed_at = ? WHERE id = ?", [utcnow(), run_id])

    def event_seen(self, event_id: str) -> bool:
        rows = self.query("SELECT 1 FROM processed_events WHERE event_id = ?", [event_id])
        return bool(rows)
