"""Checks (unit): promptfoo's `type: value` form parsed and validated, and each type's
meaning on answers, negations and limits included."""

import pytest

from promptbot.checks import CHECK_TYPES, overall, parse_check, parse_checks, run_checks
from promptbot.checks.definitions import split_checks
from promptbot.domain import CheckResult
from promptbot.errors import UsageError


def verdict(text, answer, latency_ms=100, cost=0.001):
    (result,) = run_checks([parse_check(text)], answer, latency_ms, cost)
    assert result.check == parse_check(text).text
    return result.passed


def refusal(text):
    with pytest.raises(UsageError) as caught:
        parse_checks(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- each type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "passes", "fails"),
    [
        ("equals: Paris", "Paris\n", "Paris, France"),
        ("Paris", "Paris", "paris"),  # promptfoo: no type prefix means equals
        ("contains: refund", "A full refund.", "A full Refund."),
        ("icontains: REFUND", "A full Refund.", "A full credit."),
        ("not-contains: sorry", "Here you go.", "I am sorry."),
        ("contains-any: yes, sure", "sure thing", "Sure thing"),
        ("contains-all: red, blue", "blue and red", "red only"),
        ("icontains-any: YES, Sure", "sure thing", "no"),
        ("icontains-all: RED, Blue", "blue and red", "red only"),
        ('contains-any: "a, b", c', "x a, b y", "a b"),  # quoted values keep their commas
        ("starts-with: Dear", "Dear Ann", "Hi, Dear Ann"),
        ("regex: ^\\d{3}-\\d{4}$", "555-1234", "call 555-1234"),
        ("regex: refund|credit", "store credit", "cash"),  # a search, as JavaScript's test()
        ("not-regex: \\bsorry\\b", "sorrowful", "so sorry"),
        ("is-json", ' {"a": 1} ', "{'a': 1}"),
        ('is-json: {"type": "object", "required": ["a"]}', '{"a": 1}', '{"b": 1}'),
        ("contains-json", 'Here: {"a": [1, 2]} done', "no braces {here"),
        ('contains-json: {"required": ["b"]}', 'x {"a": 1} y {"b": 2}', 'x {"a": 1}'),
        ('json-schema: {"type": "array", "maxItems": 2}', "[1, 2]", "[1, 2, 3]"),
        ("json-schema: {type: object}", "{}", "not json"),  # YAML schemas, as promptfoo
        ("not-is-json", "plain words", "[]"),
        ("max-chars: 5", "abcde", "abcdef"),
        ("max-words: 3", "one two  three\n", "one two three four"),
    ],
)
def test_each_type_passes_and_fails_as_promptfoo_does(check, passes, fails):
    assert verdict(check, passes) is True
    assert verdict(check, fails) is False


def test_latency_and_cost_are_limits_written_either_way():
    assert verdict("latency: 500", "x", latency_ms=500) is True
    assert verdict("latency(500)", "x", latency_ms=501) is False  # promptfoo's CSV form
    assert verdict("cost: 0.01", "x", cost=0.01) is True
    assert verdict("cost(0.01)", "x", cost=0.0101) is False


def test_untimed_or_unpriced_answers_skip_those_checks_and_failed_calls_get_none():
    checks = parse_checks("latency: 10\ncost: 0.1\ncontains: x")
    results = run_checks(checks, "x", None, None)
    assert [r.check for r in results] == ["contains: x"]
    assert run_checks(checks, None, 5, 0.0) == []


def test_failures_say_what_did_not_hold_without_quoting_the_answer():
    checks = parse_checks("max-words: 2\ncontains: refund\nnot-contains: secret")
    answer = "the secret answer is <@U123>"
    results = run_checks(checks, answer, 1, 0.0)
    assert [r.passed for r in results] == [False, False, False]
    assert results[0].detail == "5 words, over 2"
    assert results[1].detail == "does not contain 'refund'"
    assert results[2].detail == "meets 'contains: secret'"
    assert all("<@U123>" not in r.detail for r in results)


def test_overall_is_none_without_checks_and_true_only_when_all_pass():
    assert overall([]) is None
    assert overall([CheckResult("a", True, ""), CheckResult("b", True, "")]) is True
    assert overall([CheckResult("a", True, ""), CheckResult("b", False, "x")]) is False


def test_hostile_answers_never_raise():
    checks = parse_checks('is-json\ncontains-json: {"type": "object"}\njson-schema: {}')
    deep = "[" * 100_000 + "]" * 100_000
    braces = "{" * 50_000
    for answer in (deep, braces, "{" + deep + "}", "\x00" * 10, ""):
        results = run_checks(checks, answer, 1, 0.0)
        assert len(results) == 3


# -- the form --------------------------------------------------------------------------


def test_one_check_a_line_or_several_separated_by_semicolons():
    assert split_checks("contains: a; max-words: 3\n\n regex: x;y ;is-json") == [
        "contains: a",
        "max-words: 3",
        "regex: x;y",
        "is-json",
    ]
    # A ``;`` not followed by a check type belongs to the value.
    assert [c.text for c in parse_checks("contains: a; b")] == ["contains: a; b"]
    # In a spreadsheet cell only ``;`` separates, so a schema may span lines.
    cell = 'is-json: {"type":\n "object"}; max-chars: 9'
    assert [c.kind for c in parse_checks(cell, by_line=False)] == ["is-json", "max-chars"]


def test_stored_text_parses_back_to_the_same_check():
    for text in (
        "Paris",
        "equals: a: b",
        "not-icontains-all: x, y",
        "latency(1500)",
        "cost: 0.002",
        'json-schema: {"type": "object"}',
        "regex: a;b",
    ):
        check = parse_check(text)
        assert parse_check(check.text) == check


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contians: refund", "unknown check type 'contians'"),
        ("llm-rubric: is polite", "'llm-rubric' is a promptfoo check that promptbot does not run"),
        ("javascript: output.length < 5", "'javascript' is a promptfoo check"),
        ("file://checks.py", "'file' is a promptfoo check"),
        ("regex: (unclosed", "bad regex '(unclosed': missing )"),
        ("regex:", "'regex' needs a pattern"),
        ("contains:", "'contains' needs a value"),
        ("contains-any: , ,", "'contains-any' needs comma-separated values"),
        ('contains-all: "open', "'contains-all' values cannot be read: unexpected end"),
        ('contains-any: "a" b, c', "'contains-any' values cannot be read"),
        ("max-words: many", "'max-words' needs a whole number of at least 0"),
        ("max-chars: 2.5", "'max-chars' needs a whole number"),
        ("latency: -1", "'latency' needs a number of at least 0"),
        ("cost: nan", "'cost' needs a number of at least 0"),
        ("not-latency: 10", "'not-latency' makes no sense"),
        ("contains(0.5): x", "'contains' takes no threshold"),
        ("json-schema:", "'json-schema' needs a schema"),
        ('json-schema: {"type": "nope"}', "is not a valid JSON schema"),
        ("is-json: [1, 2]", "schema must be an object"),
        ("is-json: {a: [", "neither JSON nor YAML"),
        ("contains: " + "x" * 3000, "a check is over 2000 characters"),
    ],
)
def test_bad_definitions_are_refused_in_one_line(text, message):
    assert message in refusal(text)


def test_every_listed_type_is_known():
    assert set(CHECK_TYPES) >= {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "starts-with",
        "regex",
        "is-json",
        "contains-json",
        "json-schema",
        "max-chars",
        "max-words",
        "latency",
        "cost",
    }
    assert parse_check("not-contains: x").negated


# -- the digest's pass rates -----------------------------------------------------------


def test_pass_rates_per_version_carry_wilson_intervals_and_the_most_failed_check():
    from promptbot.digest.check_rates import check_rates
    from promptbot.domain import CheckTally
    from promptbot.verdicts.intervals import wilson_interval

    rates = check_rates(
        [
            CheckTally("greet", 2, None, 40, 30),
            CheckTally("greet", 2, "contains: hi", 40, 38),
            CheckTally("greet", 2, "max-words: 9", 40, 31),
            CheckTally("greet", 1, None, 3, 3),
            CheckTally("greet", 1, "contains: hi", 3, 3),
            CheckTally("alpha", 1, None, 0, 0),
        ]
    )
    assert [(r.prompt, r.version) for r in rates] == [("greet", 1), ("greet", 2)]
    first, second = rates
    assert (first.share, first.weakest, first.weakest_failed) == (1.0, None, 0)
    assert (first.low, first.high) == wilson_interval(3, 3)
    assert (second.passed, second.answers, second.share) == (30, 40, 0.75)
    assert (second.low, second.high) == wilson_interval(30, 40)
    assert (second.weakest, second.weakest_failed) == ("max-words: 9", 9)


@pytest.mark.parametrize("text", ["regex: (a|aa)+$", "not-regex: (a|aa)+$"])
def test_a_regex_that_backtracks_without_end_fails_the_check_instead_of_hanging(text):
    # 2**40 paths: Python's re would hold this model call's thread for good.
    (result,) = run_checks([parse_check(text)], "a" * 40 + "b", 100, 0.001)
    assert not result.passed
    assert "took over 0.5 s on this answer" in result.detail
    assert verdict(text, "aaaa") is (not text.startswith("not-"))
