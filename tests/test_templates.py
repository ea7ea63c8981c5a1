import pytest

from promptbot.errors import TemplateError
from promptbot.review.sandbox import parse_template


def test_variables_are_found_and_rendered():
    template = parse_template("Summarise {{ text }} for {{ audience }}.")
    assert template.variables == ("audience", "text")
    assert template.render({"text": "a memo", "audience": "execs"}) == "Summarise a memo for execs."


def test_missing_variable_is_named():
    template = parse_template("Hello {{ name }} and {{ other }}")
    with pytest.raises(TemplateError, match="missing value for template variable: name, other"):
        template.render({})


def test_syntax_error_reports_its_line():
    with pytest.raises(TemplateError, match="syntax error on line 2"):
        parse_template("fine line\n{% if x %}never closed\n")


def test_size_limit():
    with pytest.raises(TemplateError, match="the limit is 16 KB"):
        parse_template("x" * 100_000)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ values.append(1) }}",
    ],
)
def test_sandbox_escapes_are_refused(source):
    template = parse_template(source)
    values = {name: [] for name in template.variables}
    with pytest.raises(TemplateError):
        template.render(values)


def test_empty_template():
    with pytest.raises(TemplateError, match="empty"):
        parse_template("  \n")
