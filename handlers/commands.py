"""The /prompt slash command. Every branch acks within Slack's 3 s: slow work (model
calls, statistics) runs on the bot's own pools after the ack, and reaches the user as
a thread or an ephemeral message.

``SUBCOMMANDS`` is every subcommand, joined from the modules that declare them (see
handlers/subcommands.py): add a module's list here, in the order ``/prompt help`` shows.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import (
    admin,
    digest,
    export,
    lifecycle,
    proposals,
    reminders,
    screening,
    test_sets,
)
from handlers.invocation import Invocation, Services
from handlers.subcommands import COMMAND, Subcommands
from handlers.surface import Surface
from promptbot.prompts.commands import parse_command
from promptbot.render.blocks import escape

HELP = Subcommands()


@HELP.add(
    "help",
    help="this list.",
    doc="Lists every subcommand (unknown subcommands show it too).",
    hinted=True,
)
def show_help(call: Invocation) -> None:
    unknown = call.parsed.args[0] if call.parsed.args else None
    prefix = f"Unknown subcommand `{escape(unknown)}`.\n" if unknown else ""
    call.ack(text=prefix + SUBCOMMANDS.help_text())


SUBCOMMANDS = (
    HELP
    + proposals.SUBCOMMANDS
    + lifecycle.SUBCOMMANDS
    + screening.SUBCOMMANDS
    + test_sets.SUBCOMMANDS
    + export.SUBCOMMANDS
    + admin.SUBCOMMANDS
    + reminders.SUBCOMMANDS
    + digest.SUBCOMMANDS
)


def register(app: App, surface: Surface, services: Services) -> None:
    handlers = SUBCOMMANDS.dispatch_table()

    @surface.command(app, COMMAND, "Propose and review prompts", SUBCOMMANDS.usage_hint())
    def prompt_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        parsed = parse_command(command.get("text", ""), SUBCOMMANDS.names)
        handlers[parsed.name](Invocation(parsed, command, ack, client, services))
