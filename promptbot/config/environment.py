"""The environment variables we read (secrets and paths), declared once with their help,
and captured once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

from promptbot.errors import ConfigError


@dataclass(frozen=True)
class EnvVar:
    name: str
    default: str | None
    help: str
    secret: bool = False


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("SLACK_BOT_TOKEN", None, "Bot token (xoxb-…).", secret=True),
    EnvVar("SLACK_SIGNING_SECRET", None, "Verifies requests in HTTP mode.", secret=True),
    EnvVar("SLACK_APP_TOKEN", None, "App token (xapp-…); when set, runs in Socket Mode.", True),
    EnvVar("SLACK_API_URL", None, "Web API base URL: GovSlack or a local stand-in."),
    EnvVar("OPENAI_API_KEY", None, "Default API key for models (see api_key_env).", secret=True),
    EnvVar("OPENAI_BASE_URL", None, "Endpoint for models with provider openai and no base_url."),
    EnvVar("PROMPTBOT_CONFIG", "./app.yaml", "Path of the configuration file."),
    EnvVar("PROMPTBOT_DB", "./promptbot.db", "Path of the SQLite database."),
)


@dataclass(frozen=True)
class Environment:
    """The environment variables we read, captured once at start-up."""

    values: dict[str, str]

    @classmethod
    def capture(cls, environ: dict[str, str] | None = None) -> Environment:
        source = dict(os.environ if environ is None else environ)
        values = {var.name: source[var.name] for var in ENVIRONMENT if source.get(var.name)}
        for var in ENVIRONMENT:
            if var.default is not None:
                values.setdefault(var.name, var.default)
        # Model API keys may live in any variable app.yaml names.
        values.update({k: v for k, v in source.items() if k not in values})
        return cls(values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def require(self, name: str) -> str:
        value = self.values.get(name)
        if not value:
            help_text = next((v.help for v in ENVIRONMENT if v.name == name), "")
            raise ConfigError(f"{name} is not set. {help_text}".strip())
        return value
