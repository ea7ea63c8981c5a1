"""The Jinja2 environment prompt templates render in: the immutable sandbox, guarded
against absurd sizes (sandbox_limits.py), every variable required.

Its own module so that Jinja2 loads with the first template (sandbox.py builds it on
first use), not when the bot starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from promptbot.review import sandbox_limits


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


def new_environment() -> GuardedEnvironment:
    # Prompts go to a model, not a browser: no autoescaping (a "<" stays "<"), and a
    # template's last newline is part of the prompt.
    return GuardedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
