"""``/prompt digest`` and ``leaderboard``: the standings, worked out off the listener
thread and shown to the caller alone."""

from __future__ import annotations

from handlers.invocation import Invocation, reply_later
from handlers.subcommands import Subcommands
from promptbot.digest.service import parse_leaderboard_args

SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "digest",
    help="preview the digest so far, just for you.",
    doc="Previews the digest so far, visible only to you.",
    hinted=True,
)
def digest(call: Invocation) -> None:
    call.ack(text="Working out the digest so far; it will appear here in a moment.")
    reply_later(call, "digest preview", call.services.digests.preview)


@SUBCOMMANDS.add(
    "leaderboard",
    "[prompts|models] [week|month|all]",
    help="the ranking, just for you.",
    doc="The prompt leaderboard or the model ranking for a time window, visible only to you.",
    hinted=True,
)
def leaderboard(call: Invocation) -> None:
    kind, window = parse_leaderboard_args(call.parsed.args)
    call.ack(text=f"Ranking {kind} ({window}); it will appear here in a moment.")
    digests = call.services.digests
    reply_later(call, "leaderboard", lambda: digests.leaderboard(kind, window))
