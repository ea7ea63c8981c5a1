"""Messages a newcomer meets: one line each, naming what to do."""

import pytest
import yaml
from click.testing import CliRunner

from promptbot.cli.main import cli


def run_cli(args, env=None):
    return CliRunner().invoke(cli, args, env=env or {})


def test_a_config_error_across_fields_names_the_file_once(tmp_path, cli_in_process):
    config = tmp_path / "x.yaml"
    config.write_text("default_models: [nope]\n")

    result = run_cli(["run"], {"PROMPTBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxb-1"})

    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"Error: {config}: default_models names unknown models: nope"
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--http"], "--http needs --request-url https://"),
        (["--request-url", "https://bot.example/slack/events"], "is for HTTP mode: add --http"),
        (["--http", "--request-url", "http://bot.example/e"], "must be an https:// URL"),
        (["--http", "--request-url", "https:///slack/events"], "must be an https:// URL"),
        (["--http", "--request-url", "bot.example/slack/events"], "must be an https:// URL"),
    ],
)
def test_manifest_refuses_a_missing_or_unusable_request_url(args, says):
    result = run_cli(["manifest", *args])

    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1 and says in result.output
    assert "YOUR-HOST" not in result.output


def test_manifest_in_http_mode_uses_the_given_url():
    result = run_cli(["manifest", "--http", "--request-url", "https://bot.example/slack/events"])

    assert result.exit_code == 0, result.output
    settings = yaml.safe_load(result.output)["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://bot.example/slack/events"
    assert settings["socket_mode_enabled"] is False


@pytest.mark.parametrize("text", ['propose "bad name!"\nHi', "propose bad name\nHi"])
def test_a_bad_prompt_name_says_which_characters_a_name_may_use(bot, text):
    _, reply = bot.command(text)

    assert "is not a usable prompt name" in reply["text"]
    assert "one word of letters, digits, '-', '_' or '.'" in reply["text"]
    assert "\n" not in reply["text"].strip()
