"""Reading the judge's replies, and the swap-order rule for pairs."""

import pytest

from promptbot.judge.replies import (
    UnreadableReply,
    both_orders,
    parse_preference,
    parse_verdict,
    swapped,
)
from promptbot.judge.rubric import DEFAULT_RUBRIC, input_text

STARS = (1.0, 5.0)


@pytest.mark.parametrize(
    ("reply", "approval", "stars", "reason"),
    [
        ("APPROVE: yes\nSTARS: 4\nREASON: clear and right", 1.0, 4.0, "clear and right"),
        ("approve: No.\nstars: 2\nreason: wrong date", 0.0, 2.0, "wrong date"),
        ("**APPROVE:** unsure\n**STARS:** 3\n**REASON:** hard to say", 0.5, 3.0, "hard to say"),
        ("Sure! Here is my verdict.\n- APPROVE: YES\n- STARS: 5", 1.0, 5.0, ""),
        ("APPROVE = 0.8\nREASON: mostly", 0.8, None, "mostly"),
        ("  > APPROVE: yes (it answers the question)", 1.0, None, ""),
    ],
)
def test_verdicts_are_read_through_decoration(reply, approval, stars, reason):
    verdict = parse_verdict(reply, stars_range=STARS)
    assert (verdict.approval, verdict.stars, verdict.reason) == (approval, stars, reason)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think this answer is fine.", "no 'APPROVE:' line"),
        ("", "no 'APPROVE:' line"),
        ("APPROVE: perhaps so", "APPROVE must be yes, no or unsure"),
        ("APPROVE: 7", "APPROVE must be yes, no or unsure"),
        ("APPROVE: 1.5", "APPROVE must be yes, no or unsure"),  # a score is 0..1
        ("APPROVE: yes\nSTARS: 9", "STARS must be from 1 to 5, not 9"),
        ("APPROVE: yes\nSTARS: many", "STARS must be a number"),
        # A small model that echoes the format back has not answered.
        ("APPROVE: yes, no or unsure\nSTARS: 3", "APPROVE gives more than one answer"),
    ],
)
def test_unreadable_replies_say_why(reply, why):
    with pytest.raises(UnreadableReply, match=why):
        parse_verdict(reply, stars_range=STARS)


def test_the_ends_of_the_stars_scale_are_verdicts():
    assert parse_verdict("APPROVE: no\nSTARS: 1", stars_range=STARS).stars == 1.0
    assert parse_verdict("APPROVE: yes\nSTARS: 5", stars_range=STARS).stars == 5.0


def test_stars_are_ignored_without_a_stars_scale():
    assert parse_verdict("APPROVE: no\nSTARS: 9", stars_range=None).stars is None


def test_the_first_line_of_a_key_counts():
    assert parse_verdict("APPROVE: no\nAPPROVE: yes", stars_range=None).approval == 0.0


@pytest.mark.parametrize(
    ("reply", "preference"),
    [
        ("BETTER: 1\nREASON: shorter", "first"),
        ("better: Answer 2", "second"),
        ("**BETTER:** tie", "tie"),
        ("BETTER: 2.", "second"),
    ],
)
def test_preferences(reply, preference):
    assert parse_preference(reply) == preference


def test_unreadable_preference():
    with pytest.raises(UnreadableReply, match="BETTER must be 1, 2 or tie"):
        parse_preference("BETTER: the second one, probably")
    with pytest.raises(UnreadableReply, match="BETTER gives more than one answer"):
        parse_preference("BETTER: 1, 2 or tie")
    with pytest.raises(UnreadableReply, match="no 'BETTER:' line"):
        parse_preference("Answer 1 is better.")


def test_orders_that_agree_decide_and_orders_that_disagree_tie():
    # A judge that prefers the same candidate whichever place it is shown in.
    assert both_orders("first", swapped("second")) == ("first", True)
    assert both_orders("second", swapped("first")) == ("second", True)
    assert both_orders("tie", swapped("tie")) == ("tie", True)
    # A judge that always picks whatever is shown first: position, not content.
    assert both_orders("first", swapped("first")) == ("tie", False)
    assert both_orders("second", swapped("second")) == ("tie", False)
    # One order prefers, the other calls it a tie: they disagree.
    assert both_orders("first", swapped("tie")) == ("tie", False)


def test_the_default_rubric_asks_for_every_line_the_parser_reads():
    for line in ("APPROVE:", "STARS:", "REASON:", "{{ prompt }}", "{{ input }}", "{{ answer }}"):
        assert line in DEFAULT_RUBRIC
    assert input_text({"city": "Oslo", "n": 2}) == "city: Oslo\nn: 2"
    assert input_text({}) == "(no variables)"


@pytest.mark.parametrize(
    ("said", "approval"),
    [
        ("y", 1.0), ("approve", 1.0), ("Approved", 1.0), ("true", 1.0), ("PASS", 1.0),
        ("n", 0.0), ("reject", 0.0), ("rejected", 0.0), ("False", 0.0), ("fail", 0.0),
        ("maybe", 0.5), ("uncertain", 0.5), ("0", 0.0), ("1", 1.0), (".25", 0.25),
    ],
)  # fmt: skip
def test_every_word_a_judge_uses_for_its_approval_is_read(said, approval):
    assert parse_verdict(f"APPROVE: {said}", stars_range=None).approval == approval


@pytest.mark.parametrize(
    ("said", "preference"),
    [("equal", "tie"), ("Same.", "tie"), ("neither", "tie"), ("both", "tie"), ("#1", "first")],
)
def test_every_word_a_judge_uses_for_a_preference_is_read(said, preference):
    assert parse_preference(f"BETTER: {said}") == preference


def test_a_long_reason_is_kept_to_300_characters():
    verdict = parse_verdict("APPROVE: yes\nREASON: " + "why " * 200, stars_range=None)
    assert verdict.reason == "why " * 75  # the first 300 characters
