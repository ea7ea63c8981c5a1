"""The bot's own loggers take their level from the root, as the process sets it:
building the Bolt app must not pin them (Bolt sets the level of the logger named after
the app to the root's level of that moment)."""

import logging

import pytest


@pytest.fixture
def root_at_warning():
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.WARNING)  # as before the process configures its logging
    yield root
    root.setLevel(before)


def test_building_the_bot_leaves_the_level_of_promptbots_loggers_to_the_root(
    running, root_at_warning
):
    ours = logging.getLogger("promptbot")
    ours.setLevel(logging.NOTSET)
    bot = running()
    status, _ = bot.command("help")  # dispatched by Bolt, which sets its logger's level
    assert status == 200
    assert ours.level == logging.NOTSET
    # Set to INFO afterwards (as `promptbot run` may), the root lets the worker's
    # INFO records through.
    root_at_warning.setLevel(logging.INFO)
    assert logging.getLogger("promptbot.jobs.inbox_rows").isEnabledFor(logging.INFO)
