import os

import pytest

from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from storage import Store
from tests.harness import TOKEN, start_bot
from tests.isolation import process_changes, process_restored, process_state

_ISOLATED_PREFIXES = ("SLACK_", "OPENAI_", "PROMPTBOT_")


@pytest.fixture(autouse=True)
def process_left_as_found():
    """A test that changes the process's environment, logging, working directory or
    collector for the tests after it fails here: they would pass or fail by the order
    they run in (tests/test_isolation.py)."""
    before = process_state()
    yield
    changed = process_changes(before, process_state())
    if changed:
        pytest.fail(f"the test left the process changed: {changed}", pytrace=False)


@pytest.fixture
def cli_in_process():
    """For a test that runs `promptbot run` or `digest` in this process: they set up the
    process as a whole, as its entry point should (its logging, gc.freeze,
    OPENBLAS_NUM_THREADS); put back for the tests after as it was found."""
    with process_restored():
        yield


@pytest.fixture(autouse=True)
def clean_environ(process_left_as_found, monkeypatch):
    """No test sees the developer's tokens, keys or database."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def fresh_template_caches():
    """Under `make mutate` (mutmut sets MUTANT_UNDER_TEST) every test builds the template
    environment and compiles its templates itself: mutmut runs a mutant only against the
    tests it saw call the changed function, and a cached environment is built by one."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        from promptbot.review import sandbox

        sandbox._environment.cache_clear()
        sandbox._compiled.cache_clear()
        sandbox.parse_template.cache_clear()


@pytest.fixture(autouse=True, scope="session")
def compiled_templates_apart(tmp_path_factory):
    """The digest's compiled templates go to this session's temp dir, not the user's
    cache: a mutant of the rendering module would leave entries of its own there."""
    from promptbot.digest import compiled_templates, rendering

    compiled_templates.DIRECTORY = str(tmp_path_factory.mktemp("compiled-templates"))
    rendering._environment.cache_clear()
    # ... and the emoji aliases derived from Slack's data go there too (scales.py).
    from promptbot.review import scales

    scales.DIRECTORY = tmp_path_factory.mktemp("derived")


@pytest.fixture
def store(tmp_path):
    """A migrated database of its own, for tests of the core without the app."""
    return Store(tmp_path / "t.db")


@pytest.fixture
def slack():
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def models():
    with OpenAIStandIn() as standin:
        yield standin


@pytest.fixture
def running(tmp_path, slack, models):
    bots = []

    def start(config=None, **kwargs):
        bot = start_bot(tmp_path, slack, models, config, **kwargs)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.close()


@pytest.fixture
def bot(running):
    return running()
