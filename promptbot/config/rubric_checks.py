"""The judge's rubrics in app.yaml, checked when it is loaded: Jinja2 that parses, and
that uses only the values a rubric is given, so a typo is one line at start-up rather
than a failed verdict on every answer. (They render later in the template sandbox.)"""

from __future__ import annotations

from collections.abc import Callable

# What each kind of rubric is given (promptbot/judge/rubric.py renders them).
RUBRIC_VARIABLES = ("prompt", "input", "answer", "stars")
PAIR_RUBRIC_VARIABLES = ("prompt", "input", "first", "second")


def rubric_checker(kind: str, variables: tuple[str, ...]) -> Callable[[str], str]:
    """A pydantic validator for one kind of rubric: a bad one raises ValueError, which
    the loader turns into one line naming the setting."""

    def check(text: str) -> str:
        from jinja2 import TemplateSyntaxError, meta
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        environment = ImmutableSandboxedEnvironment()
        try:
            parsed = environment.parse(text)
        except TemplateSyntaxError as error:
            raise ValueError(f"line {error.lineno}: {error.message}") from None
        unknown = sorted(
            name
            for name in meta.find_undeclared_variables(parsed)
            if name not in variables and name not in environment.globals
        )
        if unknown:
            given = ", ".join(variables[:-1]) + f" and {variables[-1]}"
            raise ValueError(f"{kind} uses '{unknown[0][:40]}', which it is not given ({given})")
        return text

    return check


check_rubric = rubric_checker("a rubric", RUBRIC_VARIABLES)
check_pair_rubric = rubric_checker("a pair rubric", PAIR_RUBRIC_VARIABLES)
