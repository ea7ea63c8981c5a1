"""Rendering to Block Kit: what the bot posts, within Slack's limits, with all
text we did not write escaped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from promptbot.config import AppConfig
from promptbot.domain import Candidate, Run
from storage.store import RunSummary

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
# Leave room in each section for formatting we add around the text.
_CHUNK = 2800
_SECTIONS_PER_MESSAGE = 45


def escape(text: str) -> str:
    """Escape Slack's mrkdwn control characters; ``&`` first so nothing is escaped twice.

    Untrusted text (model output, prompt text, names) must pass through here, so
    ``<!channel>``, ``<@U123>`` and ``<https://evil|harmless>`` arrive as plain text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_chunks(text: str, limit: int = _CHUNK) -> list[str]:
    """Split raw text so each escaped chunk fits ``limit``, preferring line breaks.

    Splitting before escaping means an entity like ``&amp;`` is never cut in half.
    """
    chunks: list[str] = []
    rest = text
    while rest:
        if len(escape(rest)) <= limit:
            chunks.append(escape(rest))
            break
        cut = limit
        while len(escape(rest[:cut])) > limit:
            cut -= max(1, (len(escape(rest[:cut])) - limit) // 2)
        newline = rest.rfind("\n", 0, cut)
        space = rest.rfind(" ", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        elif space > cut // 2:
            cut = space + 1
        chunks.append(escape(rest[:cut]))
        rest = rest[cut:]
    return chunks or [""]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]


def _emoji_list(names: Iterable[str]) -> str:
    return " ".join(f":{name}:" for name in names)


def rating_help(config: AppConfig) -> str:
    parts = [f"*{name}*: {_emoji_list(scale.emoji)}" for name, scale in config.scales.items()]
    return "Rate each candidate with emoji — " + "; ".join(parts) + ". Discuss in this thread."


def thread_parent(run: Run, config: AppConfig) -> Message:
    version = run.version
    name = escape(version.prompt_name)
    models = ", ".join(escape(m) for m in run.models)
    count = len(run.models) * max(1, len(run.inputs))
    template = escaped_chunks(version.template, SECTION_TEXT_LIMIT - 20)
    blocks: list[Block] = [
        header(f"Prompt review: {truncate(version.prompt_name, 100)} v{version.number}"),
        context(
            f"Run #{run.id} · proposed by <@{escape(run.created_by)}> · models: {models}"
            f" · {count} blind candidates"
        ),
    ]
    if version.system_prompt:
        blocks.append(section("*System prompt*\n" + escaped_chunks(version.system_prompt, 2900)[0]))
    blocks.append(section("*Template*\n" + template[0]))
    if len(template) > 1:
        blocks.append(context(f"(template shortened here; {len(version.template)} chars in all)"))
    for index, values in enumerate(run.inputs):
        if values:
            shown = ", ".join(f"{escape(k)} = {escape(str(v))}" for k, v in values.items())
            blocks.append(context(truncate(f"Input {index + 1}: {shown}", 2900)))
    blocks.append(context(rating_help(config)))
    text = f"Prompt review: {name} v{version.number} (run #{run.id})"
    return Message(text=text, blocks=blocks[:BLOCKS_PER_MESSAGE])


def _input_note(run: Run, candidate: Candidate) -> str:
    if len(run.inputs) > 1:
        return f" · input {candidate.input_index + 1}"
    return ""


def candidate_messages(run: Run, candidate: Candidate, *, reveal: bool = False) -> list[Message]:
    """One or more messages for a candidate; long outputs are split across sections
    and, past one message's block limit, across several messages (parts). With
    ``reveal`` the title names the model and prompt version behind the label."""
    title = f"*Candidate {candidate.label}*{_input_note(run, candidate)}"
    if reveal:
        title += (
            f" — {escape(candidate.model_name)} (`{escape(candidate.model_id)}`),"
            f" {escape(run.version.prompt_name)} v{run.version.number}"
        )
    if candidate.error is not None:
        text = f"Candidate {candidate.label}: no answer ({candidate.error})"
        return [
            Message(text, [section(f"{title}\n:warning: No answer: {escape(candidate.error)}")])
        ]
    output = candidate.output or ""
    chunks = escaped_chunks(output) if output.strip() else ["_(empty answer)_"]
    groups = [
        chunks[i : i + _SECTIONS_PER_MESSAGE] for i in range(0, len(chunks), _SECTIONS_PER_MESSAGE)
    ]
    messages = []
    for number, group in enumerate(groups, start=1):
        part = f" (part {number}/{len(groups)})" if len(groups) > 1 else ""
        blocks = [section(f"{title}{part}")] + [section(chunk) for chunk in group]
        fallback = f"Candidate {candidate.label}{part}: {truncate(output, 300)}"
        messages.append(Message(escape(fallback), blocks))
    if candidate.finish_reason == "length":
        messages[-1].blocks.append(context("_The model stopped at its max_tokens limit._"))
    return messages


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
            f" {summary.candidates} candidates, {summary.ratings} ratings,"
            f" {summary.comments} comments"
        )
    return Message("Recent proposals", [section("*Recent proposals*"), section("\n".join(lines))])
