"""`promptbot export`: the export /prompt export sends, to a file or stdout.

The format and every column are described in docs/export.md.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("prompt", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one row per rating, with its candidate and run; json: all eight tables.",
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
def export(prompt: str | None, fmt: str, output: Path | None, keep_formulas: bool) -> None:
    """Export runs, candidates, ratings and comments, of every prompt or of PROMPT."""
    from datetime import UTC, datetime

    from promptbot.config.environment import Environment
    from promptbot.errors import UsageError
    from promptbot.prompts.export import build_export
    from storage import Store

    store = Store(Environment.capture().require("PROMPTBOT_DB"), read_only=True)
    result = build_export(
        store,
        prompt,
        "json" if fmt == "json" else "csv",
        datetime.now(UTC),
        neutralise_formulas=not keep_formulas,
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
