"""Prompt templates: Jinja2 in the immutable sandbox, with every variable required.

Templates come from anyone in the workspace, so they render in
``ImmutableSandboxedEnvironment`` (no attribute tricks, no mutation) with
``StrictUndefined`` (a missing value is an error that names it, never an empty string).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from promptbot.errors import TemplateError

DEFAULT_MAX_BYTES = 16_384

_environment = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


@dataclass(frozen=True)
class PromptTemplate:
    source: str
    variables: tuple[str, ...]

    def render(self, values: dict[str, Any]) -> str:
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise TemplateError(f"missing value for template variable: {', '.join(missing)}")
        try:
            return _compiled(self.source).render(values)
        except SecurityError as error:
            raise TemplateError(f"template refused by the sandbox: {error}") from None
        except UndefinedError as error:
            raise TemplateError(f"template variable problem: {error.message}") from None
        except TemplateError:
            raise
        except Exception as error:  # a user's template can raise anything while rendering
            raise TemplateError(f"template failed to render: {error}") from None


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _environment.from_string(source)


@lru_cache(maxsize=256)
def parse_template(source: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PromptTemplate:
    """Check and parse a template. Cached: a run renders one template for every
    candidate, and parsing is most of the cost."""
    size = len(source.encode("utf-8"))
    if size > max_bytes:
        raise TemplateError(
            f"template is {size // 1024} KB; the limit is {max_bytes // 1024} KB. "
            "Shorten it or move examples into a test set."
        )
    if not source.strip():
        raise TemplateError("template is empty")
    try:
        tree = _environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(
            f"template syntax error on line {error.lineno}: {error.message}"
        ) from None
    variables = tuple(sorted(meta.find_undeclared_variables(tree)))
    return PromptTemplate(source=source, variables=variables)
