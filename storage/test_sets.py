"""Test sets in SQLite: named rows of variable values, one list per (prompt, name).

Rows are kept as one JSON list, since a set is always read and replaced whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlite_utils import Database

from promptbot.errors import NotFound
from storage.base import StoreBase, utcnow


class TestSets:
    # The name starts with "Test": tell pytest it is not a test class when imported.
    __test__ = False

    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def _prompt_id(self, db: Database | None, prompt: str) -> int:
        sql = "SELECT id FROM prompts WHERE name = ? AND deleted_at IS NULL"
        rows = list((db or self.store.connection()).query(sql, [prompt]))
        if not rows:
            raise NotFound(f"no prompt named '{prompt}'")
        return int(rows[0]["id"])

    def latest_template(self, prompt: str) -> str:
        """The template of the prompt's newest version."""
        rows = self.store.query(
            "SELECT versions.template FROM versions JOIN prompts ON prompts.id = versions.prompt_id"
            " WHERE prompts.name = ? AND prompts.deleted_at IS NULL"
            " ORDER BY versions.number DESC LIMIT 1",
            [prompt],
        )
        if not rows:
            raise NotFound(f"no prompt named '{prompt}'")
        return str(rows[0]["template"])

    def save(
        self,
        prompt: str,
        name: str,
        rows: Sequence[Mapping[str, str]],
        by: str,
        checks: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Create the set, or replace its rows if the prompt already has one of that name.
        ``checks``: each row's checks (its ``__expected`` column), if any row has some."""
        kept = json.dumps([list(c) for c in checks]) if checks and any(checks) else None
        with self.store.transaction() as db:
            prompt_id = self._prompt_id(db, prompt)
            db.execute(
                "INSERT INTO test_sets (prompt_id, name, rows, created_by, created_at, checks)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (prompt_id, name) DO UPDATE SET rows = excluded.rows,"
                " created_by = excluded.created_by, created_at = excluded.created_at,"
                " checks = excluded.checks",
                [prompt_id, name, json.dumps([dict(row) for row in rows]), by, utcnow(), kept],
            )

    def checks(self, prompt: str, name: str) -> list[list[str]]:
        """Each row's checks, in row order; empty lists when the set has none."""
        prompt_id = self._prompt_id(None, prompt)
        found = self.store.query(
            "SELECT rows, checks FROM test_sets WHERE prompt_id = ? AND name = ?",
            [prompt_id, name],
        )
        if not found or found[0]["checks"] is None:
            return [[] for _ in json.loads(found[0]["rows"])] if found else []
        return [[str(c) for c in row] for row in json.loads(found[0]["checks"])]

    def get(self, prompt: str, name: str) -> list[dict[str, str]]:
        prompt_id = self._prompt_id(None, prompt)
        found = self.store.query(
            "SELECT rows FROM test_sets WHERE prompt_id = ? AND name = ?", [prompt_id, name]
        )
        if not found:
            names = self.names(prompt)
            have = f"it has {', '.join(names)}" if names else "it has none yet"
            raise NotFound(f"prompt {prompt} has no test set '{name}'; {have}")
        rows: list[dict[str, Any]] = json.loads(found[0]["rows"])
        return [{str(key): str(value) for key, value in row.items()} for row in rows]

    def names(self, prompt: str) -> list[str]:
        prompt_id = self._prompt_id(None, prompt)
        found = self.store.query(
            "SELECT name FROM test_sets WHERE prompt_id = ? ORDER BY name", [prompt_id]
        )
        return [str(row["name"]) for row in found]
