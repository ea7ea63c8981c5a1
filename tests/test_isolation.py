"""What conftest's process_left_as_found sees, and what cli_in_process puts back: a test
that leaves the process changed makes the tests after it pass or fail by their order."""

import gc
import logging
import os

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from tests.harness import DESCRIPTORS_BEFORE_COLLECTING, start_bot
from tests.isolation import process_changes, process_restored, process_state


def test_an_environment_variable_left_set_is_seen():
    before = process_state()
    os.environ["PROMPTBOT_LEFT_BEHIND"] = "1"
    try:
        changed = process_changes(before, process_state())
    finally:
        del os.environ["PROMPTBOT_LEFT_BEHIND"]
    assert changed == {"environment": {"PROMPTBOT_LEFT_BEHIND": (None, "1")}}
    assert process_changes(before, process_state()) == {}


def test_a_level_left_on_a_logger_is_seen_and_a_new_logger_without_one_is_not():
    ours = logging.getLogger("promptbot")
    was = ours.level
    before = process_state()
    logging.getLogger("tests.isolation.new")  # made, no level: as any import does
    assert process_changes(before, process_state()) == {}
    ours.setLevel(logging.ERROR)
    logging.getLogger("tests.isolation.pinned").setLevel(logging.DEBUG)
    try:
        changed = process_changes(before, process_state())
    finally:
        ours.setLevel(was)
        logging.getLogger("tests.isolation.pinned").setLevel(logging.NOTSET)
    assert changed == {
        "logger levels": {
            "promptbot": (was, logging.ERROR),
            "tests.isolation.pinned": (logging.NOTSET, logging.DEBUG),
        }
    }


def test_a_handler_left_on_the_root_logger_is_seen():
    root = logging.getLogger()
    before = process_state()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        changed = process_changes(before, process_state())
    finally:
        root.removeHandler(handler)
    assert list(changed) == ["root logger"]


def test_run_in_this_process_sets_up_the_process_and_is_put_back(tmp_path):
    """`promptbot run` configures the logging of the process it runs in (a handler on the
    root, INFO, quieter libraries) and freezes what it made: in a test, the test process,
    until cli_in_process puts it back."""
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    before = process_state()
    with process_restored():
        result = CliRunner().invoke(cli, ["run"], env={"PROMPTBOT_CONFIG": str(config)})
        assert result.exit_code == 2  # no token: it stops after setting up the process
        changed = process_changes(before, process_state())
        assert {"root logger", "logger levels"} <= set(changed)
        assert gc.get_freeze_count() > 0
    assert process_changes(before, process_state()) == {}


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_closed_bots_do_not_pile_up_descriptors(tmp_path, slack, models):
    """What a closed bot held is released before the descriptors pass what waitress's
    select() can watch, however many bots the session started before (a shuffled order
    once ran out in the last fifth of the suite)."""
    gc.collect()
    gc.disable()  # as between two of the collector's rare full passes
    try:
        most = 0
        for n in range(12):
            folder = tmp_path / str(n)
            folder.mkdir()
            bot = start_bot(folder, slack, models)
            bot.command(f"propose p{n} --models alpha\nHi")  # connections on its threads
            bot.wait_run(1)
            bot.close()
            most = max(most, open_descriptors())
    finally:
        gc.enable()
    # One bot's worth (about 22) over the threshold at most; 12 bots kept would be ~280.
    assert most < DESCRIPTORS_BEFORE_COLLECTING + 48
