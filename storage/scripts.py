"""Migration scripts, run statement by statement inside their migration's transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator

from sqlite_utils import Database


def statements(script: str) -> Iterator[str]:
    """The statements of ``script``, each whole and stripped: it is cut only where a
    ``;`` completes one, so one in a string, a comment or a trigger's body is kept."""
    pending = ""
    for piece in re.split(r"(?<=;)", script):
        pending += piece
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending.strip()


class ScriptedDatabase(Database):
    """sqlite-utils' Database, but a script run inside a transaction (a migration's) is
    cut into statements at its semicolons: sqlite-utils 4 tests every prefix of the
    script, one character longer each time, which made migrating a blank database most
    of the bot's start-up after the imports."""

    def executescript(self, sql: str) -> sqlite3.Cursor:
        if not self.conn.in_transaction or self._tracer is not None:
            return super().executescript(sql)
        return _execute_each(self.conn.cursor(), statements(sql))


def _execute_each(cursor: sqlite3.Cursor, each: Iterable[str]) -> sqlite3.Cursor:
    for statement in each:
        cursor.execute(statement)
    return cursor
