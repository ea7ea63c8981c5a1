"""`promptbot export`: the export /prompt export sends, to a file or stdout.

The format and every column are described in docs/export.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from promptbot.config.environment import Environment
    from promptbot.config.settings import AppConfig


@click.command("export")
@click.argument("prompt", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one row per rating, with its candidate and run; json: all nine tables.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: stdout).",
)
@click.option(
    "--keep-formulas",
    is_flag=True,
    help="CSV: write cells starting with = + - @ as they are, without the leading ' that"
    " stops a spreadsheet running them as formulas.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="app.yaml for the judge's confusion tables (default: PROMPTBOT_CONFIG, else"
    " ./app.yaml when there is one, else the settings' defaults).",
)
@click.option(
    "--min-human-votes",
    type=click.IntRange(min=1),
    default=None,
    help="Human ratings a candidate needs to count in the confusion tables"
    " (default: judge.min_human_votes).",
)
def export(
    prompt: str | None,
    fmt: str,
    output: Path | None,
    keep_formulas: bool,
    config_path: Path | None,
    min_human_votes: int | None,
) -> None:
    """Export runs, candidates, ratings and comments, of every prompt or of PROMPT."""
    from datetime import UTC, datetime

    from promptbot.config.environment import Environment
    from promptbot.errors import UsageError
    from promptbot.prompts.export import build_export
    from promptbot.verdicts.confusion import CalibrationRule
    from storage import Store

    environment = Environment.capture()
    store = Store(environment.require("PROMPTBOT_DB"), read_only=True)
    config = team_config(config_path, environment)
    result = build_export(
        store,
        prompt,
        "json" if fmt == "json" else "csv",
        datetime.now(UTC),
        neutralise_formulas=not keep_formulas,
        rule=CalibrationRule.of(config, min_human_votes),
    )
    if output is None:
        click.echo(result.content, nl=False)
        return
    try:
        # newline="": the CSV's own \r\n line ends are written as they are.
        output.write_text(result.content, encoding="utf-8", newline="")
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from None
    click.echo(f"Wrote {result.summary} to {output}", err=True)


def team_config(path: Path | None, environment: Environment) -> AppConfig:
    """app.yaml found as every command finds it (``--config``, else PROMPTBOT_CONFIG,
    else ./app.yaml). An export needs none: without one, the settings' defaults. A file
    named explicitly must be there and valid; a broken one is one line, as elsewhere."""
    from promptbot.config.loading import load_config
    from promptbot.config.settings import AppConfig

    if path is not None:
        return load_config(path)
    found = Path(environment.require("PROMPTBOT_CONFIG"))
    if os.environ.get("PROMPTBOT_CONFIG") or found.is_file():
        return load_config(found)
    return AppConfig()
