"""The digest's ledger: which period was claimed by whom, and what reached each channel.

A period row is claimed with an insert inside ``BEGIN IMMEDIATE``, so two processes
on one database cannot both believe they own it. The claim carries a lease: a live
owner's claim is respected, an expired one may be taken over. Each channel's post is
recorded as ``posting`` before Slack is called and ``posted`` (with its ts) after, so
a retry knows which posts are certain and which need a lookup first.

Period statuses: ``posting`` (claimed, work in progress or interrupted), ``posted``
(every channel done), ``skipped`` (came due outside the grace window).
All times are stored as UTC ISO strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlite_utils import Database

from storage.base import StoreBase

ClaimResult = Literal["claimed", "posted", "skipped", "held"]
# What a channel's post needs: "fresh" (never tried), "uncertain" (tried; may have
# reached Slack), "posted", or "lost" (the caller no longer holds the period's lease).
ChannelState = Literal["fresh", "uncertain", "posted", "lost"]


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("digest times must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class PeriodRecord:
    key: str
    scheduled_for: datetime
    status: str
    claimed_by: str
    claimed_at: datetime
    lease_until: datetime
    posted_at: datetime | None
    manual: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PeriodRecord:
        return cls(
            key=row["period_key"],
            scheduled_for=datetime.fromisoformat(row["scheduled_for"]),
            status=row["status"],
            claimed_by=row["claimed_by"],
            claimed_at=datetime.fromisoformat(row["claimed_at"]),
            lease_until=datetime.fromisoformat(row["lease_until"]),
            posted_at=_time(row["posted_at"]),
            manual=bool(row["manual"]),
        )


@dataclass(frozen=True)
class ChannelPost:
    channel: str
    status: str  # "posting" or "posted"
    ts: str | None


class DigestLog:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    @staticmethod
    def _period(db: Database, key: str) -> PeriodRecord | None:
        rows = list(db.query("SELECT * FROM digest_periods WHERE period_key = ?", [key]))
        return PeriodRecord.from_row(rows[0]) if rows else None

    def period(self, key: str) -> PeriodRecord | None:
        rows = self.store.query("SELECT * FROM digest_periods WHERE period_key = ?", [key])
        return PeriodRecord.from_row(rows[0]) if rows else None

    def recent(self, limit: int = 10) -> list[PeriodRecord]:
        rows = self.store.query(
            "SELECT * FROM digest_periods ORDER BY scheduled_for DESC, period_key DESC LIMIT ?",
            [limit],
        )
        return [PeriodRecord.from_row(row) for row in rows]

    def posts(self, key: str) -> list[ChannelPost]:
        rows = self.store.query(
            "SELECT channel, status, ts FROM digest_posts WHERE period_key = ? ORDER BY channel",
            [key],
        )
        return [ChannelPost(row["channel"], row["status"], row["ts"]) for row in rows]

    def claim(
        self,
        key: str,
        scheduled_for: datetime,
        owner: str,
        now: datetime,
        lease_until: datetime,
        *,
        manual: bool = False,
        retake_skipped: bool = False,
    ) -> tuple[ClaimResult, PeriodRecord]:
        """Claim a period for ``owner`` until ``lease_until``.

        "held": someone's lease is still live (even ``owner``'s own: one claim, one
        worker). An expired ``posting`` claim is taken over. A ``skipped`` period is
        only taken when ``retake_skipped`` (a manual post that counts for it).
        """
        with self.store.transaction() as db:
            record = self._period(db, key)
            if record is None:
                db.execute(
                    "INSERT INTO digest_periods (period_key, scheduled_for, status, claimed_by,"
                    " claimed_at, lease_until, manual) VALUES (?, ?, 'posting', ?, ?, ?, ?)",
                    [key, _iso(scheduled_for), owner, _iso(now), _iso(lease_until), int(manual)],
                )
            elif record.status == "posted":
                return "posted", record
            elif record.status == "skipped" and not retake_skipped:
                return "skipped", record
            elif record.status == "posting" and record.lease_until > now:
                return "held", record
            else:
                db.execute(
                    "UPDATE digest_periods SET status = 'posting', claimed_by = ?, claimed_at = ?,"
                    " lease_until = ?, manual = MAX(manual, ?) WHERE period_key = ?",
                    [owner, _iso(now), _iso(lease_until), int(manual), key],
                )
            claimed = self._period(db, key)
        assert claimed is not None
        return "claimed", claimed

    def skip(self, key: str, scheduled_for: datetime, owner: str, now: datetime) -> bool:
        """Record a period as skipped (it came due outside the grace window), unless
        it already has a row. True if this call recorded it."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO digest_periods (period_key, scheduled_for, status,"
                " claimed_by, claimed_at, lease_until) VALUES (?, ?, 'skipped', ?, ?, ?)",
                [key, _iso(scheduled_for), owner, _iso(now), _iso(now)],
            )
            return cursor.rowcount == 1

    def begin_channel(
        self, key: str, channel: str, owner: str, now: datetime, lease_until: datetime
    ) -> ChannelState:
        """Before posting to a channel: check ``owner`` still holds the period, renew
        the lease, and mark the channel ``posting``. Returns what the post needs.

        An expired lease nobody has taken over is still ``owner``'s: only a takeover
        (another ``claimed_by``) fences a slow worker out."""
        with self.store.transaction() as db:
            record = self._period(db, key)
            if record is None or record.status != "posting" or record.claimed_by != owner:
                return "lost"
            db.execute(
                "UPDATE digest_periods SET lease_until = ? WHERE period_key = ?",
                [_iso(lease_until), key],
            )
            rows = list(
                db.query(
                    "SELECT status FROM digest_posts WHERE period_key = ? AND channel = ?",
                    [key, channel],
                )
            )
            if rows:
                return "posted" if rows[0]["status"] == "posted" else "uncertain"
            db.execute(
                "INSERT INTO digest_posts (period_key, channel, status) VALUES (?, ?, 'posting')",
                [key, channel],
            )
            return "fresh"

    def mark_posted(self, key: str, channel: str, ts: str) -> None:
        """Record a post that reached Slack. Recorded even if the lease was lost
        meanwhile: the message exists, and saying so prevents a second one."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO digest_posts (period_key, channel, status, ts) VALUES (?, ?, 'posted', ?)"
                " ON CONFLICT (period_key, channel) DO UPDATE SET status = 'posted', ts = excluded.ts",
                [key, channel, ts],
            )

    def finish(self, key: str, owner: str, now: datetime) -> bool:
        """Mark the period posted (every channel is). False if ``owner`` lost it."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE digest_periods SET status = 'posted', posted_at = ?, lease_until = ?"
                " WHERE period_key = ? AND claimed_by = ? AND status = 'posting'",
                [_iso(now), _iso(now), key, owner],
            )
            return cursor.rowcount == 1

    def release(self, key: str, owner: str, now: datetime) -> None:
        """End ``owner``'s lease early, so the next attempt need not wait for it."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE digest_periods SET lease_until = ?"
                " WHERE period_key = ? AND claimed_by = ? AND status = 'posting'",
                [_iso(now), key, owner],
            )
