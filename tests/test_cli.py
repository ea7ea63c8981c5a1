"""The CLI turns every user error into one line and exit code 2."""

import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from promptbot.cli.main import cli

# `run` and `digest` set up the process they run in: here, the test process.
pytestmark = pytest.mark.usefixtures("cli_in_process")


def run_cli(args, env):
    return CliRunner().invoke(cli, args, env=env)


def test_bad_config_is_one_line_and_exit_2(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("models:\n  - name: a\n    model: m\n    timeout: -1\n")
    result = run_cli(["run"], {"PROMPTBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxb-1"})
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {config}: models.0.timeout: Input should be greater than 0"
    ]


def test_missing_token(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    result = run_cli(["run"], {"PROMPTBOT_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN is not set" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unreadable_db_path(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    env = {
        "PROMPTBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "PROMPTBOT_DB": str(tmp_path / "no" / "such" / "dir" / "x.db"),
    }
    result = run_cli(["run"], env)
    assert result.exit_code == 2
    assert "cannot open database" in result.output


def test_real_process_prints_no_traceback(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("models: [oops\n")
    result = subprocess.run(
        [sys.executable, "-m", "promptbot.cli.main", "run"],
        env={"PROMPTBOT_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: {config} line")


def test_manifest_is_yaml_with_socket_mode():
    result = run_cli(["manifest"], {})
    assert result.exit_code == 0
    manifest = yaml.safe_load(result.output)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["slash_commands"][0]["command"] == "/prompt"
    http = yaml.safe_load(
        run_cli(
            ["manifest", "--http", "--request-url", "https://bot.example/slack/events"], {}
        ).output
    )
    assert http["settings"]["event_subscriptions"]["request_url"].startswith("https://bot.example")


def test_digest_print_renders_from_the_database(tmp_path):
    from promptbot.domain import Completion, PlannedCandidate
    from storage import Store

    db = tmp_path / "p.db"
    store = Store(db)
    run = store.create_run(
        prompt_name="a<b>&c",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["m"],
        inputs=[{}],
        candidates=[PlannedCandidate("A", 0, "m", "m", 0)],
    )
    store.record_answer(store.candidates(run.id)[0].id, Completion("x", None, 1, 1, 5, "stop"))
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    result = run_cli(
        ["digest", "--print"], {"PROMPTBOT_CONFIG": str(config), "PROMPTBOT_DB": str(db)}
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Prompt digest")
    assert "a<b>&c" in result.output  # unescaped for the terminal
    assert "&lt;" not in result.output


def test_digest_needs_exactly_one_action(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    result = run_cli(["digest"], {"PROMPTBOT_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "choose one of --print or --post" in result.output
    result = run_cli(["digest", "--post"], {"PROMPTBOT_CONFIG": str(config)})
    assert result.exit_code == 2
    assert "digest.channels" in result.output


def test_digest_post_now_and_as_period(tmp_path, slack):
    from tests.harness import TOKEN

    config = tmp_path / "app.yaml"
    config.write_text("digest:\n  channels: [CDIGEST]\n  schedule: '0 9 * * *'\n")
    env = {
        "PROMPTBOT_CONFIG": str(config),
        "PROMPTBOT_DB": str(tmp_path / "p.db"),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    first = run_cli(["digest", "--post"], env)
    assert first.exit_code == 0, first.output
    assert "manual-" in first.output and "posted to 1 channel" in first.output
    counted = run_cli(["digest", "--post", "--as-period"], env)
    assert counted.exit_code == 0, counted.output
    again = run_cli(["digest", "--post", "--as-period"], env)
    assert "already" in again.output
    assert len(slack.messages("CDIGEST")) == 2


def test_oauth_variables_are_refused_in_one_line(tmp_path, monkeypatch):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s")
    env = {
        "PROMPTBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
    }
    result = run_cli(["run"], env)
    assert result.exit_code == 2
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set" in result.output
