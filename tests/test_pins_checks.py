"""What a failed check tells the team (the ❌ line's detail), and the JSON and
case-folding edges of the check types (issue 16: survivors of `make mutate`)."""

import pytest

from promptbot.checks import parse_check, run_checks


def detail(check, answer):
    (result,) = run_checks([parse_check(check)], answer, 100, 0.001)
    assert result.passed is False
    return result.detail


@pytest.mark.parametrize(
    ("check", "answer", "said"),
    [
        ("is-json", "{'a': 1}", "not valid JSON"),
        ("contains-any: yes, sure", "no", "contains none of yes, sure"),
        ("contains-all: red, blue, green", "red only", "missing blue, green"),
        ("contains-json", "no braces {here", "contains no JSON object"),
        (
            'contains-json: {"properties": {"a": {"items": {"type": "string"}}}}',
            'x {"a": ["ok", 2]} y',
            "JSON does not match the schema at a/1: 2 is not of type 'string'",
        ),
        (
            'is-json: {"required": ["b"]}',
            '{"a": 1}',
            "JSON does not match the schema: 'b' is a required property",
        ),
    ],
)
def test_a_failed_check_says_what_did_not_hold(check, answer, said):
    assert detail(check, answer) == said


def test_a_detail_of_200_characters_is_kept_whole_and_a_longer_one_is_cut():
    fits = "x" * (200 - len("does not contain ''"))
    assert detail(f"contains: {fits}", "y") == f"does not contain '{fits}'"
    cut = detail(f"contains: {fits}z", "y")
    assert len(cut) == 200 and cut.endswith("…") and cut.startswith("does not contain 'xx")


def test_case_folding_checks_fold_the_answer_too():
    check = parse_check("icontains-all: red, blue")
    (result,) = run_checks([check], "Blue and RED", 100, 0.001)
    assert result.passed


@pytest.mark.parametrize(
    "answer",
    [
        'see {not json} then {"a": 1}',  # a brace that starts no JSON does not end the search
        '{broken {"a": 2} and {"b": 3}',  # nor does it skip the objects after it
    ],
)
def test_contains_json_looks_past_braces_that_start_no_json(answer):
    check = parse_check('contains-json: {"required": ["a"]}')
    (result,) = run_checks([check], answer, 100, 0.001)
    assert result.passed
