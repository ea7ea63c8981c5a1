"""``/prompt close``, ``archive`` and ``delete``, and the delete confirmation buttons.

Refusals raise PermissionDenied before the ack, so the error boundary turns them into
the command's one ephemeral line. Deletion answers with an ephemeral question; its
buttons come back here, and the question is replaced (via the payload's
``response_url``) by what happened.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from handlers.invocation import Invocation, Services
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.errors import UsageError
from promptbot.prompts.admin import DELETE_CANCEL, DELETE_CONFIRM, AdminService, delete_confirmation
from promptbot.prompts.commands import parse_run_id
from promptbot.render.blocks import escape


def admin_service(services: Services) -> AdminService:
    return AdminService(
        services.store, services.config, services.publisher, services.runner.background
    )


def _one_argument(call: Invocation, usage: str) -> str:
    if len(call.parsed.args) != 1:
        raise UsageError(f"usage: {usage}")
    return call.parsed.args[0]


SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "close",
    "RUN",
    help="close voting on a run without revealing it (proposer or admin).",
    doc="Closes voting on a run without revealing it (the proposer or an admin only).",
)
def close(call: Invocation) -> None:
    admin = admin_service(call.services)
    run = admin.close(parse_run_id(call.parsed.args, "/prompt close RUN"), call.user)
    call.ack(
        text=f"Closed voting on run #{run.id} ({escape(run.version.prompt_name)}"
        f" v{run.version.number}); the models stay hidden until `/prompt reveal {run.id}`."
    )


@SUBCOMMANDS.add(
    "archive",
    "NAME",
    help="take a prompt off the leaderboard; its history stays (proposer or admin).",
    doc="Takes a prompt off the leaderboard; its history stays (the proposer or an admin only).",
)
def archive(call: Invocation) -> None:
    admin = admin_service(call.services)
    prompt = admin.archive(_one_argument(call, "/prompt archive NAME"), call.user)
    call.ack(
        text=f"Archived *{escape(prompt.name)}*: it is off the leaderboard; its history stays."
    )


@SUBCOMMANDS.add(
    "delete",
    "NAME",
    "#RUN",
    help="delete after you confirm (proposer or admin); the audit record stays.",
    doc="Deletes a prompt or run after you confirm with a button (the proposer or an admin"
    " only); the audit record of who did what stays.",
)
def delete(call: Invocation) -> None:
    admin = admin_service(call.services)
    target = _one_argument(call, "/prompt delete NAME or /prompt delete #RUN")
    question = delete_confirmation(admin.request_delete(target, call.user))
    call.ack(text=question.text, blocks=question.blocks)


def register(app: App, surface: Surface, services: Services) -> None:
    admin = admin_service(services)

    @surface.action(app, DELETE_CONFIRM)
    def delete_confirmed(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        # Checked and done before the ack (database work only; thread notices go to the
        # background): a refusal raised after ack() would leave Bolt without a response.
        action = body["actions"][0]
        deleted = admin.delete(str(action["value"]), str(body["user"]["id"]))
        ack()
        respond(replace_original=True, text=f"Deleted {deleted.description}.")

    @surface.action(app, DELETE_CANCEL)
    def delete_cancelled(ack: Ack, respond: Respond) -> None:
        ack()
        respond(replace_original=True, text="Nothing was deleted.")
