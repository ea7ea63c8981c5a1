"""Run messages: what the bot posts about a run (its thread's parent, candidates, pairs,
the cost question, the run list), built from render.blocks."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, CheckResult, Run, RunSummary, Version
from promptbot.render.blocks import (
    SECTION_TEXT_LIMIT,
    SECTIONS_PER_MESSAGE,
    Block,
    Message,
    clip_escaped,
    code_block,
    context,
    escape,
    escaped_chunks,
    header,
    section,
    truncate,
)
from promptbot.render.checks import check_line
from promptbot.render.words import count, format_cost


def _emoji_list(names: Iterable[str]) -> str:
    return " ".join(f":{name}:" for name in names)


def rating_help(config: AppConfig) -> str:
    parts = [f"*{name}*: {_emoji_list(scale.emoji)}" for name, scale in config.scales.items()]
    return "Rate each candidate with emoji — " + "; ".join(parts) + ". Discuss in this thread."


_INPUTS_SHOWN = 20


def template_diff(old: Version, new: Version) -> str:
    lines = difflib.unified_diff(
        old.template.splitlines(),
        new.template.splitlines(),
        fromfile=f"v{old.number}",
        tofile=f"v{new.number}",
        lineterm="",
    )
    parts = ["\n".join(lines)] if old.template != new.template else []
    if old.system_prompt != new.system_prompt:
        parts.append("(system prompt changed)")
    return "\n".join(parts) or "(template unchanged)"


def thread_parent(
    run: Run,
    config: AppConfig,
    parent: Version | None = None,
    parent_link: str | None = None,
) -> Message:
    """The review thread's first message. For a revision, ``parent`` is the version it
    is measured against: its diff is shown and its answers run as a blind baseline."""
    version = run.version
    name = escape(version.prompt_name)
    models = ", ".join(escape(m) for m in run.models)
    versions = 2 if parent else 1
    candidates = len(run.models) * max(1, len(run.inputs)) * versions
    template = escaped_chunks(version.template, SECTION_TEXT_LIMIT - 20)
    blocks: list[Block] = [
        header(f"Prompt review: {truncate(version.prompt_name, 100)} v{version.number}"),
        context(
            f"Run #{run.id} · proposed by <@{escape(run.created_by)}> · models: {models}"
            f" · {count(candidates, 'blind candidate')}"
        ),
    ]
    if parent is not None:
        link = f" (<{parent_link}|its thread>)" if parent_link else ""
        blocks.append(
            section(
                f"*Revision of v{parent.number}*{link}. v{parent.number}'s answers are among the"
                f" candidates, blind, so this thread is a head-to-head."
                + (f"\nChange note: {escape(truncate(version.note, 500))}" if version.note else "")
            )
        )
        blocks.append(section("*Diff*\n" + code_block(template_diff(parent, version))))
    if version.system_prompt:
        blocks.append(section("*System prompt*\n" + escaped_chunks(version.system_prompt, 2900)[0]))
    blocks.append(section("*Template*\n" + template[0]))
    if len(template) > 1:
        blocks.append(context(f"(template shortened here; {len(version.template)} chars in all)"))
    for index, values in enumerate(run.inputs[:_INPUTS_SHOWN]):
        if values:
            shown = ", ".join(f"{escape(k)} = {escape(str(v))}" for k, v in values.items())
            blocks.append(context(clip_escaped(f"Input {index + 1}: {shown}", 2900)))
    if len(run.inputs) > _INPUTS_SHOWN:
        blocks.append(context(f"…and {count(len(run.inputs) - _INPUTS_SHOWN, 'more input')}"))
    blocks.append(context(rating_help(config)))
    text = f"Prompt review: {name} v{version.number} (run #{run.id})"
    return Message(text=text, blocks=blocks)


def compare_parent(run: Run, versions: list[Version]) -> Message:
    titles = " vs ".join(escape(v.title) for v in versions)
    models = ", ".join(escape(m) for m in run.models)
    blocks: list[Block] = [
        header(truncate(f"Compare: {' vs '.join(v.title for v in versions)}", 150)),
        context(
            f"Run #{run.id} · by <@{escape(run.created_by)}> · models: {models} · for each"
            " input, the two versions' answers side by side, sides at random"
        ),
    ]
    for version in versions:
        blocks.append(section(f"*{escape(version.title)}*\n" + code_block(version.template, 1400)))
    blocks.append(context(PAIR_HELP))
    return Message(f"Compare: {titles} (run #{run.id})", blocks)


def held_run(run: Run, estimate: float, ceiling: float) -> Message:
    """The question asked before a run that may cost more than the ceiling."""
    text = (
        f"Run #{run.id} ({escape(run.version.title)}) may cost up to"
        f" {format_cost(estimate)}, over the {format_cost(ceiling)} ceiling. Run it anyway?"
    )
    buttons = [
        {
            "type": "button",
            "action_id": "run_confirm",
            "text": {"type": "plain_text", "text": "Run it"},
            "style": "primary",
            "value": str(run.id),
        },
        {
            "type": "button",
            "action_id": "run_cancel",
            "text": {"type": "plain_text", "text": "Cancel"},
            "value": str(run.id),
        },
    ]
    return Message(text, [section(text), {"type": "actions", "elements": buttons}])


def input_heading(run: Run, index: int) -> str:
    values = run.inputs[index]
    shown = ", ".join(f"{escape(k)} = {escape(str(v))}" for k, v in values.items())
    return clip_escaped(f"*Input {index + 1}* — {shown}", 2900)


def _input_note(run: Run, candidate: Candidate) -> str:
    if len(run.inputs) > 1:
        return f" · input {candidate.input_index + 1}"
    return ""


def opens_input_group(run: Run, candidate: Candidate, candidates: Iterable[Candidate]) -> bool:
    """Whether this candidate is the first shown for its input (it carries the input's
    heading, so candidates appear grouped under their input)."""
    if len(run.inputs) < 2:
        return False
    first = min(c.slot for c in candidates if c.input_index == candidate.input_index)
    return candidate.slot == first


def candidate_messages(
    run: Run,
    candidate: Candidate,
    *,
    reveal: bool = False,
    heading: bool = False,
    checks: Sequence[CheckResult] = (),
) -> list[Message]:
    """One or more messages for a candidate; long outputs are split across sections
    and, past one message's block limit, across several messages (parts). With
    ``reveal`` the title names the model and prompt version behind the label, and
    ``checks`` (its results, shown only once voting is closed) add a ✅/❌ line; with
    ``heading`` it starts with the input the group below answers."""
    title = f"*Candidate {candidate.label}*{_input_note(run, candidate)}"
    if heading:
        title = clip_escaped(input_heading(run, candidate.input_index), 1200) + "\n" + title
    if reveal:
        title += f" — {escape(candidate.written_by(run))}"
        if candidate.model_id != candidate.model_name:  # the provider's id, if it differs
            title += f" (`{escape(candidate.model_id)}`)"
    if candidate.error is not None:
        text = f"Candidate {candidate.label}: no answer ({escape(candidate.error)})"
        return [
            Message(text, [section(f"{title}\n:warning: No answer: {escape(candidate.error)}")])
        ]
    output = candidate.output or ""
    chunks = escaped_chunks(output) if output.strip() else ["_(empty answer)_"]
    groups = [
        chunks[i : i + SECTIONS_PER_MESSAGE] for i in range(0, len(chunks), SECTIONS_PER_MESSAGE)
    ]
    messages = []
    for number, group in enumerate(groups, start=1):
        part = f" (part {number}/{len(groups)})" if len(groups) > 1 else ""
        blocks = [section(f"{title}{part}")] + [section(chunk) for chunk in group]
        fallback = f"Candidate {candidate.label}{part}: {truncate(output, 300)}"
        messages.append(Message(escape(fallback), blocks))
    if candidate.finish_reason == "length":
        messages[-1].blocks.append(context("_The model stopped at its max_tokens limit._"))
    if candidate.cached:
        messages[-1].blocks.append(
            context("_Reused from the cache: an identical earlier call; no cost, no wait._")
        )
    if reveal and checks:
        messages[-1].blocks.append(context(check_line(checks)))
    return messages


PAIR_HELP = "Vote :a: left is better · :b: right is better · :handshake: tie · :-1: both bad"
_FIELD = 1900


def _side(title: str, candidate: Candidate) -> dict[str, str]:
    if candidate.error is not None:
        body = f":warning: No answer: {escape(candidate.error)}"
    else:
        output = candidate.output or ""
        body = escaped_chunks(output, _FIELD)[0] if output.strip() else "_(empty answer)_"
        if len(escape(output)) > _FIELD:
            body += "\n_(shortened here; the export has it all)_"
    return {"type": "mrkdwn", "text": f"*{title}*\n{body}"}


def pair_message(
    run: Run,
    number: int,
    left: Candidate,
    right: Candidate,
    *,
    reveal: bool = False,
    checks: tuple[Sequence[CheckResult], Sequence[CheckResult]] = ((), ()),
) -> Message:
    """Two answers to one input side by side, in random order, for a pairwise vote;
    revealed, with each side's check line (``checks``: left's results, right's)."""

    def name(side: str, candidate: Candidate) -> str:
        if not reveal:
            return side
        return f"{side} — {escape(candidate.written_by(run))}"

    title = f"*Pair {number}*{_input_note(run, left)}"
    blocks: list[Block] = [
        section(title),
        {
            "type": "section",
            "fields": [_side(name("Left", left), left), _side(name("Right", right), right)],
        },
        context(PAIR_HELP),
    ]
    if reveal:
        lines = [
            f"{side}: {check_line(r)}"
            for side, r in zip(("Left", "Right"), checks, strict=True)
            if r
        ]
        blocks += [context("\n".join(lines))] if lines else []
    return Message(f"Pair {number}: which answer is better?", blocks)


def notice(text: str) -> Message:
    return Message(text=text, blocks=[context(text)])


def run_list(summaries: list[RunSummary]) -> Message:
    if not summaries:
        return Message("No proposals yet.", [section("No proposals yet. Try `/prompt new`.")])
    lines = []
    for summary in summaries:
        run = summary.run
        name = escape(truncate(run.version.prompt_name, 80))
        title = f"{name} v{run.version.number}"
        if run.permalink:
            title = f"<{run.permalink}|{title}>"
        lines.append(
            f"• {title} — run #{run.id}, {run.status}, by <@{escape(run.created_by)}>,"
            f" {count(summary.candidates, 'candidate')}, {count(summary.ratings, 'rating')},"
            f" {count(summary.comments, 'comment')}"
        )
    return Message("Recent proposals", [section("*Recent proposals*"), section("\n".join(lines))])
