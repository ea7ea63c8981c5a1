"""SQL for "who should look at what": open runs, the reviewers of each channel, who
voted on what, reminder opt-outs and the once-a-day claims. The Home tab reads the
same queries (runs waiting for you, your proposals).

A reviewer of a channel is anyone who rated, voted on a pair or commented in one of
its review threads: we read no channel membership (no extra scope).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from promptbot.domain import AuthoredVersion, OpenRun
from storage.base import StoreBase, stamp, utcnow

# Counted votes on a run: ratings of its candidates, plus on-time votes on its pairs.
_VOTERS = """
    SELECT c.run_id, r.user_id FROM candidates c JOIN ratings r ON r.candidate_id = c.id
    WHERE c.run_id IN (SELECT value FROM json_each(?))
    UNION SELECT pairs.run_id, pv.user_id FROM pairs JOIN pair_votes pv ON pv.pair_id = pairs.id
    WHERE pv.late = 0 AND pairs.run_id IN (SELECT value FROM json_each(?))
"""

_OPEN_RUNS = """
    SELECT runs.id, runs.channel, runs.permalink, runs.created_by, runs.created_at,
           p.name AS prompt, v.number AS version,
           -- a compare's other side: the version of a candidate that is not the run's own
           (SELECT op.name FROM candidates c JOIN versions ov ON ov.id = c.version_id
              JOIN prompts op ON op.id = ov.prompt_id
              WHERE runs.kind = 'compare' AND c.run_id = runs.id
                AND c.version_id != runs.version_id LIMIT 1) AS against_prompt,
           (SELECT ov.number FROM candidates c JOIN versions ov ON ov.id = c.version_id
              WHERE runs.kind = 'compare' AND c.run_id = runs.id
                AND c.version_id != runs.version_id LIMIT 1) AS against_version,
           (SELECT COUNT(*) FROM ratings r JOIN candidates c ON c.id = r.candidate_id
              WHERE c.run_id = runs.id)
           + (SELECT COUNT(*) FROM pair_votes pv JOIN pairs ON pairs.id = pv.pair_id
              WHERE pairs.run_id = runs.id AND pv.late = 0) AS votes
    FROM runs
    JOIN versions v ON v.id = runs.version_id
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.closed_at IS NULL AND runs.deleted_at IS NULL AND runs.thread_ts IS NOT NULL
      AND runs.status IN ('done', 'failed')
      AND p.deleted_at IS NULL AND p.archived_at IS NULL
    ORDER BY runs.id
"""

# Where each person took part: rated, voted on a pair, commented, or proposed.
_PARTICIPATION = """
    SELECT runs.channel, r.user_id FROM ratings r
      JOIN candidates c ON c.id = r.candidate_id JOIN runs ON runs.id = c.run_id
    UNION SELECT runs.channel, r.user_id FROM late_ratings r
      JOIN candidates c ON c.id = r.candidate_id JOIN runs ON runs.id = c.run_id
    UNION SELECT runs.channel, pv.user_id FROM pair_votes pv
      JOIN pairs ON pairs.id = pv.pair_id JOIN runs ON runs.id = pairs.run_id
    UNION SELECT channel, user_id FROM comments
"""


class ReminderStore:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def open_runs(self, fewer_votes_than: int | None = None) -> list[OpenRun]:
        """Posted runs still open for voting, of live, unarchived prompts."""
        runs = [OpenRun(**row) for row in self.store.query(_OPEN_RUNS)]
        if fewer_votes_than is None:
            return runs
        return [run for run in runs if run.votes < fewer_votes_than]

    def reviewers(self) -> dict[str, set[str]]:
        """Channel -> people who rated, voted or commented on a review thread there."""
        found: dict[str, set[str]] = defaultdict(set)
        for channel, user_id in self.store.connection().execute(_PARTICIPATION):
            found[channel].add(user_id)
        return dict(found)

    def proposed_in(self, user_id: str) -> set[str]:
        """Channels where the user proposed a run."""
        rows = self.store.query("SELECT DISTINCT channel FROM runs WHERE created_by = ?", [user_id])
        return {row["channel"] for row in rows}

    def voters(self, run_ids: Iterable[int]) -> dict[int, set[str]]:
        """Run id -> people whose votes on it count, for these runs (read through their
        candidates and pairs, so the cost is theirs, not every rating's)."""
        found: dict[int, set[str]] = defaultdict(set)
        ids = json.dumps(list(run_ids))
        for run_id, user_id in self.store.connection().execute(_VOTERS, [ids, ids]):
            found[run_id].add(user_id)
        return dict(found)

    def proposals_by(self, user_id: str) -> list[AuthoredVersion]:
        """The user's versions of live prompts, newest first."""
        rows = self.store.query(
            "SELECT p.name AS prompt, v.number AS version, p.archived_at IS NOT NULL AS archived,"
            " v.created_at,"
            " (SELECT COUNT(*) FROM runs WHERE runs.version_id = v.id"
            "    AND runs.deleted_at IS NULL) AS runs,"
            " (SELECT permalink FROM runs WHERE runs.version_id = v.id"
            "    AND runs.deleted_at IS NULL AND runs.permalink IS NOT NULL"
            "    ORDER BY runs.id DESC LIMIT 1) AS permalink"
            " FROM versions v JOIN prompts p ON p.id = v.prompt_id"
            " WHERE v.author = ? AND p.deleted_at IS NULL ORDER BY v.created_at DESC, v.id DESC",
            [user_id],
        )
        return [
            AuthoredVersion(
                prompt=row["prompt"],
                version=row["version"],
                archived=bool(row["archived"]),
                runs=row["runs"],
                permalink=row["permalink"],
                created_at=row["created_at"],
            )
            for row in rows
        ]

    # -- opt-outs ----------------------------------------------------------------------

    def opted_out(self) -> set[str]:
        return {row["user_id"] for row in self.store.query("SELECT user_id FROM reminder_optouts")}

    def set_opted_out(self, user_id: str, opted_out: bool) -> bool:
        """True if this changed anything."""
        with self.store.transaction() as db:
            if opted_out:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO reminder_optouts (user_id, at) VALUES (?, ?)",
                    [user_id, utcnow()],
                )
            else:
                cursor = db.execute("DELETE FROM reminder_optouts WHERE user_id = ?", [user_id])
            return cursor.rowcount == 1

    # -- once a day -------------------------------------------------------------------

    def reminded_on(self, day: str) -> set[str]:
        rows = self.store.query("SELECT user_id FROM reminders_sent WHERE day = ?", [day])
        return {row["user_id"] for row in rows}

    def claim(self, user_id: str, day: str, run_ids: list[int], now: datetime) -> bool:
        """Claim the user's reminder for ``day`` before sending it: the primary key lets
        only one process (or one job run) win, so nobody is reminded twice a day."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO reminders_sent (user_id, day, runs, sent_at)"
                " VALUES (?, ?, ?, ?)",
                [user_id, day, json.dumps(run_ids), stamp(now)],
            )
            return cursor.rowcount == 1

    def release(self, user_id: str, day: str) -> None:
        """Give a claim back after the DM failed, so a later run may try again."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM reminders_sent WHERE user_id = ? AND day = ?", [user_id, day])
