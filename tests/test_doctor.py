"""`promptbot doctor` against the stand-ins, healthy and broken; and the start-up
warning about models that cannot work."""

import os
import socket
import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner
from sqlite_utils import Database

from handlers.manifest import build_manifest
from promptbot.app import describe_surface
from promptbot.cli.main import cli
from promptbot.config.environment import Environment
from promptbot.config.loading import parse_config
from promptbot.review.preflight import model_warnings, warn_in_background
from storage import Store
from storage.migrations import migrations
from tests.harness import TOKEN

# A healthy install holds exactly the scopes the manifest asks for.
SCOPES = build_manifest(describe_surface(), socket_mode=True, request_url=None)["oauth_config"][
    "scopes"
]["bot"]


@pytest.fixture
def deployment(tmp_path, slack, models):
    """A config, a database and the environment `promptbot run` would be given."""
    config = {
        "models": [
            {"name": name, "model": f"{name}-id", "base_url": models.base_url, "max_retries": 0}
            for name in ("alpha", "beta")
        ],
        "review_channel": "CREVIEW",
        "digest": {"channels": ["CDIGEST"], "timezone": "Europe/Paris", "schedule": "0 9 * * 1"},
        "reminders": {"enabled": True, "schedule": "30 10 * * 1-5"},
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    Store(tmp_path / "p.db").close()
    slack.granted_scopes = list(SCOPES)
    return {
        "PROMPTBOT_CONFIG": str(path),
        "PROMPTBOT_DB": str(tmp_path / "p.db"),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
    }


def doctor(env):
    result = CliRunner().invoke(cli, ["doctor"], env=env)
    lines = result.output.strip().splitlines()
    return result.exit_code, lines


def test_a_healthy_deployment_passes_every_check(deployment, slack, models):
    code, lines = doctor(deployment)

    assert code == 0, lines
    assert all(line.startswith("✓") for line in lines[:-1])
    text = "\n".join(lines)
    assert f"✓ config: {deployment['PROMPTBOT_CONFIG']} (from PROMPTBOT_CONFIG)" in text
    assert "✓ database schema:" in text and "at the latest migration" in text
    assert "✓ database writable" in text
    assert "✓ next digest: " in text and " Europe/Paris, to CDIGEST" in text
    assert "✓ next reminders: " in text and "10:30 Europe/Paris" in text
    assert "✓ model alpha: answered one token in" in text and "✓ model beta:" in text
    assert "✓ Slack token: works" in text
    assert f"✓ Slack scopes: all {len(SCOPES)} the manifest asks for" in text
    assert "✓ post in review channel CREVIEW: allowed" in text
    assert "✓ post in digest channel CDIGEST: allowed" in text
    assert lines[-1] == f"{len(lines) - 1} of {len(lines) - 1} checks passed."
    # One token each, and nothing posted where people would see it.
    assert {r.params.get("max_tokens") for r in models.requests} == {1}
    assert slack.messages("CREVIEW") == [] and slack.messages("CDIGEST") == []
    assert len(slack.calls_to("chat.deleteScheduledMessage", ok_only=True)) == 2


def test_a_broken_deployment_names_each_problem_and_exits_1(deployment, slack, models, tmp_path):
    slack.granted_scopes = [s for s in SCOPES if s not in ("files:read", "im:write")]
    slack.fail_next("chat.scheduleMessage", error="channel_not_found")
    models.set_behaviour("beta-id", status=500)
    older = tmp_path / "old.db"
    names = [m.name for m in migrations.pending(Database(memory=True))]
    migrations.apply(Database(str(older)), stop_before=names[-1])

    code, lines = doctor(deployment | {"PROMPTBOT_DB": str(older)})

    assert code == 1
    failed = [line for line in lines if line.startswith("✗")]
    assert len(failed) == 4, lines
    text = "\n".join(failed)
    assert f"✗ database schema: database {older} is at an older schema" in text
    assert "✗ model beta: model API answered HTTP 500" in text
    assert "✗ Slack scopes: missing files:read, im:write" in text
    assert "channel CREVIEW: refused: channel_not_found" in text
    assert "✓ model alpha" in "\n".join(lines)
    assert lines[-1] == f"{len(lines) - 5} of {len(lines) - 1} checks passed."


def test_a_refused_token_stops_the_slack_checks(deployment):
    code, lines = doctor(deployment | {"SLACK_BOT_TOKEN": "xoxb-wrong"})

    assert code == 1
    assert "✗ Slack token: auth.test failed: invalid_auth" in lines
    assert not any("post in" in line or "scopes" in line for line in lines)


def test_no_config_file_is_one_failed_check(tmp_path):
    code, lines = doctor({"PROMPTBOT_CONFIG": str(tmp_path / "none.yaml")})

    assert code == 1
    assert lines[0] == f"✗ config: config file not found: {tmp_path / 'none.yaml'}"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _warnings_config(models):
    return parse_config(
        {
            "models": [
                {"name": "hosted", "model": "gpt-4o-mini"},
                {"name": "up", "model": "up-id", "base_url": models.base_url},
                {"name": "down", "model": "m", "base_url": f"http://127.0.0.1:{_closed_port()}/v1"},
                {"name": "keyed", "model": "m", "base_url": models.base_url, "api_key_env": "K"},
            ]
        }
    )


def test_start_up_warns_once_per_model_that_cannot_work(models):
    config = _warnings_config(models)

    lines = model_warnings(config, Environment.capture({}))

    assert lines[0] == "model hosted: OPENAI_API_KEY is not set; its calls will fail"
    assert lines[1].startswith("model down: nothing answers at http://127.0.0.1:")
    assert "refused" in lines[1].lower()
    assert lines[2] == "model keyed: K is not set; its calls will fail"
    assert len(lines) == 3
    # Pointed at a local server, the hosted model needs no key; K set, keyed is fine too.
    local = Environment.capture({"OPENAI_BASE_URL": models.base_url, "K": "v"})
    assert model_warnings(config, local) == [lines[1]]


def test_the_warnings_come_from_a_background_thread(models):
    said = []

    thread = warn_in_background(_warnings_config(models), Environment.capture({}), said.append)

    thread.join(timeout=10)
    assert thread.daemon and not thread.is_alive()
    assert [line.split(":")[0] for line in said] == ["model hosted", "model down", "model keyed"]


def test_promptbot_run_prints_the_warning_and_serves_anyway(tmp_path, slack, models):
    config = tmp_path / "app.yaml"
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    config.write_text(
        yaml.safe_dump({"models": [{"name": "down", "model": "m", "base_url": down}]})
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PROMPTBOT_CONFIG": str(config),
        "PROMPTBOT_DB": str(tmp_path / "p.db"),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
    }
    args = [sys.executable, "-m", "promptbot.cli.main", "run", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*args, "--port", str(_closed_port())], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline() if process.stderr else ""
            seen.append(line)
            text = "".join(seen)
            if ("model down" in text and "listening on" in text) or not line:
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    warning = [line for line in seen if "model down" in line]
    assert len(warning) == 1, seen
    assert f"model down: nothing answers at {down}" in warning[0]
    assert any("listening on" in line for line in seen)
