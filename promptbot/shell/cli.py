"""``promptbot shell``: try the bot in a terminal, with Slack played locally.

Registered on the main command group, whose boundary turns a PromptbotError into one
line and exit code 2.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from promptbot.config.environment import Environment
from promptbot.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from promptbot.config.settings import AppConfig

# Transcripts (scripts, pipes, the README) are laid out at a fixed width, so they
# come out the same on every machine.
TRANSCRIPT_WIDTH = 100


def _models(
    stack: ExitStack, status: Console, *, model_url: str | None, force_local: bool
) -> AppConfig:
    # Loaded here, not with the module: `promptbot --help` need not build the settings
    # models (tests/test_startup.py).
    from promptbot.config.loading import load_config
    from promptbot.shell.models import NO_MODEL, builtin_config, has_configured_models

    if model_url:
        return builtin_config(model_url)
    environ = Environment.capture()
    if has_configured_models(environ.values) and not force_local:
        status.print(
            f"Models from {environ.require('PROMPTBOT_CONFIG')} (OPENAI_API_KEY or OPENAI_BASE_URL is set)."
        )
        return load_config(environ.require("PROMPTBOT_CONFIG"))
    # Imported here: it reads package metadata, which every other command can skip.
    from promptbot.shell import local_model

    if not local_model.available():
        raise ConfigError(NO_MODEL)
    local = stack.enter_context(local_model.LocalModel.start())
    status.print(
        f"Local model: SmolLM2-135M-Instruct on llama.cpp at {local.base_url}"
        f" (ready in {local.ready_seconds:.1f} s)."
    )
    return builtin_config(local.base_url)


@click.command()
@click.option(
    "--db",
    "db_path",
    default="promptbot-shell.db",
    show_default=True,
    help="SQLite file that keeps everything, across restarts of the shell.",
)
@click.option(
    "--script",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="Run the lines of FILE as if typed, then exit (also done for piped input).",
)
@click.option("--seed", type=int, default=None, help="Fix the blind label order (for demos).")
@click.option(
    "--local", "force_local", is_flag=True, help="Use the local model even with an API key set."
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    help="Seconds to wait for the bot after each line.",
)
@click.option("--model-url", hidden=True, help="Tests: an OpenAI-compatible /v1 URL to ask.")
def shell(
    db_path: str,
    script: TextIO | None,
    seed: int | None,
    force_local: bool,
    timeout: float,
    model_url: str | None,
) -> None:
    """Try promptbot in the terminal: the real app, with Slack played locally."""
    # Imported here so other promptbot commands do not pay for Bolt and rich.
    from rich.console import Console

    from promptbot.shell.lines import ScriptInput, TerminalInput
    from promptbot.shell.render import Names, Renderer
    from promptbot.shell.session import Session
    from promptbot.shell.workspace import Workspace

    piped = script is not None or not sys.stdin.isatty()
    console = Console(highlight=False, width=TRANSCRIPT_WIDTH if piped else None)
    status = Console(stderr=True, highlight=False)
    with ExitStack() as stack:
        config = _models(stack, status, model_url=model_url, force_local=force_local)
        workspace = Workspace(config, db_path, seed=seed, environ=dict(os.environ))
        stack.callback(workspace.close)
        session = Session(workspace, Renderer(console, Names()), timeout=timeout)
        session.greet(db_path, config.proposal_models(), config.judge.model)
        if piped:
            session.run(ScriptInput(script or sys.stdin, console))
        else:
            session.run(TerminalInput(console))
            status.print(f"Everything is kept in {Path(db_path)}; `promptbot shell` resumes it.")
