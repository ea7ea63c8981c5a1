"""/prompt export [NAME] [csv|json]: the export, uploaded to the asker's DM.

The command is acked at once; reading the database and uploading run on the bot's
own pool, since an export of a busy workspace takes longer than Slack's 3 s.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import App

from handlers.invocation import Invocation, Services
from handlers.slack_gateway import LATER_REPLY_SECONDS
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.errors import PromptbotError, PublishError
from promptbot.prompts.export import build_export, check_prompt, parse_export_args
from promptbot.render.blocks import escape
from promptbot.verdicts.confusion import CalibrationRule

logger = logging.getLogger(__name__)


def register(app: App, surface: Surface, services: Services) -> None:
    # files:write to upload, im:write to open the DM it is uploaded to.
    surface.needs("files:write", "im:write")


SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "export",
    "[NAME] [csv|json]",
    help="runs, candidates, ratings and comments as a file, sent to you.",
    doc="Runs, candidates, ratings and comments as a file, sent to you (also `promptbot export`).",
)
def export(call: Invocation) -> None:
    services, slack = call.services, call.services.slack
    prompt, fmt = parse_export_args(call.parsed.args)
    check_prompt(services.store, prompt)  # an unknown name is the command's own reply
    call.ack(text="Preparing your export… it will arrive in a direct message from me.")

    def tell(text: str) -> None:
        slack.call(
            "chat_postEphemeral",
            channel=call.channel,
            user=call.user,
            text=text,
            deadline=LATER_REPLY_SECONDS,
        )

    def send() -> None:
        try:
            rule = CalibrationRule.of(services.config)
            result = build_export(services.store, prompt, fmt, datetime.now(UTC), rule=rule)
            dm = slack.call("conversations_open", users=call.user)["channel"]["id"]
            slack.call(
                "files_upload_v2",
                channel=dm,
                filename=result.filename,
                content=result.content,
                title=result.title,
                initial_comment=f"Your export: {result.summary}."
                " Column meanings: docs/export.md in the promptbot repository.",
            )
        except PromptbotError as error:
            tell(f":warning: {escape(str(error))}")
        except PublishError as error:
            logger.exception("export for %s could not be sent", call.user)
            tell(f":warning: Your export could not be sent ({escape(str(error))}).")

    services.runner.background(send, "export")
