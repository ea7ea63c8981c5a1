"""`promptbot inputs`: test sets from the command line (the same checks as Slack's).

Imports that open the database wait until a command runs, so `promptbot --help`
stays fast and works without one.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from promptbot.render.words import count


def _author() -> str:
    """Who added a set from a terminal: there is no Slack user, so the login name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


@click.group()
def inputs() -> None:
    """Test sets: named rows of variable values every version of a prompt runs over."""


@inputs.command("add")
@click.argument("prompt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--set", "set_name", default=None, help="Name of the set (default: FILE's name, no extension)."
)
def add(prompt: str, file: Path, set_name: str | None) -> None:
    """Add (or replace) a test set for PROMPT from a CSV or JSONL FILE."""
    from promptbot.config.environment import Environment
    from promptbot.config.loading import load_config
    from promptbot.prompts.test_sets import MAX_FILE_BYTES, add_test_set, decode_file
    from storage import Store

    environment = Environment.capture()
    config = load_config(environment.require("PROMPTBOT_CONFIG"))
    with file.open("rb") as handle:
        text = decode_file(handle.read(MAX_FILE_BYTES + 1), file.name)
    saved = add_test_set(
        Store(environment.require("PROMPTBOT_DB")),
        config,
        prompt=prompt,
        name=set_name or file.stem,
        text=text,
        filename=file.name,
        by=_author(),
    )
    click.echo(saved.confirmation())


@inputs.command("list")
@click.argument("prompt")
def list_sets(prompt: str) -> None:
    """List PROMPT's test sets with their row counts."""
    from promptbot.config.environment import Environment
    from storage import Store

    sets = Store(Environment.capture().require("PROMPTBOT_DB")).test_sets
    names = sets.names(prompt)
    if not names:
        click.echo(f"{prompt} has no test sets yet; add one with `promptbot inputs add`.", err=True)
    for name in names:
        click.echo(f"{name}\t{count(len(sets.get(prompt, name)), 'row')}")
