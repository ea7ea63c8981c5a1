"""The shell's own little language: one typed line in, one action out.

Pure text parsing, no I/O. Anything the shell cannot make sense of becomes a ``Hint``:
one line telling the user what to type instead, after which the shell carries on.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.commands import SUBCOMMANDS

# Slash commands whose text continues on the following lines (a template, for
# propose), up to an empty line: in Slack they are one multi-line message.
MULTILINE_SUBCOMMANDS = SUBCOMMANDS.multiline()

USER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,29}$")
# A review thread's candidates are A, B…; a compare thread's pairs are 1, 2… (with the
# sides as 1L and 1R, which name the same pair message).
LABEL = re.compile(
    r"^(?:candidate[\s_-]*|pair[\s_-]*)?([A-Za-z]{1,3}|\d{1,4}[LR]?)$", re.IGNORECASE
)
EMOJI = re.compile(r"^:?([a-z0-9_+\-']+(?:::skin-tone-[2-6])?):?$")

VERBS: dict[str, str] = {
    "/prompt …": "the bot's command, as in Slack (`/prompt help` lists its subcommands)",
    "as NAME": "act as someone else from now on (reviewer2, alice…)",
    "react LABEL :emoji:": "react to a candidate of the open thread, e.g. `react B :+1:`;"
    " in a compare thread, vote on a pair: `react 1 :a:` (:a: :b: :handshake: :-1:)",
    "unreact LABEL :emoji:": "take a reaction back",
    "open RUN": "open the thread of run RUN (to react or reply there)",
    "say TEXT": "reply in the open thread (any other plain line does too)",
    "home": "open the bot's App Home tab",
    "NUMBER": "click the button shown with that number",
    "help": "this list",
    "quit": "leave (everything is kept in the database)",
}


@dataclass(frozen=True)
class Slash:
    command: str
    text: str


@dataclass(frozen=True)
class SwitchUser:
    name: str


@dataclass(frozen=True)
class React:
    label: str
    emoji: str
    added: bool


@dataclass(frozen=True)
class OpenThread:
    run_id: int


@dataclass(frozen=True)
class Click:
    number: int


@dataclass(frozen=True)
class Reply:
    text: str


@dataclass(frozen=True)
class Home:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Nothing:
    """An empty line or a script comment."""


@dataclass(frozen=True)
class Hint:
    message: str


Action = (
    Slash | SwitchUser | React | OpenThread | Click | Reply | Home | Help | Quit | Nothing | Hint
)

_WORDS = ("as", "react", "unreact", "open", "thread", "say", "home", "help", "quit", "exit")


def continues(line: str) -> bool:
    """Whether the lines after this one belong to it (up to an empty line)."""
    words = line.split()
    return len(words) >= 2 and words[0].startswith("/") and words[1] in MULTILINE_SUBCOMMANDS


def user_id(name: str) -> str:
    """A stable fake Slack user id per name: ``reviewer2`` is always ``UREVIEWER2``."""
    return "U" + re.sub(r"[^A-Z0-9]", "", name.upper())


def parse_line(line: str, *, in_thread: bool) -> Action:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return Nothing()
    if stripped.startswith("/"):
        command, *text = stripped.split(None, 1)
        if command != "/prompt":
            return Hint(f"unknown command {command}: the bot answers /prompt (try /prompt help)")
        return Slash(command, text[0] if text else "")
    verb, _, rest = stripped.partition(" ")
    rest = rest.strip()
    match verb.lower():
        case "help" | "?":
            return Help()
        case "home":
            return Home()
        case "quit" | "exit":
            return Quit()
        case "as":
            return _switch_user(rest)
        case "react" | "unreact":
            return _react(rest, added=verb.lower() == "react")
        case "open" | "thread":
            number = rest.lstrip("#")
            if not number.isdigit():
                return Hint("usage: open RUN, with the run number shown in the thread (open 1)")
            return OpenThread(int(number))
        case "say":
            if not rest:
                return Hint("usage: say TEXT, to reply in the open thread")
            return _reply(rest, in_thread)
    if stripped.isdigit():
        return Click(int(stripped))
    typo = difflib.get_close_matches(verb.lower(), _WORDS, n=1, cutoff=0.75)
    if typo:
        return Hint(f"unknown command '{verb}': did you mean {typo[0]}? (type help)")
    if not in_thread:
        return Hint(f"unknown command '{verb[:30]}' (type help); no thread is open to reply in")
    return Reply(stripped)


def _switch_user(rest: str) -> Action:
    if not rest:
        return Hint("usage: as NAME, e.g. as reviewer2")
    if not USER_NAME.match(rest):
        return Hint(f"'{rest[:30]}' is not a usable name: one word of letters and digits")
    return SwitchUser(rest)


def _react(rest: str, *, added: bool) -> Action:
    verb = "react" if added else "unreact"
    words = rest.split()
    label = LABEL.match(words[0]) if len(words) == 2 else None
    emoji = EMOJI.match(words[1]) if len(words) == 2 else None
    if label is None or emoji is None:
        return Hint(f"usage: {verb} LABEL :emoji:, e.g. {verb} B :+1:")
    return React(label.group(1).upper(), emoji.group(1), added)


def _reply(text: str, in_thread: bool) -> Action:
    if not in_thread:
        return Hint(
            "no thread is open to reply in: propose with /prompt propose, or open RUN (type help)"
        )
    return Reply(text)


def help_lines() -> list[tuple[str, str]]:
    return list(VERBS.items())
