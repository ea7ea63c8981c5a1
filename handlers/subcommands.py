"""One declaration per ``/prompt`` subcommand: its name, usage, help line and handler.

A feature module declares its subcommands beside their handlers::

    SUBCOMMANDS = Subcommands()

    @SUBCOMMANDS.add("close", "RUN", help="close voting on a run (proposer or admin).")
    def close(call: Invocation) -> None: ...

handlers/commands.py joins the modules' lists into the one ``SUBCOMMANDS``; from it come
the parser's list of names, the dispatch table, the ephemeral help, the manifest's usage
hint, the shell's multi-line list and the README's command table (checked by a test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from handlers.invocation import Invocation

COMMAND = "/prompt"

Handler = Callable[[Invocation], None]


@dataclass(frozen=True)
class Subcommand:
    """``forms`` are the ways to write its arguments (``("NAME", "#RUN")``; ``""`` for
    none). ``doc`` is the README's longer description (default: ``help``). ``multiline``:
    its text continues on the following lines. ``hinted``: named in the usage hint."""

    name: str
    forms: tuple[str, ...]
    help: str
    handle: Handler
    doc: str = ""
    multiline: bool = False
    hinted: bool = False

    def usages(self) -> list[str]:
        return [f"{COMMAND} {self.name} {form}".strip() for form in self.forms]

    def help_line(self) -> str:
        return " or ".join(f"`{usage}`" for usage in self.usages()) + f" — {self.help}"

    def hint(self) -> str:
        """Its name and required arguments (``propose NAME``), for the usage hint."""
        required = [word for word in self.forms[0].split() if not word.startswith("[")]
        return " ".join([self.name, *required[:1]])


class Subcommands:
    """An ordered list of subcommands with unique names."""

    def __init__(self, items: Iterable[Subcommand] = ()) -> None:
        self._items: dict[str, Subcommand] = {}
        for item in items:
            self._append(item)

    def _append(self, item: Subcommand) -> None:
        if item.name in self._items:
            raise ValueError(f"/prompt {item.name} is declared twice")
        self._items[item.name] = item

    def add(
        self,
        name: str,
        *forms: str,
        help: str,
        doc: str = "",
        multiline: bool = False,
        hinted: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated function as the handler of ``/prompt name``."""

        def declare(handle: Handler) -> Handler:
            self._append(
                Subcommand(name, forms or ("",), help, handle, doc or help, multiline, hinted)
            )
            return handle

        return declare

    def __iter__(self) -> Iterator[Subcommand]:
        return iter(self._items.values())

    def __add__(self, other: Subcommands) -> Subcommands:
        return Subcommands([*self, *other])

    @property
    def names(self) -> frozenset[str]:
        """What the parser accepts as a subcommand."""
        return frozenset(self._items)

    def dispatch_table(self) -> dict[str, Handler]:
        return {item.name: item.handle for item in self}

    def help_text(self) -> str:
        """The ephemeral ``/prompt help``."""
        lines = [item.help_line() for item in self]
        return "*promptbot* — team prompt review.\n" + "\n".join(lines)

    def usage_hint(self) -> str:
        """The manifest's usage hint: the main subcommands."""
        return " | ".join(item.hint() for item in self if item.hinted)

    def multiline(self) -> frozenset[str]:
        """Subcommands whose text continues on the following lines (the shell reads them
        up to an empty line)."""
        return frozenset(item.name for item in self if item.multiline)

    def markdown(self) -> str:
        """README's command table (``promptbot subcommands`` prints it)."""
        lines = ["| Command | What it does |", "|---|---|"]
        for item in self:
            usage = " / ".join(f"`{u}`" for u in item.usages())
            lines.append(f"| {_cell(usage)} | {_cell(item.doc)} |")
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
