import pytest

from handlers.commands import SUBCOMMANDS
from handlers.subcommands import Subcommands
from promptbot.domain import check_name
from promptbot.errors import UsageError
from promptbot.prompts.commands import (
    parse_command,
    parse_inputs,
    parse_models_option,
    split_propose_body,
)


def test_parse_propose_with_body():
    parsed = parse_command(
        "propose summary --models a,b\nSummarise {{ text }}\n---\ntext: hi", SUBCOMMANDS.names
    )
    assert parsed.name == "propose"
    assert parsed.args == ["summary", "--models", "a,b"]
    assert parse_models_option(parsed.args) == (["summary"], ["a", "b"])
    assert split_propose_body(parsed.body) == ("Summarise {{ text }}", [{"text": "hi"}])


def test_unknown_and_empty_become_help():
    assert parse_command("frobnicate now", SUBCOMMANDS.names).name == "help"
    assert parse_command("frobnicate now", SUBCOMMANDS.names).args == ["frobnicate"]
    assert parse_command("   ", SUBCOMMANDS.names).name == "help"


def test_input_sets():
    text = "a: 1\nb: two words: yes\n---\na: 3\n\n---\n"
    assert parse_inputs(text) == [{"a": "1", "b": "two words: yes"}, {"a": "3"}]
    with pytest.raises(UsageError, match="line 1"):
        parse_inputs("no colon here")


@pytest.mark.parametrize("name", ["ok-name", "v1.2_x", "A"])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "has space", "-dash", "x" * 81, "<!channel>"])
def test_bad_names(name):
    with pytest.raises(UsageError):
        check_name(name)


def test_models_option_needs_a_value():
    with pytest.raises(UsageError):
        parse_models_option(["x", "--models"])


def test_a_subcommand_declared_twice_is_refused():
    first, second = Subcommands(), Subcommands()
    first.add("list", help="one")(lambda call: None)
    second.add("list", help="two")(lambda call: None)
    with pytest.raises(ValueError, match="declared twice"):
        first + second


def test_help_hint_and_shell_come_from_the_declarations():
    from promptbot.shell.commands import continues

    help_text = SUBCOMMANDS.help_text()
    assert "`/prompt delete NAME` or `/prompt delete #RUN` — delete after you confirm" in help_text
    assert "`/prompt remind off|on` — stop or resume" in help_text
    assert SUBCOMMANDS.usage_hint().startswith("help | new | propose NAME | list | revise NAME")
    assert continues("/prompt propose summary") and not continues("/prompt show summary")


def test_every_handler_module_s_subcommands_are_joined():
    """A module that declares subcommands but is left out of handlers/commands.py would
    silently lose them: every declared name must be in the joined list."""
    import importlib
    import pkgutil

    import handlers

    joined = SUBCOMMANDS.names
    for module_info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{module_info.name}")
        declared = getattr(module, "SUBCOMMANDS", None)
        if isinstance(declared, Subcommands):
            missing = declared.names - joined
            assert not missing, f"handlers/{module_info.name}.py: join {sorted(missing)}"
