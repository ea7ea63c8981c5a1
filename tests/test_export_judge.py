"""The judge in `promptbot export`: its verdicts and pairs in their own tables, and the
confusion tables of judge against team, counted as the calibration counts them, with
`judge.min_human_votes` from app.yaml when there is one (--config, PROMPTBOT_CONFIG,
./app.yaml), the default without, or --min-human-votes."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from promptbot.config.settings import AppConfig
from promptbot.verdicts.calibration import calibrate_for
from storage import Store
from tests.judged_runs import Judged, judged_run

GREET = [
    Judged(1.0, 5, ["+1", "+1", "+1"], [5, 5, 4]),  # yes, yes · 5★, 5★
    Judged(0.0, 2, ["-1", "-1", "+1"], [2, 1, 2]),  # no, no · 2★, 2★
    Judged(1.0, 4, ["-1", "-1", "-1"], [1, 2, 2]),  # yes, no · 4★, 2★
    Judged(0.5, 3, ["+1", "+1"], [3, 3]),  # two votes each: counts from 2 on
    Judged(0.0, None, ["+1", "-1", "+1", "-1"]),  # an even split: never counts
]
OTHER = [Judged(0.0, None, ["+1", "+1", "+1"])]  # no, yes; the judge gave no stars


def team_majority(votes):
    ups, downs = votes.count("+1"), votes.count("-1")
    return None if ups == downs else ("yes" if ups > downs else "no")


def judge_word(approval):
    return {1.0: "yes", 0.0: "no", 0.5: "unsure"}[approval]


def expected_approval(rows, min_votes):
    """Straight from the votes: (judge, human majority) of each candidate with enough."""
    return Counter(
        (judge_word(r.approval), team_majority(list(r.votes)))
        for r in rows
        if len(r.votes) >= min_votes and team_majority(list(r.votes))
    )


@pytest.fixture
def db(tmp_path):
    store = Store(tmp_path / "t.db")
    judged_run(store, "greet", GREET)
    judged_run(store, "other", OTHER)
    store.close()
    return tmp_path / "t.db"


def export(db, tmp_path, monkeypatch, *args, config=None):
    """`promptbot export --format json` in an empty folder, PROMPTBOT_CONFIG as given."""
    folder = tmp_path / "cwd"
    folder.mkdir(exist_ok=True)
    monkeypatch.chdir(folder)
    env = {"PROMPTBOT_DB": str(db), "PROMPTBOT_CONFIG": config}
    result = CliRunner().invoke(cli, ["export", "--format", "json", *args], env=env)
    return result


def cells(data, prompt, scale):
    return {
        (c["judge"], c["team"]): c["candidates"]
        for c in data["judge_confusion"]
        if c["prompt"] == prompt and c["scale"] == scale
    }


def test_without_app_yaml_the_default_threshold_counts_the_votes(db, tmp_path, monkeypatch):
    result = export(db, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    approval = cells(data, "greet", "approval")
    # Every cell, empty ones too: judge yes/no/unsure against the team's yes/no.
    assert len(approval) == 6
    assert {k: n for k, n in approval.items() if n} == expected_approval(GREET, 3)
    assert {k: n for k, n in cells(data, None, "approval").items() if n} == (
        expected_approval(GREET + OTHER, 3)
    )
    assert {r["min_human_votes"] for r in data["judge_confusion"]} == {3}
    # Stars: the judge's against the median of the team's, over the 1–5 scale.
    stars = cells(data, "greet", "stars")
    assert len(stars) == 25
    assert {k: n for k, n in stars.items() if n} == {(5, 5): 1, (2, 2): 1, (4, 2): 1}
    assert sum(cells(data, "other", "stars").values()) == 0
    # Verdicts and pairs in their own tables: approval, stars, reason, model; both orders.
    verdicts = data["judge_verdicts"]
    assert [(v["approval"], v["stars"]) for v in verdicts][:3] == [(1.0, 5), (0.0, 2), (1.0, 4)]
    assert {v["model"] for v in verdicts} == {"judge"} and verdicts[0]["reason"]
    pair = data["judge_pairs"][0]
    assert (pair["forward"], pair["backward"], pair["outcome"], pair["consistent"]) == (
        "first",
        "tie",
        "first",
        False,
    )


def test_the_confusion_table_is_the_calibrations(db, tmp_path, monkeypatch):
    data = json.loads(export(db, tmp_path, monkeypatch).output)
    store = Store(db, read_only=True)
    calibration = calibrate_for(AppConfig(), store.judge.judged_candidates(), [], None)
    assert {k: n for k, n in cells(data, None, "approval").items() if n} == (calibration.confusion)


def test_app_yaml_from_promptbot_config_sets_the_threshold(db, tmp_path, monkeypatch):
    config = tmp_path / "team.yaml"
    config.write_text("judge: {min_human_votes: 2}\n", encoding="utf-8")
    data = json.loads(export(db, tmp_path, monkeypatch, config=str(config)).output)
    assert {k: n for k, n in cells(data, "greet", "approval").items() if n} == (
        expected_approval(GREET, 2)
    )
    assert cells(data, "greet", "approval")[("unsure", "yes")] == 1
    assert cells(data, "greet", "stars")[(3, 3)] == 1
    assert {r["min_human_votes"] for r in data["judge_confusion"]} == {2}


def test_app_yaml_in_the_folder_counts_and_an_option_overrides_it(db, tmp_path, monkeypatch):
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "app.yaml").write_text(
        "judge: {min_human_votes: 4}\nscales: {approval: {emoji: {'+1': 1, '-1': 0}}}\n",
        encoding="utf-8",
    )
    data = json.loads(export(db, tmp_path, monkeypatch).output)
    # Four votes: only the even split has them, and it has no majority.
    assert sum(cells(data, None, "approval").values()) == 0
    assert not cells(data, None, "stars")  # this team has no stars scale
    data = json.loads(export(db, tmp_path, monkeypatch, "--min-human-votes", "1").output)
    assert {k: n for k, n in cells(data, "greet", "approval").items() if n} == (
        expected_approval(GREET, 1)
    )
    assert {r["min_human_votes"] for r in data["judge_confusion"]} == {1}
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("judge: {min_human_votes: 2}\n", encoding="utf-8")
    data = json.loads(export(db, tmp_path, monkeypatch, "--config", str(elsewhere)).output)
    assert {r["min_human_votes"] for r in data["judge_confusion"]} == {2}


def test_one_prompts_export_has_its_own_table_only(db, tmp_path, monkeypatch):
    data = json.loads(export(db, tmp_path, monkeypatch, "other").output)
    assert {r["prompt"] for r in data["judge_confusion"]} == {"other"}
    assert cells(data, "other", "approval")[("no", "yes")] == 1


@pytest.mark.parametrize(
    ("args", "config", "said"),
    [
        ((), "missing.yaml", "Error: config file not found: missing.yaml\n"),
        (("--config", "nope.yaml"), None, "Error: config file not found: nope.yaml\n"),
    ],
)
def test_a_named_config_that_is_not_there_is_one_line(
    db, tmp_path, monkeypatch, args, config, said
):
    result = export(db, tmp_path, monkeypatch, *args, config=config)
    assert (result.exit_code, result.output) == (2, said)


def test_a_bad_threshold_is_refused(db, tmp_path, monkeypatch):
    result = export(db, tmp_path, monkeypatch, "--min-human-votes", "0")
    assert result.exit_code == 2 and "--min-human-votes" in result.output


def test_slacks_export_counts_with_the_bots_own_threshold(running, slack, models):
    from tests.harness import bot_config
    from tests.test_export import uploaded

    bot = running(bot_config(models, judge={"min_human_votes": 2}))
    judged_run(bot.store, "greet", GREET)
    data = json.loads(uploaded(bot, slack, "export json").content)
    assert {r["min_human_votes"] for r in data["judge_confusion"]} == {2}
    assert {k: n for k, n in cells(data, "greet", "approval").items() if n} == (
        expected_approval(GREET, 2)
    )
