"""The README documents every setting, environment variable and subcommand."""

import pathlib

from handlers.commands import SUBCOMMANDS
from promptbot.config.environment import ENVIRONMENT
from promptbot.config.reference import settings_reference

README = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented_with_help():
    for name, _default, help_text in settings_reference():
        assert help_text, f"{name} has no help text"
        assert f"`{name}`" in README, f"README does not document {name}"


def test_every_environment_variable_is_documented():
    for variable in ENVIRONMENT:
        assert f"`{variable.name}`" in README


def test_every_subcommand_is_documented():
    for subcommand in SUBCOMMANDS:
        name = subcommand.name
        assert f"`/prompt {name}" in README, f"README does not document /prompt {name}"


def test_subcommand_table_is_the_generated_one():
    block = README.split("<!-- subcommands:start")[1].split("<!-- subcommands:end -->")[0]
    assert SUBCOMMANDS.markdown() in block, "run `promptbot subcommands` and paste it in README"


def test_readme_test_command_is_what_ci_runs():
    ci = (pathlib.Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make check" in README and "make check" in ci


def test_settings_tables_are_the_generated_ones():
    from promptbot.config.reference import settings_markdown

    block = README.split("<!-- settings:start")[1].split("<!-- settings:end -->")[0]
    cfg, env = settings_markdown().split("\n\n")
    assert cfg in block and env in block, "run `promptbot settings` and paste it into README.md"
