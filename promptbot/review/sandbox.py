"""Prompt templates: Jinja2 in the immutable sandbox, with every variable required.

Templates come from anyone in the workspace, so they render in a guarded
``ImmutableSandboxedEnvironment`` (no attribute tricks, no mutation, no absurd sizes:
see sandbox_limits.py) with ``StrictUndefined`` (a missing value is an error that
names it, never an empty string). Rendering is capped in output size here; time and
memory are bounded by rendering in a worker process (render_budget.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from promptbot.errors import TemplateError
from promptbot.review import sandbox_limits

DEFAULT_MAX_BYTES = 16_384
DEFAULT_OUTPUT_MAX_BYTES = 65_536


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(sandbox_limits.guarded_filters(self.filters))
        self.globals["lipsum"] = sandbox_limits.guarded_lipsum(generate_lorem_ipsum)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        sandbox_limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        sandbox_limits.check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            sandbox_limits.check_brace_format(str(value.__self__))
        return wrapped


def _new_environment() -> GuardedEnvironment:
    # Prompts go to a model, not a browser: no autoescaping (a "<" stays "<"), and a
    # template's last newline is part of the prompt.
    return GuardedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@cache
def _environment() -> GuardedEnvironment:
    """Built on first use, not at import (cheaper start-up; and `make mutate` can
    swap its settings, which it cannot do in module-level code)."""
    return _new_environment()


@dataclass(frozen=True)
class PromptTemplate:
    source: str
    variables: tuple[str, ...]

    def check(self, values: dict[str, Any]) -> None:
        """What can be known without rendering: every variable has a value."""
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise TemplateError(f"missing value for template variable: {', '.join(missing)}")

    def render(
        self, values: dict[str, Any], *, max_output_bytes: int = DEFAULT_OUTPUT_MAX_BYTES
    ) -> str:
        """Render in this process, stopping once the output passes ``max_output_bytes``.
        Not bounded in time: untrusted templates render through a RenderBudget."""
        self.check(values)
        try:
            return _capped(_compiled(self.source).generate(values), max_output_bytes)
        except SecurityError as error:
            raise TemplateError(f"template refused by the sandbox: {error}") from None
        except UndefinedError as error:
            raise TemplateError(f"template variable problem: {error.message}") from None
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateError("template recurses too deeply") from None
        except MemoryError:
            raise TemplateError("template needs too much memory to render") from None
        except Exception as error:  # a user's template can raise anything while rendering
            raise TemplateError(f"template failed to render: {error}") from None


def _capped(pieces: Any, max_bytes: int) -> str:
    out: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise TemplateError(
                f"template renders to more than {max_bytes // 1024} KB"
                " (limits.template_output_max_bytes)"
            )
        out.append(piece)
    return "".join(out)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _environment().from_string(source)


@lru_cache(maxsize=256)
def parse_template(source: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PromptTemplate:
    """Check and parse a template. Cached: a run renders one template for every
    candidate, and parsing is most of the cost."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TemplateError(
            f"template is {size // 1024} KB; the limit is {max_bytes // 1024} KB. "
            "Shorten it or move examples into a test set."
        )
    if not source.strip():
        raise TemplateError("template is empty")
    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(
            f"template syntax error on line {error.lineno}: {error.message}"
        ) from None
    variables = tuple(sorted(meta.find_undeclared_variables(tree)))
    return PromptTemplate(source=source, variables=variables)
