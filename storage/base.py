"""The store's foundation: migrations on open, one connection per thread, and every
multi-row write in one ``BEGIN IMMEDIATE`` transaction.

Bolt listeners, the run executor and scheduler jobs all run on threads, and a
SQLite connection must not cross threads, so each thread gets its own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from promptbot.errors import StorageError
from storage.migrations import migrations


def stamp(moment: datetime) -> str:
    """How times are stored: UTC, to the microsecond, one fixed width, so that text
    order is time order and nothing recorded in the same second is out of range."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utcnow() -> str:
    return stamp(datetime.now(UTC))


class StoreBase:
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
            migrations.apply(db)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open database {self.path}: {error}") from None

    def _check_schema(self) -> None:
        try:
            pending = migrations.pending(self._db())
        except sqlite3.OperationalError:
            # A WAL database in a folder nobody may write to: SQLite cannot make its
            # shared-memory file, but the file can still be read as it stands.
            self.close()
            self._immutable = True
            pending = migrations.pending(self._db())
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
            conn.execute("PRAGMA busy_timeout = 30000")
            # With WAL, NORMAL never corrupts and survives a crash of the process; only
            # a power cut may lose the last commits. FULL would fsync every commit.
            conn.execute("PRAGMA synchronous = NORMAL")
            db = Database(conn)
            self._local.db = db
        return db

    def _uri(self) -> str:
        uri = Path(self.path).resolve().as_uri()
        return uri + ("?mode=ro&immutable=1" if self._immutable else "?mode=ro")

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction. IMMEDIATE takes the write lock up front, so two
        processes deduping the same event cannot both decide it is new."""
        db = self._db()
        with self._write_lock:
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
