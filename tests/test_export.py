"""The export: what /prompt export uploads and `promptbot export` writes holds exactly
the stored ratings (CSV and JSON), leaves deleted runs out, and is documented."""

import csv
import io
import json
import pathlib
import re

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from promptbot.domain import Rating
from promptbot.errors import UsageError
from promptbot.prompts import export as export_format
from promptbot.prompts import export_csv
from promptbot.prompts.export import parse_export_args
from promptbot.standins import payloads
from tests.harness import wait_until

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "export.md"


def reviewed(bot):
    """Two prompts with ratings on both scales, a late rating and a comment."""
    bot.command("propose summary --models alpha,beta\nSay {{ x }}\n---\nx: one\n---\nx: two")
    run = bot.wait_run(1)
    posts = bot.candidate_posts(run.id)
    bot.react(posts[0]["ts"], "+1", "U2")
    bot.react(posts[1]["ts"], "-1", "U3")
    bot.react(posts[1]["ts"], "four", "U2")
    reply = payloads.new_ts()
    bot.event(
        payloads.message_event(
            user="U3", text="B & C <wins>", channel="C1", ts=reply, thread_ts=run.thread_ts
        )
    )
    bot.command("propose other --models alpha\nHello")
    other = bot.wait_run(2)
    bot.react(bot.candidate_posts(other.id)[0]["ts"], "five", "U4")
    wait_until(lambda: len(bot.store.ratings()) == 4, what="the ratings")
    wait_until(lambda: bot.store.comments(run.id), what="the comment")
    bot.command("reveal 2", user="UADMIN")
    wait_until(lambda: bot.store.get_run(other.id).closed_at, what="closing run 2")
    bot.react(bot.candidate_posts(other.id)[0]["ts"], "+1", "U5", event_id="Ev-late")
    wait_until(lambda: bot.store.late_ratings(), what="the late rating")
    return run


def uploaded(bot, slack, text, user="U1"):
    before = len(slack.files())
    status, reply = bot.command(text, user=user)
    assert status == 200 and reply["text"].startswith("Preparing your export")
    wait_until(lambda: len([f for f in slack.files() if f.completed]) > before, what="the upload")
    file = [f for f in slack.files() if f.completed][-1]
    assert file.channel_id == slack.dm_channel(user)
    return file


def ordered(ratings):
    return sorted(ratings, key=lambda r: (r.candidate_id, r.user_id, r.scale))


def as_ratings(rows):
    return ordered(
        Rating(int(r["candidate_id"]), r["user_id"], r["scale"], r["emoji"], float(r["score"]))
        for r in rows
    )


def split_late(rows, late):
    return [r for r in rows if r["late"] in (late, "true" if late else "false")]


def test_json_export_round_trips_every_table(bot, slack):
    run = reviewed(bot)
    file = uploaded(bot, slack, "export json")
    assert file.filename.startswith("promptbot-all-") and file.filename.endswith(".json")
    assert file.initial_comment.startswith(
        "Your export: 2 runs, 5 candidates, 5 ratings, 1 comment."
    )
    data = json.loads(file.content)
    assert list(data) == list(export_format.TABLES)
    assert data["judge_verdicts"] == data["judge_pairs"] == data["judge_confusion"] == []
    for table, columns in export_format.TABLES.items():
        assert all(tuple(row) == columns for row in data[table]), table
    ratings = data["ratings"]
    assert as_ratings(split_late(ratings, False)) == ordered(bot.store.ratings())
    assert as_ratings(split_late(ratings, True)) == ordered(bot.store.late_ratings())
    assert {r["late"] for r in ratings} == {True, False}
    (comment,) = data["comments"]
    assert (comment["run_id"], comment["text"]) == (run.id, "B & C <wins>")
    candidates = {c["candidate_id"]: c for c in data["candidates"]}
    stored = bot.store.candidates(run.id)
    assert [candidates[c.id]["output"] for c in stored] == [c.output for c in stored]
    assert candidates[stored[0].id]["variables"] == stored[0].variables
    assert [r["models"] for r in data["runs"]] == [["alpha", "beta"], ["alpha"]]


def test_csv_export_of_one_prompt_round_trips_its_ratings(bot, slack):
    run = reviewed(bot)
    file = uploaded(bot, slack, "export summary", user="U7")
    assert file.filename.startswith("promptbot-summary-") and file.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8"))))
    assert tuple(rows[0]) == export_csv.CSV_COLUMNS
    assert as_ratings(rows) == ordered(bot.store.ratings(run.id))
    assert {r["prompt"] for r in rows} == {"summary"} and {r["late"] for r in rows} == {"false"}
    by_candidate = {c.id: c for c in bot.store.candidates(run.id)}
    for row in rows:
        candidate = by_candidate[int(row["candidate_id"])]
        assert (row["model"], row["output"]) == (candidate.model_name, candidate.output)
        assert json.loads(row["variables"]) == candidate.variables


def test_deleted_runs_are_left_out(bot, slack):
    reviewed(bot)
    with bot.store.transaction() as db:
        db.execute("UPDATE runs SET deleted_at = '2025-01-01' WHERE id = 1")
    data = json.loads(uploaded(bot, slack, "export json").content)
    assert {r["run_id"] for r in data["runs"]} == {2}
    assert {r["run_id"] for table in data.values() for r in table} == {2}


def test_unknown_prompt_and_bad_arguments_are_one_line_replies(bot, slack):
    _, reply = bot.command("export nope json")
    assert reply["text"] == ":warning: no prompt named 'nope'"
    _, reply = bot.command("export a b c")
    assert reply["text"] == ":warning: usage: /prompt export [NAME] [csv|json]"
    assert not slack.calls_to("files.getUploadURLExternal")
    assert {"files:write", "im:write"} <= bot.bot.surface.scopes


def test_arguments():
    assert parse_export_args([]) == (None, "csv")
    assert parse_export_args(["JSON"]) == (None, "json")
    assert parse_export_args(["summary"]) == ("summary", "csv")
    assert parse_export_args(["csv", "json"]) == ("csv", "json")
    with pytest.raises(UsageError):
        parse_export_args(["a", "b"])


def test_cli_writes_a_file_or_stdout(bot, slack, tmp_path):
    reviewed(bot)
    env = {"PROMPTBOT_DB": bot.store.path}
    out = tmp_path / "export.json"
    result = CliRunner().invoke(cli, ["export", "--format", "json", "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert as_ratings(split_late(data["ratings"], False)) == ordered(bot.store.ratings())
    result = CliRunner().invoke(cli, ["export", "other"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["prompt"], r["emoji"], r["late"]) for r in rows] == [
        ("other", "five", "false"),
        ("other", "+1", "true"),
    ]
    result = CliRunner().invoke(cli, ["export", "nope"], env=env)
    assert (result.exit_code, result.output) == (2, "Error: no prompt named 'nope'\n")


def test_every_column_is_documented():
    docs = DOCS.read_text(encoding="utf-8")
    sections = re.split(r"^#+ ", docs, flags=re.M)

    def section(title):
        return next(s for s in sections if s.startswith(title))

    for table, columns in export_format.TABLES.items():
        for column in columns:
            assert f"| `{column}` |" in section(table), f"{table}.{column} is not documented"
    for column in export_csv.CSV_COLUMNS:
        assert f"| `{column}` |" in section("CSV: one row per rating"), column
