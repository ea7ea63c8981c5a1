"""``/prompt remind off|on``, and the Slack side of reminder DMs."""

from __future__ import annotations

from slack_bolt import App

from handlers.invocation import Invocation, Services
from handlers.slack_gateway import SlackGateway
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.errors import UsageError
from promptbot.jobs.reminders import reminders_on, set_reminders
from promptbot.render.blocks import Message

USAGE = "usage: /prompt remind off|on"


class SlackDirectMessenger:
    """The core's DirectMessenger: open the DM (im:write), then post into it."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    def send_dm(self, user_id: str, message: Message) -> None:
        opened = self.gateway.call("conversations_open", users=user_id)
        self.gateway.post_message(
            str(opened["channel"]["id"]), text=message.text, blocks=message.blocks
        )


SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "remind",
    "off|on",
    help="stop or resume reminders about runs waiting for you.",
    doc="Stops or resumes the reminder DMs about runs waiting for your vote.",
)
def remind(call: Invocation) -> None:
    store, config = call.services.store, call.services.config
    args = [a.lower() for a in call.parsed.args]
    paused = "" if config.reminders.enabled else " (reminders are not switched on here yet)"
    if not args:
        state = "on" if reminders_on(store, call.user) else "off"
        call.ack(text=f"Your reminders are {state}{paused}. {USAGE.capitalize()}")
        return
    if args not in (["on"], ["off"]):
        raise UsageError(USAGE)
    on = args == ["on"]
    set_reminders(store, call.user, on)
    if on:
        text = "Reminders are on: you'll get a DM about runs waiting for your vote" + paused
    else:
        text = "Reminders are off; `/prompt remind on` brings them back"
    call.ack(text=text + ".")


def register(app: App, surface: Surface, services: Services) -> None:
    # conversations.open needs im:write; declared whether or not reminders are enabled,
    # because the manifest is generated without app.yaml.
    surface.needs("im:write")
