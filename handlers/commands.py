"""The /prompt slash command. Every branch acks within Slack's 3 s: the slow part
(model calls) is handed to the runner after the proposal is recorded."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.surface import Surface
from promptbot.commands import (
    help_text,
    parse_command,
    parse_models_option,
    parse_run_id,
    split_propose_body,
)
from promptbot.errors import UsageError
from promptbot.modals import propose_modal
from promptbot.render import escape, run_list
from promptbot.service import Proposal, ReviewService

COMMAND = "/prompt"


def register(app: App, surface: Surface, service: ReviewService) -> None:
    @surface.command(app, COMMAND, "Propose and review prompts", "help | new | propose NAME | list")
    def prompt_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        parsed = parse_command(command.get("text", ""))
        if parsed.name == "new":
            ack()
            client.views_open(
                trigger_id=command["trigger_id"],
                view=propose_modal(service.config, command["channel_id"]),
            )
        elif parsed.name == "propose":
            args, models = parse_models_option(parsed.args)
            if len(args) != 1:
                raise UsageError("usage: /prompt propose NAME, then the template on the next lines")
            template, inputs = split_propose_body(parsed.body)
            run = service.propose(
                Proposal(
                    name=args[0],
                    template=template,
                    author=command["user_id"],
                    channel=command["channel_id"],
                    models=models,
                    inputs=inputs,
                )
            )
            ack(
                text=f"Proposed *{escape(run.version.prompt_name)}* v{run.version.number}"
                f" (run #{run.id}): the review thread is on its way in <#{run.channel}>."
            )
        elif parsed.name == "reveal":
            run = service.reveal(
                parse_run_id(parsed.args, "/prompt reveal RUN"), command["user_id"]
            )
            ack(text=f"Closing run #{run.id} and revealing its candidates in the thread.")
        elif parsed.name == "list":
            message = run_list(service.recent())
            ack(text=message.text, blocks=message.blocks)
        else:
            prefix = f"Unknown subcommand `{escape(parsed.args[0])}`.\n" if parsed.args else ""
            ack(text=prefix + help_text())
