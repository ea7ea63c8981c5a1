"""The ``/prompt`` command language: parsing what follows ``/prompt``.

Pure text in, a parsed request out; handlers/ turns it into Slack replies.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from promptbot.errors import UsageError

INPUT_SEPARATOR = "---"


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: list[str] = field(default_factory=list)
    body: str = ""


def parse_command(text: str, subcommands: Collection[str]) -> ParsedCommand:
    """Split ``/prompt`` text into the subcommand, the rest of its first line, and the
    lines after it (a template, for ``propose``). A word not in ``subcommands`` (their
    names, declared in handlers/) becomes help."""
    first, _, body = text.strip().partition("\n")
    words = first.split()
    if not words:
        return ParsedCommand("help")
    name = words[0].lower()
    if name not in subcommands:
        return ParsedCommand("help", [name])
    return ParsedCommand(name, words[1:], body)


def parse_run_id(args: list[str], usage: str) -> int:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise UsageError(f"usage: {usage}")
    return int(args[0].lstrip("#"))


def parse_models_option(args: list[str]) -> tuple[list[str], list[str] | None]:
    """Pull ``--models a,b`` (or ``--models=a,b``) out of the argument list."""
    rest: list[str] = []
    models: list[str] | None = None
    words = iter(args)
    for word in words:
        if word == "--models":
            value = next(words, "")
        elif word.startswith("--models="):
            value = word.split("=", 1)[1]
        else:
            rest.append(word)
            continue
        models = [m for m in value.split(",") if m]
        if not models:
            raise UsageError("--models needs a comma-separated list of model names")
    return rest, models


def parse_inputs(text: str) -> list[dict[str, Any]]:
    """Sets of variable values: ``name: value`` lines, sets separated by ``---`` lines."""
    sets: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line == INPUT_SEPARATOR:
            if current:
                sets.append(current)
            current = {}
            continue
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip().isidentifier():
            raise UsageError(
                f"variable values line {number}: expected `name: value`, got '{line[:60]}'"
            )
        current[key.strip()] = value.strip()
    if current:
        sets.append(current)
    return sets


def split_propose_body(body: str) -> tuple[str, list[dict[str, Any]]]:
    """The template comes first; an optional ``---`` line starts the variable values."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        if line.strip() == INPUT_SEPARATOR:
            return "\n".join(lines[:index]).strip("\n"), parse_inputs("\n".join(lines[index + 1 :]))
    return body.strip("\n"), []
