"""A Slack modal, asked as a sequence of questions, one per input block, by label.

The answers become the view's ``state.values`` exactly as Slack would submit them;
when the app answers ``response_action: errors``, only the fields in error are asked
again, with the error shown, and the others keep their answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rich.text import Text

from promptbot.shell.render import Renderer, plain

JSONDict = dict[str, Any]
SELECTS = ("static_select", "multi_static_select")
# Typed at any question, closes the form unsubmitted (Slack's Cancel button).
CANCEL = "/cancel"
# A local path → the file object Slack would submit, or one line saying what is wrong.
Attach = Callable[[str], JSONDict | str]


class Prompter(Protocol):
    def ask(self, prompt: str) -> str | None:
        """One line; None when the input has ended."""
        ...

    def ask_lines(self, prompt: str) -> str | None:
        """Lines up to an empty one, joined; None when the input has ended."""
        ...


def input_blocks(view: JSONDict) -> list[JSONDict]:
    return [b for b in view.get("blocks", []) if b.get("type") == "input" and b.get("element")]


def _label(block: JSONDict, renderer: Renderer) -> str:
    return plain(str((block.get("label") or {}).get("text", block.get("block_id"))), renderer.names)


def _option_text(option: JSONDict, renderer: Renderer) -> str:
    return plain(str((option.get("text") or {}).get("text", option.get("value"))), renderer.names)


def _choose(answer: str, options: list[JSONDict], renderer: Renderer) -> list[JSONDict] | None:
    """Options picked by number or by name ("1,2", "2 3", "beta"); None if one is unknown."""
    picked: list[JSONDict] = []
    for word in answer.replace(",", " ").split():
        if word.isdigit() and 1 <= int(word) <= len(options):
            picked.append(options[int(word) - 1])
            continue
        named = [o for o in options if word in (o.get("value"), _option_text(o, renderer))]
        if not named:
            return None
        picked.append(named[0])
    return picked


def _ask_select(
    block: JSONDict, label: str, prompter: Prompter, renderer: Renderer
) -> JSONDict | None:
    element = block["element"]
    options = list(element.get("options", []))
    initial = element.get("initial_options") or (
        [element["initial_option"]] if element.get("initial_option") else []
    )
    chosen = {o.get("value") for o in initial}
    listing = "  ".join(
        f"{n}. {_option_text(o, renderer)}{' *' if o.get('value') in chosen else ''}"
        for n, o in enumerate(options, start=1)
    )
    renderer.console.print(Text(f"    {listing}", style="cyan"))
    many = element["type"] == "multi_static_select"
    how = "numbers, e.g. 1,2" if many else "a number"
    default = "; empty: the ones marked *" if chosen else ""
    while True:
        answer = prompter.ask(f"  {label} ({how}{default}): ")
        if _cancelled(answer):
            return None
        assert answer is not None
        picked = _choose(answer, options, renderer) if answer.strip() else initial
        if picked is None or (len(picked) > 1 and not many):
            renderer.hint(f"answer with {how} from the list above")
            continue
        if not picked and not block.get("optional"):
            renderer.hint(f"{label} is required (or {CANCEL} to close the form)")
            continue
        if many:
            return {"type": element["type"], "selected_options": picked}
        return {"type": element["type"], "selected_option": picked[0] if picked else None}


def _cancelled(answer: str | None) -> bool:
    return answer is None or answer.strip() == CANCEL


def _show_prefilled(value: str, renderer: Renderer) -> None:
    for line in value.splitlines() or [""]:
        renderer.console.print(Text("    │ ", style="dim") + Text(line))


def _ask_text(
    block: JSONDict, label: str, prompter: Prompter, renderer: Renderer
) -> JSONDict | None:
    """A text field. A prefilled one (Slack's ``initial_value``, as in the revise form)
    is shown, and an empty answer keeps it; ``-`` empties an optional one."""
    element = block["element"]
    optional = bool(block.get("optional"))
    initial = element.get("initial_value")
    kind = element.get("type", "plain_text_input")
    notes = ["optional"] if optional else []
    if initial:
        notes += ["empty keeps it"] + (["- empties it"] if optional else [])
    while True:
        if element.get("multiline"):
            if initial:
                renderer.note(f"  {label} is now:")
                _show_prefilled(str(initial), renderer)
            notes_text = f" ({'; '.join(notes)})" if notes else ""
            answer = prompter.ask_lines(f"  {label}{notes_text}, ending with an empty line:")
        else:
            shown = f" [{initial}]" if initial else ""
            notes_text = f" ({'; '.join(notes)})" if notes else ""
            answer = prompter.ask(f"  {label}{shown}{notes_text}: ")
        if _cancelled(answer):
            return None
        assert answer is not None
        if initial and not answer.strip():
            return {"type": kind, "value": initial}
        if optional and answer.strip() == "-":
            return {"type": kind, "value": None}
        if answer.strip() or optional:
            return {"type": kind, "value": answer or None}
        renderer.hint(f"{label} is required (or {CANCEL} to close the form)")


def _ask_file(
    block: JSONDict, label: str, prompter: Prompter, renderer: Renderer, attach: Attach
) -> JSONDict | None:
    """A file_input: the path of a local file, attached as if picked in Slack."""
    optional = bool(block.get("optional"))
    while True:
        answer = prompter.ask(f"  {label} ({'optional; ' if optional else ''}a local path): ")
        if _cancelled(answer):
            return None
        assert answer is not None
        path = answer.strip()
        if not path:
            if optional:
                return {"type": "file_input", "files": []}
            renderer.hint(f"{label} is required (or {CANCEL} to close the form)")
            continue
        attached = attach(path)
        if isinstance(attached, str):
            renderer.hint(attached)
            continue
        return {"type": "file_input", "files": [attached]}


def ask_fields(
    view: JSONDict,
    prompter: Prompter,
    renderer: Renderer,
    values: JSONDict,
    errors: dict[str, str],
    attach: Attach,
) -> JSONDict | None:
    """Ask every input (or, after errors, only the fields in error); the new state values,
    or None when the input ended mid-form (the modal is then closed unsubmitted)."""
    title = plain(str((view.get("title") or {}).get("text", "Form")), renderer.names)
    if not errors:
        renderer.console.print(
            Text(f"  ┌ {title}", style="bold") + Text(f" · {CANCEL} closes it", style="dim")
        )
    values = dict(values)
    for block in input_blocks(view):
        block_id = str(block.get("block_id"))
        if errors and block_id not in errors:
            continue
        label = _label(block, renderer)
        if block_id in errors:
            renderer.hint(f"{label}: {plain(errors[block_id], renderer.names)}")
        elif block.get("hint"):
            renderer.note(f"    {plain(str(block['hint'].get('text', '')), renderer.names)}")
        kind = block["element"].get("type")
        if kind == "file_input":
            answer = _ask_file(block, label, prompter, renderer, attach)
        elif kind in SELECTS:
            answer = _ask_select(block, label, prompter, renderer)
        else:
            answer = _ask_text(block, label, prompter, renderer)
        if answer is None:
            return None
        values[block_id] = {str(block["element"].get("action_id", block_id)): answer}
    return values
