"""The store's foundation: migrations on open, one connection per thread, and every
multi-row write in one ``BEGIN IMMEDIATE`` transaction.

Bolt listeners, the run executor and scheduler jobs all run on threads, and a
SQLite connection must not cross threads, so each thread gets its own.

A write the database cannot take (locked past the wait allowed, disk full, read-only)
raises StorageUnavailable and leaves nothing behind. Code that must answer Slack in
time waits for the write lock only as long as its ``budget`` (or the thread's
``deadline``) allows.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from promptbot.errors import StorageError, StorageUnavailable
from storage.migrations import migrations
from storage.scripts import ScriptedDatabase

# How long a write waits for another writer's lock when nothing more pressing is
# waiting on it (a model run, a scheduled job).
LOCK_WAIT_SECONDS = 30.0

# A connection that leaves checkpoints to a thread of their own still makes one itself
# past this many WAL pages (40 MB), should that thread fall behind.
DEFERRED_CHECKPOINT_PAGES = 10_000

# Below this much free space a write may fail half-way (the WAL grows a page at a
# time), so the database is reported full before SQLite finds out itself.
MIN_FREE_BYTES = 1 << 20

# SQLite's primary result codes that mean "not now", as opposed to a bug in our SQL.
_UNAVAILABLE = {
    5: "the database is locked by another writer",  # SQLITE_BUSY
    6: "the database is locked by another writer",  # SQLITE_LOCKED
    8: "the database is read-only",  # SQLITE_READONLY
    10: "the disk failed to write",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
}


def unavailable(error: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable ``error`` is or stands for, or None if it is something
    else (a bug in our SQL, say): so callers can tell "try again later" from "broken"."""
    if isinstance(error, StorageUnavailable):
        return error
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(error, sqlite3.Error) or not isinstance(code, int):
        return None
    reason = _UNAVAILABLE.get(code & 0xFF)
    return StorageUnavailable(reason) if reason else None


def stamp(moment: datetime) -> str:
    """How times are stored: UTC, to the microsecond, one fixed width, so that text
    order is time order and nothing recorded in the same second is out of range."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utcnow() -> str:
    return stamp(datetime.now(UTC))


class StoreBase:
    # The schema this file is migrated to (the event inbox's file has its own).
    schema: Migrations = migrations
    # Whether every connection leaves checkpoints to ``checkpoint()`` (defer_checkpoints).
    checkpoints_deferred = False

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """``read_only``: for commands that only read (export, digest --print), so a
        backup can be inspected where nothing may be written. Nothing is migrated then:
        a database at an older schema is refused in one line."""
        self.path = str(path)
        self.read_only = read_only
        self._immutable = False
        self._local = threading.local()
        # Writers in this process queue here rather than in SQLite's busy handler, which
        # sleeps in growing steps (up to 100 ms) and wakes late; a thread waiting on
        # this lock runs as soon as the previous transaction commits. Other processes
        # on the same file still wait in busy_timeout.
        self._write_lock = threading.RLock()
        try:
            if self.path != ":memory:":
                parent = Path(self.path).resolve().parent
                if not parent.is_dir():
                    raise StorageError(f"cannot open database {self.path}: no such directory")
                if read_only and not Path(self.path).is_file():
                    raise StorageError(f"cannot open database {self.path}: no such file")
            if read_only:
                self._check_schema()
                return
            db = self._db()
            db.enable_wal()
            self.schema.apply(db)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open database {self.path}: {error}") from None

    def _check_schema(self) -> None:
        try:
            pending = self.schema.pending(self._db())
        except sqlite3.OperationalError:
            # A WAL database in a folder nobody may write to: SQLite cannot make its
            # shared-memory file, but the file can still be read as it stands.
            self.close()
            self._immutable = True
            pending = self.schema.pending(self._db())
        if pending:
            raise StorageError(
                f"database {self.path} is at an older schema (it lacks {pending[0].name});"
                " it is opened read-only here, so open it once with `promptbot run` to migrate"
            )

    # -- connections and transactions ---------------------------------------

    def _db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: we issue BEGIN ourselves, so writes can be IMMEDIATE.
            conn = sqlite3.connect(
                self._uri() if self.read_only else self.path,
                timeout=30,
                isolation_level=None,
                uri=self.read_only,
            )
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT_SECONDS * 1000)}")
            self._local.busy_ms = int(LOCK_WAIT_SECONDS * 1000)
            # With WAL, NORMAL never corrupts and survives a crash of the process; only
            # a power cut may lose the last commits. FULL would fsync every commit.
            conn.execute("PRAGMA synchronous = NORMAL")
            if self.checkpoints_deferred:
                conn.execute(f"PRAGMA wal_autocheckpoint = {DEFERRED_CHECKPOINT_PAGES}")
            db = ScriptedDatabase(conn)
            self._local.db = db
        return db

    def _uri(self) -> str:
        uri = Path(self.path).resolve().as_uri()
        return uri + ("?mode=ro&immutable=1" if self._immutable else "?mode=ro")

    @contextmanager
    def transaction(
        self, budget: float | None = None, *, savepoints: bool = True
    ) -> Iterator[Database]:
        """One write transaction. IMMEDIATE takes the write lock up front, so two
        processes deduping the same event cannot both decide it is new.

        ``budget`` caps the seconds spent waiting for that lock. Called inside another
        transaction on this thread, it becomes a savepoint of that one, so several
        writes that make one record commit or vanish together; or, when the outer one
        was opened with ``savepoints=False``, simply part of it (an error anywhere
        then undoes all of it: for batches that are tried again one by one)."""
        db = self._db()
        depth: int = getattr(self._local, "depth", 0)
        if depth:
            if getattr(self._local, "flat", False):
                yield db
                return
            yield from self._savepoint(db, depth)
            return
        self._begin(db, budget)
        self._local.depth = 1
        self._local.flat = not savepoints
        try:
            yield db
            db.conn.execute("COMMIT")
        except BaseException as error:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            translated = unavailable(error)
            if translated is not None and translated is not error:
                raise translated from error
            raise
        finally:
            self._local.depth = 0
            self._local.flat = False
            self._write_lock.release()

    def _savepoint(self, db: Database, depth: int) -> Iterator[Database]:
        db.conn.execute("SAVEPOINT nested")
        self._local.depth = depth + 1
        try:
            yield db
        except BaseException:
            # SQLite rolls the whole transaction back itself on some errors (disk full,
            # I/O): then there is no savepoint left, and the error is the one to report.
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK TO nested")
                db.conn.execute("RELEASE nested")
            raise
        else:
            db.conn.execute("RELEASE nested")
        finally:
            self._local.depth = depth

    def _begin(self, db: Database, budget: float | None) -> None:
        """Take this process's write lock, then SQLite's, each within what is left of
        ``budget`` and of the thread's deadline. Release ``_write_lock`` after."""
        started = time.monotonic()
        limit = budget
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None:
            left = deadline - started
            limit = left if limit is None else min(limit, left)
        if not self._write_lock.acquire(timeout=-1 if limit is None else max(0.0, limit)):
            raise StorageUnavailable(_UNAVAILABLE[5])
        try:
            remaining = None if limit is None else limit - (time.monotonic() - started)
            self._wait_for_lock_at_most(db, remaining)
            try:
                db.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise (unavailable(error) or error) from error
        except BaseException:
            self._write_lock.release()
            raise

    def _wait_for_lock_at_most(self, db: Database, seconds: float | None) -> None:
        """Set how long SQLite waits for another process's write lock (None: the usual
        LOCK_WAIT_SECONDS). Rounded down to a tenth of a second, so that the budgets of
        writes that answer Slack, which differ by milliseconds, seldom change it: each
        change is a statement of its own."""
        if seconds is None:
            wanted = int(LOCK_WAIT_SECONDS * 1000)
        else:
            wanted = max(0, int(seconds * 1000))
            wanted = wanted if wanted < 100 else wanted // 100 * 100
        if getattr(self._local, "busy_ms", None) != wanted:
            db.execute(f"PRAGMA busy_timeout = {wanted}")
            self._local.busy_ms = wanted

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Every write on this thread within the block waits for the lock only until
        ``seconds`` from now: for work that owes someone an answer in time."""
        previous: float | None = getattr(self._local, "deadline", None)
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.deadline = previous

    def check_writable(self, budget: float = 1.0) -> None:
        """Raise StorageUnavailable unless a write would succeed now: the file takes
        writes (a no-op update is refused when it is read-only) and the disk has room."""
        if self.path != ":memory:":
            stats = os.statvfs(Path(self.path).resolve().parent)
            if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
                raise StorageUnavailable(_UNAVAILABLE[13])
        db = self._db()
        self._begin(db, budget)
        try:
            db.execute("UPDATE inbox SET id = id WHERE id = -1")
        except sqlite3.Error as error:
            raise (unavailable(error) or error) from error
        finally:
            db.execute("ROLLBACK")
            self._write_lock.release()

    def connection(self) -> Database:
        """This thread's connection, for read queries elsewhere in storage/."""
        return self._db()

    def defer_checkpoints(self) -> None:
        """This thread's commits leave copying the WAL back into the database to
        ``checkpoint()`` on another thread (unless the WAL grows past a backstop): a
        checkpoint was most of a commit's cost for the event worker at a million rows."""
        self._db().execute(f"PRAGMA wal_autocheckpoint = {DEFERRED_CHECKPOINT_PAGES}")

    def checkpoint(self) -> None:
        """Copy what the WAL holds back into the database, without waiting for or
        blocking writers (SQLite's PASSIVE checkpoint)."""
        self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        db: Database | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        # On the connection itself: sqlite-utils 4 wraps each query() in a SAVEPOINT
        # and its RELEASE, three statements (and a transaction) for every read.
        cursor = self._db().conn.execute(sql, params)
        keys = [column[0] for column in cursor.description]
        return [dict(zip(keys, row, strict=True)) for row in cursor]
