"""The settings reference: README's tables, generated from the declarations so they cannot
drift (``promptbot settings`` prints them; tests/test_docs.py checks README)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from promptbot.config.environment import ENVIRONMENT
from promptbot.config.settings import AppConfig


def settings_reference() -> list[tuple[str, str, str]]:
    """(dotted name, default, help) for every app.yaml setting, for the docs and their test."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            dotted = f"{prefix}{name}"
            annotation = info.annotation
            nested = _nested_model(annotation)
            if info.is_required():
                default = "required"
            elif info.default_factory is not None and nested is None:
                default = repr(info.default_factory())  # type: ignore[call-arg]
            else:
                default = "" if nested is not None else repr(info.default)
            rows.append((dotted, default, info.description or ""))
            if nested is not None:
                walk(nested, dotted + _SEPARATORS.get(getattr(annotation, "__origin__", None), "."))

    walk(AppConfig, "")
    return rows


def settings_markdown() -> str:
    """The settings tables of README.md, generated so they cannot drift from the code."""
    lines = ["| Setting | Default | Meaning |", "|---|---|---|"]
    for name, default, help_text in settings_reference():
        shown = default.replace("|", "\\|")
        lines.append(f"| `{name}` | {shown} | {help_text} |")
    lines += ["", "| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{v.name}` | {v.default or ''} | {v.help} |" for v in ENVIRONMENT]
    return "\n".join(lines) + "\n"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


_SEPARATORS: dict[Any, str] = {list: "[].", dict: ".<name>."}
