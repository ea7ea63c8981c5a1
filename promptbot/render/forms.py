"""The propose modal, as a Block Kit view. Block ids double as the keys of
FieldErrors, so validation errors land on the right field."""

from __future__ import annotations

import json
from typing import Any

from promptbot.config.settings import AppConfig
from promptbot.domain import Version
from promptbot.render.blocks import truncate

PROPOSE_CALLBACK = "propose"
REVISE_CALLBACK = "revise"
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


def format_inputs(inputs: list[dict[str, Any]]) -> str:
    """Variable values back into the form's text: the inverse of parse_inputs."""
    return "\n---\n".join(
        "\n".join(f"{k}: {v}" for k, v in values.items()) for values in inputs if values
    )


def propose_modal(
    config: AppConfig,
    channel: str,
    *,
    revise: Version | None = None,
    models: list[str] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    checks: list[str] | None = None,
) -> dict[str, Any]:
    """The form for a new prompt or, with ``revise``, for its next version, prefilled
    (``checks``: the version's own, one a line)."""

    def option(name: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": truncate(name, 75)}, "value": name}

    model_block: dict[str, Any] = {
        "type": "input",
        "block_id": "models",
        "label": {"type": "plain_text", "text": "Models"},
        "element": {
            "type": "multi_static_select",
            "action_id": "models",
            "options": [option(m.name) for m in config.models[:100]],
        },
    }
    known = {m.name for m in config.models}
    chosen = [m for m in (models or config.proposal_models()) if m in known]
    if chosen:
        model_block["element"]["initial_options"] = [option(name) for name in chosen]
    template = _input(
        "template",
        "Template",
        multiline=True,
        hint="Jinja2: write {{ variable }} where a value goes.",
    )
    system = _input("system_prompt", "System prompt", multiline=True, optional=True)
    variables = _input(
        "variables",
        "Variable values",
        multiline=True,
        optional=True,
        hint="One `name: value` per line; a line with --- starts another set of values.",
    )
    test_set = _input(
        "test_set",
        "Save these values as a test set",
        optional=True,
        placeholder="a name, e.g. golden — later versions can run on the same inputs",
    )
    check_field = _input(
        "checks",
        "Checks on every answer",
        multiline=True,
        optional=True,
        hint="One a line, as in promptfoo: contains: refund · not-contains: sorry ·"
        " max-words: 80 · is-json · regex: ^\\d+ · latency: 3000. Results show after voting.",
    )
    if checks:
        _prefill(check_field, "\n".join(checks))
    metadata: dict[str, Any] = {"channel": channel}
    if revise is None:
        first = [_input("name", "Name", placeholder="e.g. support-summary")]
        title, callback = "Propose a prompt", PROPOSE_CALLBACK
    else:
        metadata |= {"prompt": revise.prompt_name, "parent": revise.id}
        _prefill(template, revise.template)
        _prefill(system, revise.system_prompt)
        first = [_input("note", "What changed", optional=True, placeholder="a short note")]
        title, callback = truncate(f"Revise {revise.prompt_name}", 24), REVISE_CALLBACK
    if inputs:
        _prefill(variables, format_inputs(inputs))
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Run it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [*first, template, system, model_block, variables, test_set, check_field],
    }


def _prefill(block: dict[str, Any], value: str | None) -> None:
    if value:
        block["element"]["initial_value"] = value[:INPUT_MAX]


def read_propose_submission(view: dict[str, Any]) -> dict[str, Any]:
    """The submitted values by block id; absent optional fields are None."""
    values = view.get("state", {}).get("values", {})

    def text(block_id: str) -> str | None:
        value = values.get(block_id, {}).get(block_id, {}).get("value")
        return value if isinstance(value, str) else None

    selected = values.get("models", {}).get("models", {}).get("selected_options") or []
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        metadata = {}
    if not isinstance(metadata, dict):
        metadata = {}
    return {
        "prompt": metadata.get("prompt"),
        "parent": metadata.get("parent"),
        "note": text("note"),
        "test_set": (text("test_set") or "").strip() or None,
        "name": (text("name") or "").strip(),
        "template": text("template") or "",
        "system_prompt": text("system_prompt"),
        "models": [o["value"] for o in selected if isinstance(o, dict) and "value" in o],
        "variables": text("variables") or "",
        "checks": text("checks") or "",
        "channel": metadata.get("channel"),
    }
