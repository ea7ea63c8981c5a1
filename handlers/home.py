"""The App Home tab: rebuilt on every ``app_home_opened``, and its two buttons."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App

from handlers.errors import in_background
from handlers.invocation import Services
from handlers.slack_gateway import LATER_REPLY_SECONDS, TRIGGER_SECONDS
from handlers.surface import Surface
from promptbot.errors import PromptbotError
from promptbot.home import (
    HOME_DIGEST_PREVIEW,
    HOME_NEW_PROMPT,
    HomeStandings,
    digest_preview_modal,
    home_view,
)
from promptbot.render.blocks import Message, escape, section
from promptbot.render.forms import propose_modal


def register(app: App, surface: Surface, services: Services) -> None:
    config, slack = services.config, services.slack
    standings = HomeStandings(services.store, config)
    # Home views are built one at a time on a thread of their own: the first after a
    # while works out the standings (seconds, at a million ratings) and the rest reuse
    # them, so a crowd opening the tab never takes the threads that post runs.
    views = surface.owns(ThreadPoolExecutor(1, thread_name_prefix="home-views"))

    @surface.event(app, "app_home_opened")
    def home_opened(event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if not user_id or event.get("tab", "home") != "home":
            return  # the Messages tab was opened, not Home
        # The DM channel in the event is where a form opened from Home posts its thread,
        # unless the team set a review channel.
        channel = config.review_channel or event.get("channel")

        def publish() -> None:
            view = home_view(
                services.store, config, user_id, new_prompt_channel=channel, standings=standings
            )
            slack.call("views_publish", user_id=user_id, view=view, deadline=LATER_REPLY_SECONDS)

        # Built off the inbox's worker: the events queued behind this one (ratings) need
        # not wait for the standings. A view lost to a crash is rebuilt on the next open.
        in_background(services, publish, f"the Home view for {user_id}", views)

    @surface.action(app, HOME_NEW_PROMPT)
    def new_prompt(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        channel = str(body["actions"][0].get("value") or "")
        if not channel:
            opened = slack.call(
                "conversations_open", users=body["user"]["id"], deadline=TRIGGER_SECONDS
            )
            channel = str(opened["channel"]["id"])
        slack.call(
            "views_open",
            trigger_id=body["trigger_id"],
            view=propose_modal(config, channel),
            deadline=TRIGGER_SECONDS,
        )

    @surface.action(app, HOME_DIGEST_PREVIEW)
    def digest_preview(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        # The trigger expires in about 3 s and a digest can take longer: open a modal
        # now and fill it in when the digest is ready.
        opened = slack.call(
            "views_open",
            trigger_id=body["trigger_id"],
            view=digest_preview_modal(None),
            deadline=TRIGGER_SECONDS,
        )
        view_id = str(opened["view"]["id"])

        def fill() -> None:
            try:
                message = services.digests.preview()
            except PromptbotError as error:
                text = f":warning: {escape(str(error))}"
                message = Message(text, [section(text)])
            slack.call(
                "views_update",
                view_id=view_id,
                view=digest_preview_modal(message),
                deadline=LATER_REPLY_SECONDS,
            )

        services.runner.background(fill, "digest preview for the Home tab")
