"""What the core needs from Slack to deliver a run, as a Protocol; the Slack side is
handlers/publisher.py, over the one gateway (handlers/slack_gateway.py).

Every post of a run carries a tag (Slack message metadata: an event type and a small
payload), so that a post whose outcome is unknown can be looked for before it is made
again. Every method raises PublishError when Slack refuses, and SlackUnavailable when
Slack stayed out of reach until the gateway's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from promptbot.render.blocks import Message

RUN_EVENT = "promptbot_run"
CANDIDATE_EVENT = "promptbot_candidate"
NOTICE_EVENT = "promptbot_notice"


@dataclass(frozen=True)
class Tag:
    """A post's message metadata: ``event_type`` and ``event_payload``."""

    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "event_payload": dict(self.payload)}


def parent_tag(run_id: int) -> Tag:
    return Tag(RUN_EVENT, {"run": run_id})


def candidate_tag(candidate_id: int, part: int = 0) -> Tag:
    """A candidate's message; a long answer is several parts, each tagged."""
    return Tag(CANDIDATE_EVENT, {"candidate": candidate_id, "part": part})


def notice_tag(run_id: int, name: str) -> Tag:
    return Tag(NOTICE_EVENT, {"run": run_id, "notice": name})


class Publisher(Protocol):
    """Where runs are posted."""

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        tag: Tag | None = None,
        look_first: bool = False,
        since: float | None = None,
    ) -> str:
        """Post once; return the ts. ``look_first``: an earlier attempt may have landed,
        so look for the tag (in the thread, or the channel since ``since``) first."""
        ...

    def find(
        self, channel: str, tag: Tag, *, thread_ts: str | None = None, since: float | None = None
    ) -> list[str]:
        """The ts of posts carrying ``tag``, oldest first."""
        ...

    def permalink(self, channel: str, ts: str) -> str | None: ...

    def add_reactions(self, channel: str, ts: str, names: list[str]) -> None: ...

    def update_message(self, channel: str, ts: str, message: Message) -> None: ...

    def tell(
        self, channel: str, user: str, message: Message, *, response_url: str | None = None
    ) -> None:
        """A message only ``user`` sees (buttons included): ephemeral in ``channel``,
        else through the command's ``response_url``, else a direct message."""
        ...

    def post_reply(self, channel: str, thread_ts: str, message: Message) -> str:
        """An untagged reply (a notice nobody needs to find again)."""
        ...
