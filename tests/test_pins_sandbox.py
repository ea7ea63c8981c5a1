"""The template sandbox in this process (issue 16): test_hostile_templates.py drives the
same refusals through the render workers, where `make mutate`'s changes never run, so
without these the sandbox's guards looked unpinned. Sizes sit just past the limit, so
a guard that stopped working costs a few megabytes here, not gigabytes, and the limit
itself is pinned: one character under it renders."""

from __future__ import annotations

import pytest

from promptbot.errors import TemplateError
from promptbot.review.sandbox import parse_template
from promptbot.review.sandbox_limits import MAX_VALUE

OVER = MAX_VALUE + 1
ROOM = 3 * MAX_VALUE  # output room, so that only the size guards can refuse


def render(source: str, **values: object) -> str:
    return parse_template(source).render(values, max_output_bytes=ROOM)


def refusal(source: str, **values: object) -> str:
    with pytest.raises(TemplateError) as caught:
        render(source, **values)
    return str(caught.value)


# -- values built past the size limit are refused before they exist --------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (f"{{{{ 'x' * {OVER} }}}}", "a repeated value of 1,000,001 characters"),
        (f"{{{{ {OVER} * 'x' }}}}", "a repeated value of 1,000,001 characters"),
        (f"{{{{ ([1, 2] * {OVER // 2 + 1})|length }}}}", "a repeated value"),
        (f"{{{{ ('a', 'b') * {OVER // 2 + 1} }}}}", "a repeated value of 1,000,002"),
        (f"{{{{ 'x'|center({OVER}) }}}}", "'center' width of 1,000,001"),
        (f"{{{{ 'x'.center({OVER}) }}}}", "'center' width"),
        (f"{{{{ 'x'.ljust({OVER}) }}}}", "'ljust' width"),
        (f"{{{{ 'x'.rjust(width={OVER}) }}}}", "'rjust' width"),
        (f"{{{{ '7'.zfill({OVER}) }}}}", "'zfill' width"),
        ("{{ '\t\t'.expandtabs(500001) }}", "expanded tabs of 1,000,004"),
        ("{{ 2 ** 65537 }}", "a number too large"),
        ("{{ (-3) ** 50000 }}", "a number too large"),
        (f"{{{{ '%{OVER}d' % 1 }}}}", "a formatted field of 1,000,001"),
        (f"{{{{ '%.{OVER}f' % 1 }}}}", "a formatted field"),
        (f"{{{{ '%(a){OVER}s' % {{'a': 1}} }}}}", "a formatted field"),
        ("{{ '%*d' % (5, 1) }}", "written out, not '*'"),
        ("{{ '%.*f' % (5, 1) }}", "written out, not '*'"),
        (f"{{{{ '%{OVER}s'|format('x') }}}}", "a formatted field"),
        (f"{{{{ '{{:>{OVER}}}'.format(1) }}}}", "a formatted field"),
        ("{{ '{:>{w}}'.format(1, w=5) }}", "written out, not nested"),
        ("{{ '{:>'.format(1) }}", "format string is invalid"),
        ("{{ ('x' * 1000).replace('x', 'y' * 1000) }}", "a replaced value of 1,001,000"),
        ("{{ 'abc'.replace('', 'y' * 250001) }}", "a replaced value of 1,000,007"),
        ("{{ ('x' * 1000)|replace('x', 'y' * 1000) }}", "a replaced value of 1,001,000"),
        ("{{ 'abc'|replace('', 'y' * 250001) }}", "a replaced value of 1,000,007"),
        ("{{ 'x' * 600000 + 'y' * 400001 }}", "a joined value of 1,000,001"),
        ("{{ [0] * 600000 + [1] * 400001 }}", "a joined value"),
        ("{{ 'a\nb'|indent(500000) }}", "an indent of 1,000,003"),
        ("{{ 'a\nb'|indent('-' * 500000) }}", "an indent of 1,000,003"),
        ("{{ lipsum(51) }}", "lipsum is limited to 50 paragraphs of 200 words"),
        ("{{ lipsum(1, False, 5, 201) }}", "lipsum is limited"),
        ("{{ lipsum(1, False, 201, 300) }}", "lipsum is limited"),
    ],
)
def test_a_value_past_the_size_limit_is_refused_naming_it(source, reason):
    message = refusal(source)
    # the guard's own message, not "failed to render" around some other error
    assert message.startswith(("template asks for", "template format", "lipsum is limited"))
    assert reason in message


def test_the_size_messages_say_the_limit():
    assert refusal(f"{{{{ 'x' * {OVER} }}}}") == (
        "template asks for a repeated value of 1,000,001 characters; the limit is 1,000,000"
    )


@pytest.mark.parametrize(
    ("source", "length"),
    [
        (f"{{{{ 'x' * {MAX_VALUE} }}}}", MAX_VALUE),
        (f"{{{{ 'x'|center({MAX_VALUE}) }}}}", MAX_VALUE),
        (f"{{{{ 'x'.ljust({MAX_VALUE}) }}}}", MAX_VALUE),
        ("{{ '\t\t'.expandtabs(499999) }}", 999998),
        (f"{{{{ '%{MAX_VALUE}d' % 1 }}}}", MAX_VALUE),
        (f"{{{{ '{{:>{MAX_VALUE}}}'.format(1) }}}}", MAX_VALUE),
        ("{{ ('x' * 1000).replace('x', 'y' * 999) }}", 999000),
        ("{{ 'x' * 600000 + 'y' * 400000 }}", MAX_VALUE),
        ("{{ 'a\nb'|indent(499998) }}", 499998 + 3),
        ("{{ 2 ** 65536 > 0 }}", 4),
        ("{{ (-1) ** 99999 }}", 2),
    ],
)
def test_a_value_up_to_the_limit_renders(source, length):
    assert len(render(source)) == length


def test_ordinary_string_methods_and_filters_work():
    out = render(
        "{{ name.upper() }}|{{ 'ab'.center(6, '*') }}|{{ 'ab'|center(6) }}|{{ 'x'.zfill(3) }}"
        "|{{ 'a b'.replace(' ', '-') }}|{{ 'a\nb'|indent(2) }}|{{ '%05.1f'|format(2.5) }}"
        "|{{ '%s=%d' % ('n', 3) }}|{{ '{}:{:>3}'.format('k', 7) }}|{{ 'ab' * 2 }}|{{ 2 ** 10 }}"
        "|{{ 'a,b'.split(sep=',')|join('+') }}|{{ 6 * 7 }}|{{ 'a\nb'|indent(2, first=True) }}"
        "|{{ 'aaa'|replace('a', 'b', 2) }}",
        name="ada",
    )
    assert out == "ADA|**ab**|  ab  |00x|a-b|a\n  b|002.5|n=3|k:  7|abab|1024|a+b|42|  a\n  b|bba"


def test_lipsum_is_available_within_its_limits():
    words = render("{{ lipsum(2, False, 5, 6) }}").split()
    assert 10 <= len(words) <= 12


# -- the output cap ----------------------------------------------------------------------


def test_output_up_to_the_cap_renders_and_one_byte_more_is_refused():
    template = parse_template("{{ a }}{{ b }}")
    assert template.render({"a": "x" * 60, "b": "y" * 40}, max_output_bytes=100) == (
        "x" * 60 + "y" * 40
    )
    with pytest.raises(TemplateError) as caught:
        template.render({"a": "x" * 60, "b": "y" * 41}, max_output_bytes=100)
    assert str(caught.value) == (
        "template renders to more than 0 KB (limits.template_output_max_bytes)"
    )
    with pytest.raises(TemplateError, match="more than 2 KB"):
        template.render({"a": "x" * 2048, "b": "y"}, max_output_bytes=2048)


def test_the_output_cap_counts_bytes_not_characters():
    template = parse_template("{{ a }}")
    assert template.render({"a": "é" * 50}, max_output_bytes=100) == "é" * 50
    with pytest.raises(TemplateError, match="more than"):
        template.render({"a": "é" * 51}, max_output_bytes=100)


def test_a_lone_surrogate_from_json_renders():
    # JSON may carry "\ud800"; it is counted, not an encoding crash.
    assert parse_template("[{{ a }}]").render({"a": "\ud800"}) == "[\ud800]"


# -- what goes wrong while rendering says what it was -------------------------------------


def test_render_failures_are_one_line_naming_the_cause():
    assert refusal("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}") == (
        "template recurses too deeply"
    )
    assert refusal("{{ ''.__class__.__mro__ }}").startswith("template refused by the sandbox: ")
    assert refusal("{{ doc.title }}", doc={}) == (
        "template variable problem: 'dict object' has no attribute 'title'"
    )

    class OutOfMemory:
        def __str__(self) -> str:
            raise MemoryError

    assert refusal("{{ x }}", x=OutOfMemory()) == "template needs too much memory to render"
