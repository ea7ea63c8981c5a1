"""``/prompt new``, ``propose``, ``list`` and ``reveal``: proposing prompts and closing
their review."""

from __future__ import annotations

from handlers.invocation import Invocation
from handlers.lifecycle import started
from handlers.slack_gateway import TRIGGER_SECONDS
from handlers.subcommands import Subcommands
from promptbot.domain import check_name
from promptbot.errors import UsageError
from promptbot.prompts.commands import parse_models_option, parse_run_id, split_propose_body
from promptbot.render.forms import propose_modal
from promptbot.render.messages import run_list
from promptbot.review.service import Proposal

SUBCOMMANDS = Subcommands()


@SUBCOMMANDS.add(
    "new",
    help="open a form to propose a prompt.",
    doc="Opens a form: name, template, optional system prompt, models, variable values, checks on every answer.",
    hinted=True,
)
def new(call: Invocation) -> None:
    call.ack()
    call.services.slack.call(
        "views_open",
        deadline=TRIGGER_SECONDS,
        trigger_id=call.command["trigger_id"],
        view=propose_modal(call.services.review.config, call.channel),
    )


@SUBCOMMANDS.add(
    "propose",
    "NAME [--models a,b]",
    help="then the template on the following lines; add `---` and `name: value` lines for"
    " each set of variable values.",
    doc="The template follows on the next lines; after a `---` line, `name: value` lines give"
    " variable values, and each further `---` starts another set.",
    multiline=True,
    hinted=True,
)
def propose(call: Invocation) -> None:
    args, models = parse_models_option(call.parsed.args)
    if not args:
        raise UsageError("usage: /prompt propose NAME, then the template on the next lines")
    if len(args) > 1:  # `propose "bad name!"`: say what a name may be, not just the usage
        check_name(" ".join(args).strip("\"'“”"))
    template, inputs = split_propose_body(call.parsed.body)
    run = call.services.review.propose(
        Proposal(
            name=args[0],
            template=template,
            author=call.user,
            channel=call.channel,
            models=models,
            inputs=inputs,
            response_url=call.command.get("response_url") or None,
        )
    )
    message = started(run, call.services)
    call.ack(text=message.text, blocks=message.blocks or None)


@SUBCOMMANDS.add(
    "list",
    help="recent proposals, with links to their threads.",
    doc="Recent proposals with links to their threads.",
    hinted=True,
)
def list_runs(call: Invocation) -> None:
    message = run_list(call.services.review.recent())
    call.ack(text=message.text, blocks=message.blocks)


@SUBCOMMANDS.add(
    "reveal",
    "RUN",
    help="close voting on run RUN and show which model wrote what (proposer or admin).",
    doc="Closes voting on run RUN and edits each candidate to name its model and prompt"
    " version (the proposer or an admin only).",
)
def reveal(call: Invocation) -> None:
    run_id = parse_run_id(call.parsed.args, "/prompt reveal RUN")
    run = call.services.review.reveal(run_id, call.user)
    call.ack(text=f"Closing run #{run.id} and revealing its candidates in the thread.")


@SUBCOMMANDS.add(
    "repost",
    "RUN",
    help="post a failed run's stored answers again, once Slack takes them (proposer or admin).",
    doc="Posts a failed run's stored answers again (its thread, or the candidates Slack"
    " refused), without calling the models; nothing already posted is repeated.",
)
def repost(call: Invocation) -> None:
    run_id = parse_run_id(call.parsed.args, "/prompt repost RUN")
    run = call.services.review.repost(run_id, call.user)
    call.ack(text=f"Posting run #{run.id}'s answers again.")
