"""The judge's rubrics in app.yaml: both kinds (approval, head-to-head) set for the team
or per prompt, checked at load in one line, and the defaults asking for the team's own
stars scale."""

import pytest

from promptbot.config.loading import parse_config
from promptbot.config.rubric_checks import check_pair_rubric, check_rubric
from promptbot.errors import ConfigError
from promptbot.judge.rubric import (
    DEFAULT_RUBRIC,
    PAIR_RUBRIC,
    pair_rubric_for,
    rubric_for,
    stars_scale,
)
from promptbot.review.sandbox import parse_template


def test_the_pair_rubric_is_the_prompts_else_the_teams_else_the_default():
    config = parse_config(
        {
            "judge": {"pair_rubric": "TEAM {{ first }} {{ second }}"},
            "prompts": {"own": {"pair_rubric": "OWN {{ input }} {{ first }} {{ second }}"}},
        }
    )
    assert pair_rubric_for(config, "own").startswith("OWN")
    assert pair_rubric_for(config, "other").startswith("TEAM")
    assert pair_rubric_for(parse_config({}), "other") == PAIR_RUBRIC
    # The approval rubric is its own setting.
    assert rubric_for(config, "own") == DEFAULT_RUBRIC


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (
            {"judge": {"pair_rubric": "Answer 1: {{ first }\nBETTER:"}},
            "app.yaml: judge.pair_rubric: line 1: unexpected '}'",
        ),
        (
            {"judge": {"pair_rubric": "{{ answer }} or {{ second }}"}},
            "app.yaml: judge.pair_rubric: a pair rubric uses 'answer', which it is not given"
            " (prompt, input, first and second)",
        ),
        (
            {"prompts": {"greet": {"pair_rubric": "{% for x in first %}"}}},
            "app.yaml: prompts.greet.pair_rubric: line 1: Unexpected end of template. Jinja was"
            " looking for the following tags: 'endfor' or 'else'. The innermost block that"
            " needs to be closed is 'for'.",
        ),
        (
            {"judge": {"rubric": "{{ first }} APPROVE:"}},
            "app.yaml: judge.rubric: a rubric uses 'first', which it is not given"
            " (prompt, input, answer and stars)",
        ),
        (
            {"prompts": {"greet": {"rubric": "{{ answr }}"}}},
            "app.yaml: prompts.greet.rubric: a rubric uses 'answr', which it is not given"
            " (prompt, input, answer and stars)",
        ),
    ],
)
def test_a_bad_rubric_is_one_line_at_load(settings, said):
    with pytest.raises(ConfigError) as caught:
        parse_config(settings)
    assert str(caught.value) == said
    assert "\n" not in str(caught.value)


def test_the_defaults_and_jinja_globals_pass_the_check():
    assert check_rubric(DEFAULT_RUBRIC) == DEFAULT_RUBRIC
    assert check_pair_rubric(PAIR_RUBRIC) == PAIR_RUBRIC
    with_loop = "{% for n in range(2) %}{{ first }}{% endfor %}{{ second }}"
    assert check_pair_rubric(with_loop) == with_loop


def render(rubric, stars):
    values = {"prompt": "Hi", "input": "x: 1", "answer": "Hello", "stars": stars}
    return parse_template(rubric).render(values)


def test_the_default_rubric_asks_for_stars_on_the_teams_scale():
    ten = parse_config({"scales": {"stars": {"emoji": {"zero": 0, "keycap_ten": 10}}}})
    text = render(DEFAULT_RUBRIC, stars_scale(ten))
    assert "exactly these three lines" in text
    assert "STARS: a whole number from 0 (poor) to 10 (excellent)\nREASON:" in text
    default = render(DEFAULT_RUBRIC, stars_scale(parse_config({})))
    assert "STARS: a whole number from 1 (poor) to 5 (excellent)" in default


def test_without_a_stars_scale_the_default_rubric_asks_for_approval_alone():
    config = parse_config({"scales": {"approval": {"emoji": {"+1": 1, "-1": 0}}}})
    assert stars_scale(config) is None
    text = render(DEFAULT_RUBRIC, None)
    assert "STARS" not in text
    assert "exactly these two lines" in text
    assert "APPROVE: yes, no or unsure\nREASON: one short sentence\n" in text
