"""Block Kit limits, checked the way Slack checks them, for the Slack stand-in.

``check_blocks`` and ``check_view`` return a list of human-readable problems, each
prefixed with a JSON pointer to the offending field (as Slack's own errors are). An empty
list means Slack would accept the payload, as far as the limits in docs/SLACK.md go.
The rules are tables below; add a row rather than a branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

ANY_TEXT = frozenset({"plain_text", "mrkdwn"})
PLAIN = frozenset({"plain_text"})

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
KNOWN_BLOCKS = frozenset(
    {"section", "header", "context", "actions", "divider", "input", "image", "rich_text"}
    | {"markdown", "video", "file", "call", "table"}
)

# Text objects held by a block or an element: {type: {key: (max chars, allowed types)}}.
TEXTS: dict[str, dict[str, tuple[int, frozenset[str]]]] = {
    "section": {"text": (3000, ANY_TEXT)},
    "header": {"text": (150, PLAIN)},
    "input": {"label": (2000, PLAIN), "hint": (2000, PLAIN)},
    "button": {"text": (75, PLAIN)},
    "plain_text_input": {"placeholder": (150, PLAIN)},
    "static_select": {"placeholder": (150, PLAIN)},
    "multi_static_select": {"placeholder": (150, PLAIN)},
    "users_select": {"placeholder": (150, PLAIN)},
    "conversations_select": {"placeholder": (150, PLAIN)},
    "option": {"text": (75, ANY_TEXT), "description": (75, ANY_TEXT)},
}
# Plain strings on any block or element: {key: max chars}.
STRINGS: dict[str, int] = {"block_id": 255, "action_id": 255}
# Strings on one type: {type: {key: max chars}}.
TYPED_STRINGS: dict[str, dict[str, int]] = {
    "button": {"value": 2000, "url": 3000},
    "option": {"value": 150},
    "plain_text_input": {"initial_value": 3000},
}
# Integers on one type: {type: {key: max}}.
NUMBERS: dict[str, dict[str, int]] = {"plain_text_input": {"max_length": 3000, "min_length": 3000}}
# Lists on a block: {type: {key: (min items, max items, max chars per text item or 0)}}.
LISTS: dict[str, dict[str, tuple[int, int, int]]] = {
    "section": {"fields": (0, 10, 2000)},
    "context": {"elements": (1, 10, 0)},
    "actions": {"elements": (1, 25, 0)},
}
# Where elements sit inside a block: {block type: keys holding one element}.
ELEMENT_KEYS: dict[str, tuple[str, ...]] = {"section": ("accessory",), "input": ("element",)}
# View fields: {key: (max chars, kind)} where kind is "text" (a plain_text object) or "str".
VIEW_FIELDS: dict[str, tuple[int, str]] = {
    "title": (24, "text"),
    "submit": (24, "text"),
    "close": (24, "text"),
    "private_metadata": (3000, "str"),
    "callback_id": (255, "str"),
    "external_id": (255, "str"),
}


def check_text(
    obj: object, where: str, max_chars: int, types: frozenset[str] = ANY_TEXT
) -> list[str]:
    """Problems with one text object (``{"type": "plain_text", "text": "..."}``)."""
    if not isinstance(obj, Mapping):
        return [f"{where}: must be a text object, got {type(obj).__name__}"]
    problems = []
    if obj.get("type") not in types:
        problems.append(
            f"{where}/type: must be {' or '.join(sorted(types))}, got {obj.get('type')!r}"
        )
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}/text: must be a non-empty string")
    elif len(text) > max_chars:
        problems.append(f"{where}/text: {len(text)} chars, more than {max_chars}")
    return problems


def _check_object(obj: Mapping[str, Any], where: str) -> list[str]:
    """Rules that apply to a block or an element, looked up by its ``type``."""
    kind = str(obj.get("type"))
    problems = []
    for key, (max_chars, types) in TEXTS.get(kind, {}).items():
        if key in obj:
            problems += check_text(obj[key], f"{where}/{key}", max_chars, types)
    for key, max_chars in (STRINGS | TYPED_STRINGS.get(kind, {})).items():
        value = obj.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > max_chars):
            problems.append(f"{where}/{key}: must be a string of at most {max_chars} chars")
    for key, maximum in NUMBERS.get(kind, {}).items():
        value = obj.get(key)
        if value is not None and (not isinstance(value, int) or value > maximum):
            problems.append(f"{where}/{key}: must be an integer of at most {maximum}")
    for i, option in enumerate(obj.get("options") or []):
        if isinstance(option, Mapping):
            problems += _check_object({**option, "type": "option"}, f"{where}/options/{i}")
    return problems


def _check_element(element: object, where: str) -> list[str]:
    if not isinstance(element, Mapping) or not isinstance(element.get("type"), str):
        return [f"{where}: must be an object with a type"]
    if element["type"] in ANY_TEXT:  # context blocks hold bare text objects
        return check_text(element, where, 3000)
    return _check_object(element, where)


def _check_block(block: object, where: str) -> list[str]:
    if not isinstance(block, Mapping):
        return [f"{where}: must be an object, got {type(block).__name__}"]
    kind = block.get("type")
    if kind not in KNOWN_BLOCKS:
        return [f"{where}/type: unknown block type {kind!r}"]
    problems = _check_object(block, where)
    if kind == "section" and "text" not in block and "fields" not in block:
        problems.append(f"{where}: a section needs text or fields")
    if kind == "header" and "text" not in block:
        problems.append(f"{where}/text: a header needs text")
    for key, (min_items, max_items, max_chars) in LISTS.get(str(kind), {}).items():
        items = block.get(key, [])
        if not isinstance(items, list) or not min_items <= len(items) <= max_items:
            size = len(items) if isinstance(items, list) else "not a list"
            problems.append(f"{where}/{key}: needs {min_items} to {max_items} items, got {size}")
            continue
        for i, item in enumerate(items):
            item_where = f"{where}/{key}/{i}"
            if max_chars:
                problems += check_text(item, item_where, max_chars)
            else:
                problems += _check_element(item, item_where)
    for key in ELEMENT_KEYS.get(str(kind), ()):
        if key in block:
            problems += _check_element(block[key], f"{where}/{key}")
    return problems


def check_blocks(blocks: Sequence[Any], surface: Surface = "message") -> list[str]:
    """Problems Slack would report for ``blocks`` on a message, a modal or the Home tab."""
    if not isinstance(blocks, list):
        return [f"/blocks: must be a list, got {type(blocks).__name__}"]
    problems = []
    if len(blocks) > MAX_BLOCKS[surface]:
        problems.append(
            f"/blocks: {len(blocks)} blocks, more than {MAX_BLOCKS[surface]} on a {surface}"
        )
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, Mapping) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        problems.append("/blocks: block_id values must be unique")
    for i, block in enumerate(blocks):
        problems += _check_block(block, f"/blocks/{i}")
    return problems


def check_view(view: Mapping[str, Any], *, include_blocks: bool = True) -> list[str]:
    """Problems Slack would report for a modal or Home tab view (``views.open``, ``views.publish``)."""
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"/view/type: must be modal or home, got {kind!r}"]
    problems = []
    if kind == "modal" and "title" not in view:
        problems.append("/view/title: a modal needs a title")
    for key, (max_chars, value_kind) in VIEW_FIELDS.items():
        value = view.get(key)
        if value is None:
            continue
        if value_kind == "text":
            problems += check_text(value, f"/view/{key}", max_chars, PLAIN)
        elif not isinstance(value, str) or len(value) > max_chars:
            problems.append(f"/view/{key}: must be a string of at most {max_chars} chars")
    blocks = view.get("blocks", [])
    has_input = isinstance(blocks, list) and any(
        isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal" and has_input and "submit" not in view:
        problems.append("/view/submit: a modal with input blocks needs a submit button")
    if include_blocks:
        problems += [f"/view{p}" for p in check_blocks(blocks, kind)]
    return problems
