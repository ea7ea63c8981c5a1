"""`promptbot doctor`: a checklist of what a deployment needs, exit code 0 when every
item holds and 1 otherwise. It changes nothing: the database is opened read-only first
(a pending migration is reported, not applied), and posting is tried without a post."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from promptbot.config.environment import Environment
from promptbot.errors import ConfigError, StorageError

if TYPE_CHECKING:  # pydantic and the records load with the command, not `promptbot --help`
    from promptbot.config.settings import AppConfig
    from promptbot.domain import Check


def _config(environment: Environment) -> tuple[AppConfig | None, Check]:
    from promptbot.config.loading import load_config
    from promptbot.domain import Check

    path = environment.require("PROMPTBOT_CONFIG")
    source = "PROMPTBOT_CONFIG" if os.environ.get("PROMPTBOT_CONFIG") else "the default path"
    try:
        config = load_config(path)
    except ConfigError as error:
        return None, Check(False, "config", str(error))
    return config, Check(True, "config", f"{path} (from {source})")


def database_checks(path: str) -> list[Check]:
    from sqlite_utils import Database

    from promptbot.domain import Check
    from storage import Store
    from storage.migrations import migrations

    if not os.path.isfile(path):
        return [Check(False, "database", f"{path} does not exist yet (promptbot run creates it)")]
    latest = migrations.pending(Database(memory=True))[-1].name
    try:
        Store(path, read_only=True).close()
    except StorageError as error:
        return [Check(False, "database schema", str(error))]
    checks = [Check(True, "database schema", f"{path} is at the latest migration ({latest})")]
    try:
        store = Store(path)
        store.check_writable()
        store.close()
    except StorageError as error:
        return [*checks, Check(False, "database writable", str(error))]
    return [*checks, Check(True, "database writable", "a write would succeed now")]


def schedule_checks(config: AppConfig, now: datetime) -> list[Check]:
    from promptbot.domain import Check
    from promptbot.jobs.periods import cron_trigger
    from promptbot.jobs.reminders import reminder_trigger

    zone = config.digest.timezone
    digest = cron_trigger(config.digest).get_next_fire_time(None, now)
    where = ", ".join(config.digest.channels) or "no channel (digest.channels is empty)"
    checks = [Check(True, "next digest", f"{_when(digest, zone)}, to {where}")]
    if config.reminders.enabled:
        reminder = reminder_trigger(config).get_next_fire_time(None, now)
        checks.append(Check(True, "next reminders", _when(reminder, zone)))
    else:
        checks.append(Check(True, "next reminders", "none: reminders.enabled is false"))
    return checks


def _when(moment: datetime | None, zone: str) -> str:
    from promptbot.jobs.periods import local_time

    if moment is None:
        return "never (the schedule has no future time)"
    return f"{local_time(moment, zone):%Y-%m-%d %H:%M} {zone}"


def model_checks(config: AppConfig, environment: Environment) -> list[Check]:
    from concurrent.futures import ThreadPoolExecutor

    from promptbot.domain import Check
    from promptbot.review.preflight import missing_key, one_token_call

    def check(name: str) -> Check:
        model = config.model(name)
        if variable := missing_key(model, environment):
            return Check(False, f"model {name}", f"{variable} is not set")
        answer = one_token_call(model, environment)
        if answer.error is not None:
            return Check(False, f"model {name}", answer.error)
        return Check(True, f"model {name}", f"answered one token in {answer.latency_ms} ms")

    names = [m.name for m in config.models]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        return list(pool.map(check, names))


def slack_checks(config: AppConfig, environment: Environment) -> list[Check]:
    from handlers.doctor import posting_checks, token_checks
    from handlers.manifest import build_manifest
    from promptbot.app import describe_surface, slack_client
    from promptbot.domain import Check

    token = environment.get("SLACK_BOT_TOKEN")
    if not token:
        return [Check(False, "Slack token", "SLACK_BOT_TOKEN is not set")]
    manifest = build_manifest(describe_surface(), socket_mode=True, request_url=None)
    client = slack_client(token, environment, config)
    checks, works = token_checks(client, list(manifest["oauth_config"]["scopes"]["bot"]))
    if not works:
        return checks
    channels = {config.review_channel: "review"} if config.review_channel else {}
    channels |= {c: "digest" for c in config.digest.channels if c not in channels}
    if not channels:
        checks.append(Check(True, "channels", "none configured: threads go where /prompt is typed"))
    return checks + posting_checks(client, channels)


@click.command()
def doctor() -> None:
    """Check a deployment: config, database, schedules, models, Slack token, scopes and
    channels. Exit code 0 if all is well, 1 otherwise."""
    environment = Environment.capture()
    config, first = _config(environment)
    checks = [first, *database_checks(environment.require("PROMPTBOT_DB"))]
    if config is not None:
        checks += schedule_checks(config, datetime.now(UTC))
        checks += model_checks(config, environment)
        checks += slack_checks(config, environment)
    for check in checks:
        mark = click.style("✓", fg="green") if check.ok else click.style("✗", fg="red")
        click.echo(f"{mark} {check.what}: {check.detail}")
    failed = sum(not c.ok for c in checks)
    click.echo(f"{len(checks) - failed} of {len(checks)} checks passed.")
    raise SystemExit(1 if failed else 0)
