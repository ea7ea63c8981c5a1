"""A screened run's held answers, posted on request: the summary's button and menus, and
`/prompt post RUN LABEL…` (the same from a command, the shell or a phone)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from handlers.invocation import Invocation, Services
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.errors import UsageError
from promptbot.prompts.screening import ScreeningService
from promptbot.render.screening import MENUS, POST_ALL, POST_ONE

SUBCOMMANDS = Subcommands()
POST_USAGE = "/prompt post RUN LABEL… (or all)"


@SUBCOMMANDS.add(
    "post",
    "RUN LABEL…|RUN all",
    help="post held answers of a screened run in its thread (proposer or admin).",
    doc="Posts held answers of a screened run (`/prompt rerun … --screen`) in its thread:"
    " the labels named, or `all` (the proposer or an admin only, as for reveal).",
)
def post(call: Invocation) -> None:
    args = call.parsed.args
    if len(args) < 2 or not args[0].lstrip("#").isdigit():
        raise UsageError(f"usage: {POST_USAGE}")
    screening = _service(call.services)
    run_id = int(args[0].lstrip("#"))
    labels = None if [a.lower() for a in args[1:]] == ["all"] else args[1:]
    released = screening.release_labels(run_id, labels, call.user)
    call.ack(
        text=f"Posting {released} held answer{'s' if released != 1 else ''} in run #{run_id}'s thread."
    )


def _service(services: Services) -> ScreeningService:
    return services.screening or ScreeningService(services.store, services.config, services.runner)


def register(app: App, surface: Surface, services: Services) -> None:
    screening = _service(services)

    def answered(respond: Respond, released: int) -> None:
        text = (
            f"Posting {released} held answer{'s' if released != 1 else ''} in the thread."
            if released
            else "Nothing to post: those answers are already in the thread."
        )
        respond(response_type="ephemeral", replace_original=False, text=text)

    @surface.action(app, POST_ALL)
    def post_all(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        run_id = _number(body["actions"][0].get("value"))
        released = screening.release(run_id, None, body["user"]["id"])
        ack()
        answered(respond, released)

    def post_one(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        value = (body["actions"][0].get("selected_option") or {}).get("value", "")
        run_text, _, candidate_text = str(value).partition(":")
        released = screening.release(
            _number(run_text), [_number(candidate_text)], body["user"]["id"]
        )
        ack()
        answered(respond, released)

    for menu in range(MENUS):
        surface.action(app, f"{POST_ONE}_{menu}")(post_one)


def _number(text: object) -> int:
    if not str(text).isdigit():
        raise UsageError("this button lost track of its run; ask for it again with /prompt show")
    return int(str(text))
