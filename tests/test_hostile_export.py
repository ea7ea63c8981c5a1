"""CSV export neutralises formula-like cells (OWASP's rule) unless told not to."""

import csv
import io

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from promptbot.prompts.export_csv import neutralise_formula
from tests.harness import wait_until
from tests.test_export import uploaded

FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_formula_like_cells_get_a_leading_quote(cell):
    assert neutralise_formula(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-1", "+1", "3.5", "-0.25", "1e3", "plain", "", "a=b"])
def test_numbers_and_ordinary_text_are_left_alone(cell):
    assert neutralise_formula(cell) == cell


def rated_formula_answer(bot, models, answer='=HYPERLINK("https://evil","x")'):
    models.set_behaviour("alpha-id", reply=lambda request: answer)
    bot.command("propose sheet --models alpha\nHi")
    run = bot.wait_run(1)
    bot.react(bot.candidate_posts(run.id)[0]["ts"], "-1", "U2")
    wait_until(lambda: bot.store.ratings(), what="the rating")
    return answer


def test_slack_export_neutralises_a_formula_answer(bot, slack, models):
    answer = rated_formula_answer(bot, models)
    file = uploaded(bot, slack, "export sheet")
    (row,) = csv.DictReader(io.StringIO(file.content.decode("utf-8")))
    assert row["output"] == "'" + answer
    assert row["emoji"] == "-1"  # a plain value, not a formula: unchanged
    assert bot.store.candidates(1)[0].output == answer  # stored as answered


def test_cli_keep_formulas_writes_cells_as_stored(bot, models):
    answer = rated_formula_answer(bot, models)
    env = {"PROMPTBOT_DB": bot.store.path}
    guarded = CliRunner().invoke(cli, ["export", "sheet"], env=env)
    raw = CliRunner().invoke(cli, ["export", "sheet", "--keep-formulas"], env=env)
    assert guarded.exit_code == raw.exit_code == 0
    (row,) = csv.DictReader(io.StringIO(guarded.output))
    assert row["output"] == "'" + answer
    (row,) = csv.DictReader(io.StringIO(raw.output))
    assert row["output"] == answer
