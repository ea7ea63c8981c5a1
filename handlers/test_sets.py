"""/prompt inputs NAME: a modal to add a named test set, from a file or pasted rows.

The submission is answered inside Slack's 3 s: the file is small (the row limit
bounds it) and is downloaded with a deadline, so problems can still go back onto the
modal's fields, where the author can fix them without starting over.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.invocation import Invocation, Services
from handlers.slack_gateway import LATER_REPLY_SECONDS, TRIGGER_SECONDS
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.config.settings import Limits
from promptbot.domain import check_set_name
from promptbot.errors import FieldErrors, NotFound, PromptbotError, UsageError
from promptbot.prompts.test_sets import (
    MAX_FILE_BYTES,
    add_test_set,
    decode_file,
    template_variables,
)
from promptbot.render.blocks import escape

CALLBACK = "test_set"
NAME, FILE, ROWS = "set_name", "file", "rows"
# The whole download, so the submission is still acked within Slack's 3 s.
DOWNLOAD_SECONDS = 2.0

T = TypeVar("T")


SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "inputs",
    "NAME",
    help="add a named test set (CSV or JSONL) for a prompt.",
    doc="Adds a named test set (CSV or JSONL; columns must match the template's variables;"
    " bad rows are reported by number). Also `promptbot inputs add NAME FILE`.",
)
def inputs(call: Invocation) -> None:
    if len(call.parsed.args) != 1:
        raise UsageError("usage: /prompt inputs NAME")
    prompt = call.parsed.args[0]
    services = call.services
    # Checked before the modal opens: an unknown prompt is the command's own reply.
    variables = template_variables(services.store, prompt)
    call.ack()
    modal = test_set_modal(prompt, variables, call.channel, services.config.limits)
    call.services.slack.call(
        "views_open", trigger_id=call.trigger_id, view=modal, deadline=TRIGGER_SECONDS
    )


def test_set_modal(
    prompt: str, variables: tuple[str, ...], channel: str, limits: Limits
) -> dict[str, Any]:
    columns = ", ".join(f"`{escape(name)}`" for name in variables)
    intro = (
        f"A named set of inputs for *{escape(prompt)}*, so every version runs over the same"
        f" ones. Columns: {columns} (one per template variable). CSV needs a header row;"
        f" JSONL is one object per line. Up to {limits.test_set_max_rows} rows."
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": json.dumps({"prompt": prompt, "channel": channel}),
        "title": {"type": "plain_text", "text": "Add a test set"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            {
                "type": "input",
                "block_id": NAME,
                "label": {"type": "plain_text", "text": "Set name"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NAME,
                    "max_length": 80,
                    "placeholder": {"type": "plain_text", "text": "e.g. golden"},
                },
            },
            {
                "type": "input",
                "block_id": FILE,
                "optional": True,
                "label": {"type": "plain_text", "text": "CSV or JSONL file"},
                "element": {
                    "type": "file_input",
                    "action_id": FILE,
                    "filetypes": ["csv", "jsonl", "txt"],
                    "max_files": 1,
                },
            },
            {
                "type": "input",
                "block_id": ROWS,
                "optional": True,
                "label": {"type": "plain_text", "text": "…or paste rows here"},
                "hint": {"type": "plain_text", "text": "CSV with its header row, or JSONL."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ROWS,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
        ],
    }


def register(app: App, surface: Surface, services: Services) -> None:
    # files:read lets the bot download what was attached to the modal's file_input.
    surface.needs("files:read")

    @surface.view(app, CALLBACK)
    def test_set_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        values = view.get("state", {}).get("values", {})
        meta = json.loads(view.get("private_metadata") or "{}")
        prompt, channel = str(meta.get("prompt", "")), meta.get("channel")
        name = str(values.get(NAME, {}).get(NAME, {}).get("value") or "").strip()
        files = values.get(FILE, {}).get(FILE, {}).get("files") or []
        pasted = str(values.get(ROWS, {}).get(ROWS, {}).get("value") or "")
        on_field(NAME, lambda: check_set_name(name))
        if files and pasted.strip():
            raise FieldErrors({ROWS: "Give a file or pasted rows, not both."})
        if not files and not pasted.strip():
            raise FieldErrors({FILE: "Attach a CSV or JSONL file, or paste rows below."})
        if files:
            field, filename = FILE, str(files[0].get("name") or "") or None
            text = on_field(
                FILE,
                lambda: decode_file(
                    services.slack.download(files[0], MAX_FILE_BYTES, DOWNLOAD_SECONDS), "the file"
                ),
            )
        else:
            field, filename, text = ROWS, None, pasted
        try:
            saved = add_test_set(
                services.store,
                services.config,
                prompt=prompt,
                name=name,
                text=text,
                filename=filename,
                by=str(body["user"]["id"]),
            )
        except NotFound as error:  # the prompt was deleted while the modal was open
            raise FieldErrors({NAME: str(error)}) from None
        except PromptbotError as error:
            raise FieldErrors({field: str(error)}) from None
        ack()
        if channel:
            confirmation = escape(saved.confirmation())
            services.slack.call(
                "chat_postEphemeral",
                channel=channel,
                user=body["user"]["id"],
                text=confirmation,
                deadline=LATER_REPLY_SECONDS,
            )


def on_field(block_id: str, check: Callable[[], T]) -> T:
    """Run ``check``; a user error it raises is shown under the field ``block_id``."""
    try:
        return check()
    except PromptbotError as error:
        raise FieldErrors({block_id: str(error)}) from None
