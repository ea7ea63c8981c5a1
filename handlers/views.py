"""Modal submissions. Validation errors go back onto the fields (response_action:
errors) through the error boundary; a valid proposal closes the modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.invocation import Services
from handlers.surface import Surface
from promptbot.errors import FieldErrors, UsageError
from promptbot.prompts.commands import parse_inputs
from promptbot.render.forms import PROPOSE_CALLBACK, read_propose_submission
from promptbot.review.service import Proposal


def register(app: App, surface: Surface, services: Services) -> None:
    service = services.review

    @surface.view(app, PROPOSE_CALLBACK)
    def propose_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        values = read_propose_submission(view)
        if not values["channel"]:
            raise UsageError("this form lost track of its channel; open it again with /prompt new")
        try:
            inputs = parse_inputs(values["variables"])
        except UsageError as error:
            raise FieldErrors({"variables": str(error)}) from None
        service.propose(
            Proposal(
                name=values["name"],
                template=values["template"],
                system_prompt=values["system_prompt"],
                author=body["user"]["id"],
                channel=values["channel"],
                models=values["models"] or None,
                inputs=inputs,
                save_inputs_as=values["test_set"],
                checks=values["checks"],
            )
        )
        ack()  # the thread (or the runner's cost question) says the rest
