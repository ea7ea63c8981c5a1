import pytest

from promptbot.errors import UsageError
from promptbot.prompts.commands import (
    check_name,
    parse_command,
    parse_inputs,
    parse_models_option,
    split_propose_body,
)


def test_parse_propose_with_body():
    parsed = parse_command("propose summary --models a,b\nSummarise {{ text }}\n---\ntext: hi")
    assert parsed.name == "propose"
    assert parsed.args == ["summary", "--models", "a,b"]
    assert parse_models_option(parsed.args) == (["summary"], ["a", "b"])
    assert split_propose_body(parsed.body) == ("Summarise {{ text }}", [{"text": "hi"}])


def test_unknown_and_empty_become_help():
    assert parse_command("frobnicate now").name == "help"
    assert parse_command("frobnicate now").args == ["frobnicate"]
    assert parse_command("   ").name == "help"


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
