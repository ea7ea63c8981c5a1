"""``/prompt close``, ``archive`` and ``delete``, and the delete confirmation buttons.

Refusals raise PermissionDenied before the ack, so the error boundary turns them into
the command's one ephemeral line. Deletion answers with an ephemeral question; its
buttons come back here, and the question is replaced (via the payload's
``response_url``) by what happened.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from handlers.invocation import Invocation, Services, Subcommand
from handlers.surface import Surface
from promptbot.errors import UsageError
from promptbot.prompts.admin import DELETE_CANCEL, DELETE_CONFIRM, AdminService, delete_confirmation
from promptbot.prompts.commands import parse_run_id
from promptbot.render.messages import escape


def admin_service(services: Services) -> AdminService:
    return AdminService(
        services.store, services.config, services.publisher, services.runner.background
    )


def _one_argument(call: Invocation, usage: str) -> str:
    if len(call.parsed.args) != 1:
        raise UsageError(f"usage: {usage}")
    return call.parsed.args[0]


def subcommands(services: Services) -> dict[str, Subcommand]:
    admin = admin_service(services)

    def close(call: Invocation) -> None:
        run = admin.close(parse_run_id(call.parsed.args, "/prompt close RUN"), call.user)
        call.ack(
            text=f"Closed voting on run #{run.id} ({escape(run.version.prompt_name)}"
            f" v{run.version.number}); the models stay hidden until `/prompt reveal {run.id}`."
        )

    def archive(call: Invocation) -> None:
        prompt = admin.archive(_one_argument(call, "/prompt archive NAME"), call.user)
        call.ack(
            text=f"Archived *{escape(prompt.name)}*: it is off the leaderboard; its history stays."
        )

    def delete(call: Invocation) -> None:
        target = _one_argument(call, "/prompt delete NAME or /prompt delete #RUN")
        question = delete_confirmation(admin.request_delete(target, call.user))
        call.ack(text=question.text, blocks=question.blocks)

    return {"close": close, "archive": archive, "delete": delete}


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
