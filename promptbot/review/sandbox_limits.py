"""Size guards for the template sandbox: refuse an absurd value before it is built.

Jinja's sandbox stops attribute tricks but not ``'x' * 10**8``, ``'x'|center(10**9)``,
``'%*d' % (10**9, 1)`` or ``lipsum(10**6)``, each a few bytes of template that asks
for gigabytes. These checks refuse such requests up front; the render budget
(render_budget.py) bounds time and the worker's memory for whatever gets past them.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from typing import Any

from promptbot.errors import TemplateError

# The largest string or list a template may build on the way to its output.
MAX_VALUE = 1_000_000
# Arguments that are widths, repeats or counts, by the method or filter taking them.
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")
_LIPSUM_PARAGRAPHS = 50
_LIPSUM_WORDS = 200


def too_big(what: str, size: float) -> TemplateError:
    return TemplateError(
        f"template asks for {what} of {size:,.0f} characters; the limit is {MAX_VALUE:,}"
    )


def check_size(what: str, size: float) -> None:
    if size > MAX_VALUE:
        raise too_big(what, size)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """``*`` repeating a sequence, ``**`` making a huge number, ``%`` padding a string."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                check_size("a repeated value", len(seq) * max(times, 0))
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > 64 * 1024:
            raise TemplateError("template asks for a number too large to compute")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left)
    elif (
        operator == "+"
        and isinstance(left, str | list | tuple)
        and isinstance(right, str | list | tuple)
    ):
        check_size("a joined value", len(left) + len(right))


def check_percent_format(fmt: str) -> None:
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise TemplateError("template format widths must be written out, not '*'")
            if number is not None:
                check_size("a formatted field", int(number))


def check_brace_format(fmt: str) -> None:
    """``'{:>1000000000}'.format(x)``: every width is written out and checked."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as error:
        raise TemplateError(f"template format string is invalid: {error}") from None
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise TemplateError("template format widths must be written out, not nested")
        for number in _NUMBER.findall(spec or ""):
            check_size("a formatted field", int(number))


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """String methods that pad or multiply: ``'x'.center(10**9)``, ``s.replace(a, b)``."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _WIDTH_METHODS:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int):
                check_size(f"'{name}' width", value)
                if name == "expandtabs":
                    check_size("expanded tabs", value * owner.count("\t") + len(owner))
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        new = args[1] if isinstance(args[1], str) else ""
        count = owner.count(args[0]) if args[0] else len(owner) + 1
        check_size("a replaced value", len(owner) + count * len(new))


def guarded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Wrappers for the built-in filters that pad, format or replace."""
    center, indent, format_, replace = (
        filters["center"],
        filters["indent"],
        filters["format"],
        filters["replace"],
    )

    def safe_center(value: Any, width: int = 80) -> Any:
        check_size("'center' width", width)
        return center(value, width)

    def safe_indent(value: Any, width: int | str = 4, *args: Any, **kwargs: Any) -> Any:
        size = width if isinstance(width, int) else len(width)
        check_size("an indent", size * (str(value).count("\n") + 1) + len(str(value)))
        return indent(value, width, *args, **kwargs)

    def safe_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_percent_format(str(value))
        return format_(value, *args, **kwargs)

    def safe_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        text, old_text, new_text = str(value), str(old), str(new)
        times = text.count(old_text) if old_text else len(text) + 1
        check_size("a replaced value", len(text) + times * len(new_text))
        return replace(eval_ctx, value, old, new, count)

    safe_replace.jinja_pass_arg = replace.jinja_pass_arg  # type: ignore[attr-defined]
    return {
        "center": safe_center,
        "indent": safe_indent,
        "format": safe_format,
        "replace": safe_replace,
    }


def guarded_lipsum(lipsum: Callable[..., Any]) -> Callable[..., Any]:
    def safe_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
        if n > _LIPSUM_PARAGRAPHS or max > _LIPSUM_WORDS or min > _LIPSUM_WORDS:
            raise TemplateError(
                f"lipsum is limited to {_LIPSUM_PARAGRAPHS} paragraphs of {_LIPSUM_WORDS} words"
            )
        return lipsum(n, html, min, max)

    return safe_lipsum
