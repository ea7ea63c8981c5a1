"""A migration's script runs statement by statement inside the migration's transaction
(storage/scripts.py cuts it at the semicolons that end a statement), so a failing
statement undoes the ones before it and nothing is recorded as applied."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils.migrations import Migrations

from storage import Store
from storage.scripts import statements

TRICKY = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT 'a;b');  -- a comment; with ;
CREATE TABLE log (note_id INTEGER);
/* a block; comment */
CREATE TRIGGER noted AFTER INSERT ON notes BEGIN
    INSERT INTO log VALUES (new.id);
    INSERT INTO log VALUES (-new.id);
END;
INSERT INTO notes (body) VALUES ('x;y')
"""


def test_statements_are_cut_only_where_a_semicolon_ends_one() -> None:
    assert list(statements(TRICKY)) == [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT 'a;b');",
        "-- a comment; with ;\nCREATE TABLE log (note_id INTEGER);",
        "/* a block; comment */\nCREATE TRIGGER noted AFTER INSERT ON notes BEGIN\n"
        "    INSERT INTO log VALUES (new.id);\n    INSERT INTO log VALUES (-new.id);\nEND;",
        "INSERT INTO notes (body) VALUES ('x;y')",
    ]
    assert list(statements("  \n-- nothing\n")) == ["-- nothing"]
    assert list(statements("")) == []


def _store_with(tmp_path, *scripts: str) -> Store:
    class Scripted(Store):
        schema = Migrations("scripted")

    for number, script in enumerate(scripts):

        def migrate(db, script=script):
            db.executescript(script)

        Scripted.schema(name=f"m{number}")(migrate)
    return Scripted(tmp_path / "s.db")


def test_a_migration_script_runs_whole(tmp_path) -> None:
    store = _store_with(tmp_path, TRICKY)
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT body FROM notes").fetchall() == [("x;y",)]
    assert conn.execute("SELECT note_id FROM log ORDER BY note_id").fetchall() == [(-1,), (1,)]


def test_a_failing_statement_undoes_its_migration(tmp_path) -> None:
    with pytest.raises(Exception, match="no such table"):
        _store_with(
            tmp_path, "CREATE TABLE kept (x);", "CREATE TABLE gone (x); SELECT * FROM nope;"
        )
    conn = sqlite3.connect(tmp_path / "s.db")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "kept" in tables and "gone" not in tables
    applied = [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert applied == ["m0"]
