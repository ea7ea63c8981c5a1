"""The propose modal, as a Block Kit view. Block ids double as the keys of
FieldErrors, so validation errors land on the right field."""

from __future__ import annotations

import json
from typing import Any

from promptbot.config import AppConfig
from promptbot.render import truncate

PROPOSE_CALLBACK = "propose"
# plain_text_input's own ceiling; larger templates go through /prompt propose.
INPUT_MAX = 3000


def _input(
    block_id: str,
    label: str,
    *,
    multiline: bool = False,
    optional: bool = False,
    hint: str | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
        "max_length": INPUT_MAX,
    }
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def propose_modal(config: AppConfig, channel: str) -> dict[str, Any]:
    def option(name: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": truncate(name, 75)}, "value": name}

    models: dict[str, Any] = {
        "type": "input",
        "block_id": "models",
        "label": {"type": "plain_text", "text": "Models"},
        "element": {
            "type": "multi_static_select",
            "action_id": "models",
            "options": [option(m.name) for m in config.models[:100]],
        },
    }
    defaults = config.proposal_models()
    if defaults:
        models["element"]["initial_options"] = [option(name) for name in defaults]
    return {
        "type": "modal",
        "callback_id": PROPOSE_CALLBACK,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Propose a prompt"},
        "submit": {"type": "plain_text", "text": "Run it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("name", "Name", placeholder="e.g. support-summary"),
            _input(
                "template",
                "Template",
                multiline=True,
                hint="Jinja2: write {{ variable }} where a value goes.",
            ),
            _input("system_prompt", "System prompt", multiline=True, optional=True),
            models,
            _input(
                "variables",
                "Variable values",
                multiline=True,
                optional=True,
                hint="One `name: value` per line; a line with --- starts another set of values.",
            ),
        ],
    }


def read_propose_submission(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted values by block id; absent optional fields are None."""
    values = view.get("state", {}).get("values", {})

    def text(block_id: str) -> str | None:
        value = values.get(block_id, {}).get(block_id, {}).get("value")
        return value if isinstance(value, str) else None

    selected = values.get("models", {}).get("models", {}).get("selected_options") or []
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except (json.JSONDecodeError, AttributeError):
        channel = None
    return {
        "name": (text("name") or "").strip(),
        "template": text("template") or "",
        "system_prompt": text("system_prompt"),
        "models": [o["value"] for o in selected if isinstance(o, dict) and "value" in o],
        "variables": text("variables") or "",
        "channel": channel,
    }
