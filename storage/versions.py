"""Prompt versions: each prompt's numbered templates, and what each cost."""

from __future__ import annotations

from typing import Any

from promptbot.domain import Version
from promptbot.errors import NotFound
from storage.base import StoreBase


def version_from_row(row: dict[str, Any], id_column: str = "id") -> Version:
    """A Version from a row of the versions-and-prompts join (runs name its id version_id)."""
    return Version(
        id=row[id_column],
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


class VersionQueries(StoreBase):
    _VERSION_SELECT = """
        SELECT versions.*, versions.created_at AS version_created_at, prompts.name AS prompt_name
        FROM versions JOIN prompts ON prompts.id = versions.prompt_id
        WHERE prompts.deleted_at IS NULL
    """

    def versions(self, prompt_name: str) -> list[Version]:
        """Every version of a prompt, oldest first; NotFound if there is none."""
        rows = self.query(
            self._VERSION_SELECT + " AND prompts.name = ? ORDER BY versions.number", [prompt_name]
        )
        if not rows:
            raise NotFound(f"no prompt named '{prompt_name}'")
        return [version_from_row(row) for row in rows]

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
        return version_from_row(rows[0])

    def version_costs(self, version_id: int) -> tuple[int, float]:
        """(candidates, summed cost) for the answers this version produced."""
        rows = self.query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(c.cost), 0) AS cost FROM candidates c"
            " JOIN runs ON runs.id = c.run_id"
            " WHERE COALESCE(c.version_id, runs.version_id) = ? AND runs.deleted_at IS NULL",
            [version_id],
        )
        return int(rows[0]["n"]), float(rows[0]["cost"])
