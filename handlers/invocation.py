"""What every /prompt subcommand handler receives, and the shared way to answer
later (off the listener thread) with a message only the caller sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from handlers.publisher import SlackPublisher
from handlers.slack_gateway import LATER_REPLY_SECONDS, SlackGateway
from promptbot.config.settings import AppConfig
from promptbot.digest.service import DigestService
from promptbot.errors import PromptbotError
from promptbot.jobs.install import Install
from promptbot.judge.scoring import Judge
from promptbot.prompts.commands import ParsedCommand
from promptbot.prompts.screening import ScreeningService
from promptbot.render.blocks import Message, escape
from promptbot.review.runner import Runner
from promptbot.review.service import ReviewService
from storage import Store


@dataclass
class Services:
    """The core, as the handlers see it. Feature handlers build their own small core
    objects from these rather than reaching into the app factory."""

    store: Store
    config: AppConfig
    runner: Runner
    review: ReviewService
    digests: DigestService
    publisher: SlackPublisher
    install: Install
    judge: Judge | None = None
    screening: ScreeningService | None = None

    @property
    def slack(self) -> SlackGateway:
        """The one way to Slack's Web API (handlers/slack_gateway.py)."""
        return self.publisher.gateway


@dataclass
class Invocation:
    """One /prompt command: what was typed, by whom, where, how to answer, and the core
    to answer with."""

    parsed: ParsedCommand
    command: dict[str, Any]
    ack: Ack
    client: WebClient
    services: Services

    @property
    def user(self) -> str:
        return str(self.command["user_id"])

    @property
    def channel(self) -> str:
        return str(self.command["channel_id"])

    @property
    def trigger_id(self) -> str:
        return str(self.command["trigger_id"])


def reply_later(call: Invocation, what: str, make: Callable[[], Message]) -> None:
    """Build a reply off the listener thread and send it to the caller alone."""

    def task() -> None:
        try:
            message = make()
        except PromptbotError as error:
            message = Message(f":warning: {escape(str(error))}", [])
        call.services.slack.call(
            "chat_postEphemeral",
            channel=call.channel,
            user=call.user,
            text=message.text,
            blocks=message.blocks,
            deadline=LATER_REPLY_SECONDS,
        )

    call.services.runner.background(task, what)
