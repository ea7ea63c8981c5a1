"""Where typed lines come from: the terminal, or a script replayed as if typed.

A script's lines are echoed after their prompt, so the output reads as the transcript
of a session (the README's demo is exactly that).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

CONTINUATION = "… "
_ESCAPE = re.compile(r"(\x1b\[[0-9;]*m)")
PROMPT_STYLE = "bold cyan"


class ScriptInput:
    """Lines from a file or a pipe; never waits for a person."""

    def __init__(self, lines: Iterable[str], console: Console) -> None:
        self._lines = [line.rstrip("\r\n") for line in lines]
        self._next = 0
        self.console = console

    def _take(self, prompt: str) -> str | None:
        if self._next >= len(self._lines):
            return None
        line = self._lines[self._next]
        self._next += 1
        echoed = Text(prompt, style=PROMPT_STYLE) + Text(line)
        echoed.rstrip()
        self.console.print(echoed, soft_wrap=True)
        return line

    def ask(self, prompt: str) -> str | None:
        return self._take(prompt)

    def ask_lines(self, prompt: str | None = None) -> str | None:
        if prompt:
            self.console.print(Text(prompt, style=PROMPT_STYLE))
        lines: list[str] = []
        while (line := self._take(CONTINUATION)) is not None and line.strip():
            lines.append(line)
        return "\n".join(lines) if lines or line is not None else None


class TerminalInput:
    """A person at a terminal; Ctrl-D ends the input, Ctrl-C abandons the current line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bracket = False
        with contextlib.suppress(ImportError):  # not on Windows
            import readline  # line editing and history for input()

            # GNU readline measures the prompt, so colour codes must be bracketed by
            # \001…\002; libedit (some macOS builds) would print the brackets.
            self._bracket = "libedit" not in (readline.__doc__ or "")

    def _prompt(self, prompt: str) -> str:
        """The prompt, coloured, as a string for input(): readline must be given the
        prompt itself, or an empty answer leaves the cursor on the prompt's line."""
        with self.console.capture() as captured:
            self.console.print(Text(prompt, style=PROMPT_STYLE), end="")
        text = captured.get()
        return _ESCAPE.sub("\x01\\1\x02", text) if self._bracket else text

    def ask(self, prompt: str) -> str | None:
        try:
            return input(self._prompt(prompt))
        except EOFError:
            self.console.print()
            return None
        except KeyboardInterrupt:
            self.console.print()
            return ""

    def ask_lines(self, prompt: str | None = None) -> str | None:
        if prompt:
            self.console.print(Text(prompt, style=PROMPT_STYLE))
        lines: list[str] = []
        while (line := self.ask(CONTINUATION)) is not None and line.strip():
            lines.append(line)
        return "\n".join(lines) if lines or line is not None else None
