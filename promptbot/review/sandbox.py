"""Prompt templates: Jinja2 in the immutable sandbox, with every variable required.

Templates come from anyone in the workspace, so they render in a guarded
``ImmutableSandboxedEnvironment`` (sandbox_environment.py: no attribute tricks, no
mutation, no absurd sizes: see sandbox_limits.py) with ``StrictUndefined`` (a missing
value is an error that names it, never an empty string). Rendering is capped in output size here; time and
memory are bounded by rendering in a worker process (render_budget.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from promptbot.errors import TemplateError

if TYPE_CHECKING:  # Jinja2 loads with the first template, not at start-up
    from jinja2 import Template

    from promptbot.review.sandbox_environment import GuardedEnvironment

DEFAULT_MAX_BYTES = 16_384
DEFAULT_OUTPUT_MAX_BYTES = 65_536


@cache
def _environment() -> GuardedEnvironment:
    """Built on first use, not at import, and Jinja2 loaded with it: a bot that only
    stores ratings never needs it (tests/test_startup.py); and `make mutate` can swap
    its settings, which it cannot do in module-level code."""
    from promptbot.review.sandbox_environment import new_environment

    return new_environment()


def prepare() -> None:
    """Load Jinja2 and build the environment now: a render worker does, before it says
    it is ready, so that its first render's time budget is the render's alone."""
    _environment()


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
        from jinja2 import UndefinedError
        from jinja2.exceptions import SecurityError

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
    from jinja2 import TemplateSyntaxError, meta

    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as error:
        raise TemplateError(
            f"template syntax error on line {error.lineno}: {error.message}"
        ) from None
    variables = tuple(sorted(meta.find_undeclared_variables(tree)))
    return PromptTemplate(source=source, variables=variables)
