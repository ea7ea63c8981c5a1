"""Whether the workspace still lets the bot in: one row, written when Slack says the app
was uninstalled or its token revoked, cleared when a valid token starts the bot again."""

from __future__ import annotations

from storage.base import StoreBase, utcnow


class InstallState:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def revoke(self, reason: str) -> bool:
        """Record the revocation; True if the install was live until now."""
        with self.store.transaction() as db:
            row = db.execute("SELECT revoked_at FROM install_state WHERE id = 1").fetchone()
            if row is not None and row[0] is not None:
                return False
            db.execute(
                "INSERT INTO install_state (id, revoked_at, reason) VALUES (1, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at,"
                " reason = excluded.reason",
                [utcnow(), reason],
            )
            return True

    def restore(self) -> bool:
        """A valid token is back; True if the install had been revoked."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE install_state SET revoked_at = NULL, reason = NULL, restored_at = ?"
                " WHERE id = 1 AND revoked_at IS NOT NULL",
                [utcnow()],
            )
            return cursor.rowcount == 1

    def revoked_reason(self) -> str | None:
        rows = self.store.query("SELECT reason FROM install_state WHERE revoked_at IS NOT NULL")
        return str(rows[0]["reason"]) if rows else None
