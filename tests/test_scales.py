"""Reaction names as Slack sends them (aliases, skin tones) count under the scale's name."""

import pytest

from promptbot.config.loading import parse_config
from promptbot.config.settings import AppConfig
from promptbot.errors import ConfigError
from promptbot.review.scales import RatingScales, ScaleScore, canonical_name, slack_name


@pytest.mark.parametrize(
    ("reaction", "canonical"),
    [
        ("thumbsup", "+1"),
        ("thumbsdown", "-1"),
        (":thumbsup:", "+1"),
        ("+1::skin-tone-3", "+1"),
        ("thumbsup::skin-tone-6", "+1"),
        ("-1", "-1"),
        ("one", "one"),
        ("white_check_mark", "white_check_mark"),
        ("simple_smile", "simple_smile"),
        ("our-custom-emoji", "our-custom-emoji"),
    ],
)
def test_canonical_names_come_from_slacks_emoji_data(reaction, canonical):
    assert canonical_name(reaction) == canonical


def test_slack_name_keeps_the_skin_tone():
    assert slack_name(":thumbsup::skin-tone-2:") == "+1::skin-tone-2"
    assert slack_name("thumbsdown") == "-1"
    assert slack_name("tada") == "tada"


def test_default_scales_score_aliases_and_tones():
    scales = RatingScales(AppConfig().scales)
    assert scales.score("thumbsup") == ScaleScore("approval", "+1", 1)
    assert scales.score("thumbsdown::skin-tone-4") == ScaleScore("approval", "-1", 0)
    assert scales.score("five") == ScaleScore("stars", "five", 5)
    assert scales.score("tada") is None
    assert scales.seeded() == ["+1", "-1"]
    assert scales.score_range("stars") == (1, 5)
    assert scales.is_binary("approval") and not scales.is_binary("stars")


def test_configured_alias_is_stored_canonical():
    config = parse_config({"scales": {"approval": {"emoji": {"thumbsup": 1, "thumbsdown": 0}}}})
    assert config.scales["approval"].emoji == {"+1": 1, "-1": 0}
    assert RatingScales(config.scales).score("+1") == ScaleScore("approval", "+1", 1)


def test_one_emoji_under_two_names_on_two_scales_is_refused():
    with pytest.raises(ConfigError, match="'\\+1' is on two scales"):
        parse_config(
            {
                "scales": {
                    "approval": {"emoji": {"+1": 1, "-1": 0}},
                    "likes": {"emoji": {"thumbsup": 1}},
                }
            }
        )


def test_the_data_file_read_directly_is_the_packages_own_data():
    from promptbot.review import scales

    from_file = scales._records_from_file()
    assert from_file is not None
    slim = [{"short_name": r["short_name"], "short_names": r["short_names"]} for r in from_file]
    assert slim == scales._records_from_api()
