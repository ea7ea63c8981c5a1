"""The /prompt slash command. Every branch acks within Slack's 3 s: slow work (model
calls, statistics) runs on the bot's own pools after the ack, and reaches the user as
a thread or an ephemeral message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.invocation import Invocation, Services, Subcommand, reply_later
from handlers.lifecycle import started
from handlers.surface import Surface
from promptbot.digest.service import parse_leaderboard_args
from promptbot.errors import UsageError
from promptbot.prompts.commands import (
    help_text,
    parse_command,
    parse_models_option,
    parse_run_id,
    split_propose_body,
)
from promptbot.render.messages import Message, escape, run_list
from promptbot.render.modals import propose_modal
from promptbot.review.service import Proposal

COMMAND = "/prompt"

Feature = Callable[[Services], dict[str, Subcommand]]


def register(app: App, surface: Surface, services: Services, features: list[Feature]) -> None:
    """``features`` each contribute their subcommands (see handlers/app.py)."""
    service, digests = services.review, services.digests

    def later(call: Invocation, what: str, make: Callable[[], Message]) -> None:
        reply_later(services, call, what, make)

    def new(call: Invocation) -> None:
        call.ack()
        call.client.views_open(
            trigger_id=call.command["trigger_id"], view=propose_modal(service.config, call.channel)
        )

    def propose(call: Invocation) -> None:
        args, models = parse_models_option(call.parsed.args)
        if len(args) != 1:
            raise UsageError("usage: /prompt propose NAME, then the template on the next lines")
        template, inputs = split_propose_body(call.parsed.body)
        run = service.propose(
            Proposal(
                name=args[0],
                template=template,
                author=call.user,
                channel=call.channel,
                models=models,
                inputs=inputs,
            )
        )
        message = started(run, services)
        call.ack(text=message.text, blocks=message.blocks or None)

    def list_runs(call: Invocation) -> None:
        message = run_list(service.recent())
        call.ack(text=message.text, blocks=message.blocks)

    def reveal(call: Invocation) -> None:
        run = service.reveal(parse_run_id(call.parsed.args, "/prompt reveal RUN"), call.user)
        call.ack(text=f"Closing run #{run.id} and revealing its candidates in the thread.")

    def digest(call: Invocation) -> None:
        call.ack(text="Working out the digest so far; it will appear here in a moment.")
        later(call, "digest preview", digests.preview)

    def leaderboard(call: Invocation) -> None:
        kind, window = parse_leaderboard_args(call.parsed.args)
        call.ack(text=f"Ranking {kind} ({window}); it will appear here in a moment.")
        later(call, "leaderboard", lambda: digests.leaderboard(kind, window))

    def show_help(call: Invocation) -> None:
        unknown = call.parsed.args[0] if call.parsed.args else None
        prefix = f"Unknown subcommand `{escape(unknown)}`.\n" if unknown else ""
        call.ack(text=prefix + help_text())

    subcommands: dict[str, Subcommand] = {
        "help": show_help,
        "new": new,
        "propose": propose,
        "list": list_runs,
        "reveal": reveal,
        "digest": digest,
        "leaderboard": leaderboard,
    }
    for feature in features:
        subcommands.update(feature(services))

    @surface.command(
        app,
        COMMAND,
        "Propose and review prompts",
        "help | new | propose NAME | revise NAME | list | digest | leaderboard",
    )
    def prompt_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        parsed = parse_command(command.get("text", ""))
        handle = subcommands.get(parsed.name, not_yet)
        handle(Invocation(parsed, command, ack, client))

    def not_yet(call: Invocation) -> None:
        call.ack(text=f"`/prompt {escape(call.parsed.name)}` is not available in this version.")
