"""The exception tree drawn in promptbot/errors.py is the tree the module defines."""

import inspect
import re

from promptbot import errors


def drawn_tree() -> dict[str, str]:
    """Each class named in the docstring's drawing, mapped to the class it hangs under."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*(?:[├└]── )?)([A-Z]\w+)", line)
        if not match or not line.startswith("    "):
            continue
        depth = len(match.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[match.group(2)] = stack[-1][1]
        stack.append((depth, match.group(2)))
    return parents


def test_the_docstring_draws_every_exception_under_its_base():
    defined = {
        name: cls.__bases__[0].__name__
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == errors.__name__
    }
    assert drawn_tree() == defined


def test_publish_errors_are_not_shown_as_the_users_mistake():
    assert not issubclass(errors.PublishError, errors.PromptbotError)
