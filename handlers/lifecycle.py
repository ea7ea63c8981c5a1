"""Revisions, reruns, show and history, and the answer to a run's cost question."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers.invocation import Invocation, Services, reply_later
from handlers.slack_gateway import TRIGGER_SECONDS
from handlers.subcommands import Subcommands
from handlers.surface import Surface
from promptbot.domain import Run, run_title
from promptbot.errors import FieldErrors, UsageError
from promptbot.prompts.commands import parse_inputs, parse_models_option
from promptbot.prompts.lifecycle import Lifecycle, Revision, parse_version_ref
from promptbot.render.blocks import Message, escape
from promptbot.render.forms import REVISE_CALLBACK, propose_modal, read_propose_submission
from promptbot.render.words import format_cost


def started(run: Run, services: Services) -> Message:
    """What the proposer is told once a run is recorded. Under a cost ceiling the
    estimate comes later, off this thread: the cost question follows if it is over."""
    title = escape(run_title(run, services.store.candidates(run.id)))
    ceiling = services.config.limits.run_cost_ceiling
    if ceiling is not None:
        text = (
            f"Recorded *{title}* (run #{run.id}). If its estimated cost is over the"
            f" {format_cost(ceiling)} ceiling you will be asked first; otherwise the review"
            f" thread is on its way in <#{run.channel}>."
        )
    else:
        text = f"Started *{title}* (run #{run.id}): the review thread is on its way in <#{run.channel}>."
    return Message(text, [])


def _name_and_version(args: list[str], usage: str) -> tuple[str, int | None]:
    if not args or len(args) > 2:
        raise UsageError(f"usage: {usage}")
    name, number = parse_version_ref(args[0])
    if len(args) == 2:
        name, number = parse_version_ref(f"{args[0]}@{args[1]}")
    return name, number


def lifecycle(services: Services) -> Lifecycle:
    return Lifecycle(services.store, services.config, services.review)


SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "revise",
    "NAME",
    help="the form, prefilled with the latest version; the new version runs head-to-head"
    " against its parent in one thread.",
    doc="Opens the form prefilled with the latest version; submitting creates the next version"
    " (with an optional change note) and runs it head-to-head against its parent, blind, in"
    " one thread that shows the diff.",
    hinted=True,
)
def revise(call: Invocation) -> None:
    if len(call.parsed.args) != 1:
        raise UsageError("usage: /prompt revise NAME")
    services = call.services
    version = services.store.version(call.parsed.args[0])
    last = lifecycle(services).usual_run(version)
    call.ack()
    call.services.slack.call(
        "views_open",
        deadline=TRIGGER_SECONDS,
        trigger_id=call.trigger_id,
        view=propose_modal(
            services.config,
            call.channel,
            revise=version,
            models=last.models if last else None,
            inputs=last.inputs if last else None,
            checks=services.store.checks.version_checks(version.id),
        ),
    )


@SUBCOMMANDS.add(
    "rerun",
    "NAME [vN] [--models a,b] [--set SET] [--fresh] [--screen [--force]]",
    help="run a version again (`--fresh` skips the cache; `--screen` posts only the answers"
    " that need a human).",
    doc="Runs a version again; identical calls come from the cache unless `--fresh`. With"
    " `--set SET --screen` the checks and the judge score every answer and only those that"
    " need a human are posted (the judge must be trusted for the prompt, or add `--force`).",
)
def rerun(call: Invocation) -> None:
    args, models = parse_models_option(call.parsed.args)
    flags = {a for a in args if a in ("--fresh", "--screen", "--force")}
    args = [a for a in args if a not in flags]
    if "--force" in flags and "--screen" not in flags:
        raise UsageError("--force goes with --screen")
    test_set = None
    if "--set" in args:
        at = args.index("--set")
        if at + 1 >= len(args):
            raise UsageError("--set needs the name of a test set")
        test_set = args[at + 1]
        del args[at : at + 2]
    usage = "/prompt rerun NAME [vN] [--models a,b] [--set SET] [--fresh] [--screen [--force]]"
    name, number = _name_and_version(args, usage)
    run = lifecycle(call.services).rerun(
        name,
        number,
        author=call.user,
        channel=call.channel,
        models=models,
        test_set=test_set,
        fresh="--fresh" in flags,
        screen="--screen" in flags,
        force="--force" in flags,
    )
    message = started(run, call.services)
    call.ack(text=message.text, blocks=message.blocks or None)


@SUBCOMMANDS.add(
    "show",
    "NAME [vN]",
    help="a version's text, author, runs, cost and standing.",
    doc="A version's text, author, runs, cost and current standing, visible only to you.",
)
def show(call: Invocation) -> None:
    name, number = _name_and_version(call.parsed.args, "/prompt show NAME [vN]")
    call.ack(text=f"Looking up {escape(name)}…")
    found = lifecycle(call.services)
    reply_later(call, "show", lambda: found.show(name, number))


@SUBCOMMANDS.add(
    "history",
    "NAME",
    help="every version of a prompt with its score.",
    doc="Every version of a prompt with its score.",
)
def history(call: Invocation) -> None:
    if len(call.parsed.args) != 1:
        raise UsageError("usage: /prompt history NAME")
    name = call.parsed.args[0]
    call.ack(text=f"Looking up {escape(name)}…")
    found = lifecycle(call.services)
    reply_later(call, "history", lambda: found.history(name))


@SUBCOMMANDS.add(
    "compare",
    "NAME@vA NAME@vB",
    help="a pairwise thread: vote :a: :b: :handshake: (tie) or :-1: (both bad) for each input.",
    doc="A pairwise thread: for each input two answers side by side in random order; vote :a:"
    " / :b: / :handshake: (tie) / :-1: (both bad). These feed the head-to-head rankings.",
)
def compare(call: Invocation) -> None:
    args, models = parse_models_option(call.parsed.args)
    if len(args) != 2:
        raise UsageError("usage: /prompt compare NAME@vA NAME@vB [--models a]")
    run = lifecycle(call.services).compare(
        parse_version_ref(args[0]),
        parse_version_ref(args[1]),
        author=call.user,
        channel=call.channel,
        models=models,
    )
    message = started(run, call.services)
    call.ack(text=message.text, blocks=message.blocks or None)


def register(app: App, surface: Surface, services: Services) -> None:
    revisions = lifecycle(services)

    @surface.view(app, REVISE_CALLBACK)
    def revise_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        values = read_propose_submission(view)
        if not values["channel"] or not values["prompt"] or not values["parent"]:
            raise UsageError(
                "this form lost track of its prompt; open it again with /prompt revise"
            )
        try:
            inputs = parse_inputs(values["variables"])
        except UsageError as error:
            raise FieldErrors({"variables": str(error)}) from None
        user = body["user"]["id"]
        revisions.revise(
            Revision(
                name=values["prompt"],
                parent_id=int(values["parent"]),
                template=values["template"],
                author=user,
                channel=values["channel"],
                system_prompt=values["system_prompt"],
                note=values["note"],
                models=values["models"] or None,
                inputs=inputs,
                save_inputs_as=values["test_set"],
                checks=values["checks"],
            )
        )
        ack()  # the thread (or the runner's cost question) says the rest

    def decide(ack: Ack, body: dict[str, Any], respond: Respond, go: bool) -> None:
        # Decided before the ack: an error raised after ack() races Bolt into a 404.
        run_id = int(body["actions"][0]["value"])
        run = services.review.confirm(run_id, body["user"]["id"], go)
        ack()
        outcome = "started: the thread is on its way" if go else "cancelled"
        respond(replace_original=True, text=f"Run #{run.id} {outcome}.")

    @surface.action(app, "run_confirm")
    def run_confirm(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        decide(ack, body, respond, go=True)

    @surface.action(app, "run_cancel")
    def run_cancel(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        decide(ack, body, respond, go=False)
