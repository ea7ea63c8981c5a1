"""The command line: ``promptbot run`` and ``promptbot manifest``.

Every PromptbotError becomes one line on stderr and exit code 2 (click's
UsageError path), never a traceback.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from promptbot.cli.doctor import doctor
from promptbot.cli.export import export
from promptbot.cli.inputs import inputs
from promptbot.config.environment import Environment
from promptbot.errors import PromptbotError
from promptbot.shell.cli import shell

if TYPE_CHECKING:
    from promptbot.config.settings import AppConfig


class CliError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _config(environment: Environment) -> AppConfig:
    # Loaded with the first command that needs it: `promptbot --help` need not build the
    # settings models (tests/test_startup.py).
    from promptbot.config.loading import load_config

    return load_config(environment.require("PROMPTBOT_CONFIG"))


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """For what is made once and kept as long as the process: modules, classes, settings,
    the bot. The cyclic collector stays off while they are made, and leaves them out of
    its walks afterwards (gc.freeze): it would find next to no garbage among them, and
    walking them again and again as they pile up took a sixth of start-up."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PromptbotError as error:
            raise CliError(str(error)) from None


@click.group(cls=_Group)
@click.version_option(package_name="promptbot")
def cli() -> None:
    """promptbot: team prompt review in Slack."""


@cli.command()
@click.option("--port", default=3000, show_default=True, help="HTTP port (HTTP mode).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--threads", default=16, show_default=True, help="WSGI server threads.")
@click.option(
    "--insecure-skip-verification",
    is_flag=True,
    hidden=True,
    help="Tests only: accept unsigned requests.",
)
def run(port: int, host: str, threads: int, insecure_skip_verification: bool) -> None:
    """Run the bot: Socket Mode if SLACK_APP_TOKEN is set, else HTTP on --port."""
    with long_lived():
        import logging

        from promptbot.app import create_bot
        from promptbot.redaction import configure_logging

        configure_logging()
        # Every model request and every scheduler tick at INFO would drown what matters.
        for chatty in ("httpx", "httpx2", "apscheduler"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        environment = Environment.capture()
        config = _config(environment)
        app_token = environment.get("SLACK_APP_TOKEN")
        bot = create_bot(
            config,
            environment,
            socket_mode=bool(app_token),
            verify_requests=not insecure_skip_verification,
            resume=False,
        )
    try:
        bot.inbox.start()  # deliveries are stored from the first one on

        def warn_about_models() -> None:
            # One line per model that cannot work; nothing waits for the answer.
            from promptbot.review.preflight import warn_in_background

            warn_in_background(config, environment, logging.getLogger("promptbot.models").warning)

        if app_token:
            import threading

            from handlers.install import open_socket_mode

            handler = open_socket_mode(bot.app, app_token)
            click.echo("promptbot: Socket Mode", err=True)
            bot.start_in_background(after=warn_about_models)
            try:
                threading.Event().wait()  # the handler's threads serve until interrupted
            finally:
                handler.close()  # type: ignore[no-untyped-call]
            return
        import waitress

        from handlers.wsgi import make_wsgi_app

        wsgi = make_wsgi_app(bot.app, health=bot.healthy, guard=bot.guard, desk=bot.desk)
        # waitress accepts 1 GB bodies by default; the guard's limit applies here too.
        server = waitress.create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=config.limits.request_max_bytes,
        )
        click.echo(f"promptbot: listening on http://{host}:{port}/slack/events", err=True)
        # Listening: resuming runs and starting the scheduled jobs need not hold it up.
        bot.start_in_background(after=warn_about_models)
        server.run()
    finally:
        bot.close()


@cli.command()
@click.option("--socket-mode/--http", default=True, show_default=True, help="Connection mode.")
@click.option(
    "--request-url",
    default=None,
    help="Public https URL of /slack/events (required with --http, only with --http).",
)
def manifest(socket_mode: bool, request_url: str | None) -> None:
    """Print the Slack app manifest (YAML) to create the app from."""
    import yaml

    from handlers.manifest import build_manifest
    from promptbot.app import describe_surface

    if socket_mode and request_url:
        raise CliError("--request-url is for HTTP mode: add --http, or leave the URL out")
    if not socket_mode:
        if not request_url:
            raise CliError("--http needs --request-url https://your.host/slack/events")
        scheme, _, rest = request_url.partition("://")
        if scheme.lower() != "https" or not rest.split("/")[0]:
            raise CliError(f"--request-url must be an https:// URL, not '{request_url[:80]}'")

    data = build_manifest(describe_surface(), socket_mode=socket_mode, request_url=request_url)
    click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


@cli.command()
@click.option("--print", "print_", is_flag=True, help="Render the digest so far in the terminal.")
@click.option("--post", is_flag=True, help="Post the digest to the digest channels now.")
@click.option(
    "--as-period",
    is_flag=True,
    help="With --post: count it as the latest scheduled period's digest (it is not re-posted).",
)
def digest(print_: bool, post: bool, as_period: bool) -> None:
    """Show the digest from the database, or post it now."""
    from datetime import UTC, datetime

    if print_ == post:
        raise CliError("choose one of --print or --post")
    # numpy's matrix products run on one thread in a digest (see
    # promptbot.verdicts.resampling.one_blas_thread): OpenBLAS then starts no thread of
    # its own as numpy loads, which spins for ~0.08 s of CPU at every digest.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with long_lived():
        from promptbot.digest.service import DigestService
        from promptbot.render.terminal import blocks_to_text
        from storage import Store

        environment = Environment.capture()
        config = _config(environment)
    if print_:
        store = Store(environment.require("PROMPTBOT_DB"), read_only=True)
        try:
            # What it makes lives until the process exits, like the modules: the
            # collector's passes over the statistics' modules and the digest's arrays
            # found nothing, and took ~30 ms of a digest of 100k ratings.
            with long_lived():
                message = DigestService(store, config).preview()
        finally:
            store.close()
        click.echo(blocks_to_text(message.blocks), nl=False)
        # What is left lives until the process exits: frozen, the interpreter's last
        # collection at exit need not walk it (half of an empty digest's exit).
        gc.freeze()
        return
    from promptbot.app import create_bot

    if not config.digest.channels:
        raise CliError("digest.channels in app.yaml names no channel to post to")
    bot = create_bot(config, environment, socket_mode=True, resume=False)
    try:
        outcome = bot.digest_job.post_now(datetime.now(UTC), count_as_period=as_period)
    finally:
        bot.close()
    key = outcome.period.key if outcome.period else "-"
    click.echo(f"digest {key}: {outcome.status.value}; posted to {len(outcome.posts)} channel(s)")
    if outcome.pending:
        raise CliError(f"not posted yet to: {', '.join(outcome.pending)}; run it again later")


@cli.command()
def settings() -> None:
    """Print every app.yaml setting and environment variable as Markdown tables."""
    from promptbot.config.reference import settings_markdown

    click.echo(settings_markdown(), nl=False)


@cli.command()
def subcommands() -> None:
    """Print the /prompt subcommands as README's Markdown table."""
    from handlers.commands import SUBCOMMANDS

    click.echo(SUBCOMMANDS.markdown(), nl=False)


cli.add_command(inputs)
cli.add_command(export)
cli.add_command(doctor)
cli.add_command(shell)


def main() -> None:
    cli(prog_name="promptbot")


if __name__ == "__main__":
    main()
