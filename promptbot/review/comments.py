"""Comments: what people write in a review thread, kept as Slack shows it now.

A reply is a comment whether it is plain text, also sent to the channel, or carries
files (their names, types and permalinks are kept; the files are not downloaded). An
edit replaces the text and keeps the earlier one; a deletion takes the comment out of
exports and counts. Each Slack event is applied once (Slack redelivers), and replies
outside review threads are not ours to keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage import Store
from storage.feedback import CommentOutcome


@dataclass(frozen=True)
class Reply:
    channel: str
    thread_ts: str
    ts: str
    user_id: str
    text: str
    files: list[dict[str, str]] = field(default_factory=list)


class ThreadComments:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _where(self, reply: Reply) -> dict[str, Any] | None:
        """Which stored comment ``reply`` is, or None outside review threads."""
        run_id = self.store.find_thread(reply.channel, reply.thread_ts)
        if run_id is None:
            return None
        return {
            "channel": reply.channel,
            "ts": reply.ts,
            "run_id": run_id,
            "user_id": reply.user_id,
        }

    def add(self, event_id: str, reply: Reply) -> bool:
        where = self._where(reply)
        if where is None:
            return False
        return self.store.add_comment(
            event_id=event_id, text=reply.text, files=reply.files, **where
        )

    def edit(self, event_id: str, reply: Reply, edited_ts: str) -> CommentOutcome | None:
        where = self._where(reply)
        if where is None:
            return None
        return self.store.edit_comment(
            event_id=event_id, text=reply.text, files=reply.files, edited_ts=edited_ts, **where
        )

    def delete(self, event_id: str, reply: Reply) -> CommentOutcome | None:
        """``reply`` is the deleted message as Slack last showed it."""
        where = self._where(reply)
        return None if where is None else self.store.delete_comment(event_id=event_id, **where)
