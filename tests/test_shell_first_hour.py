"""The shell does what Slack does (issue 12, items 1–4, 6, 7): one scripted session per
item, against the real app with the model stand-in, asserting what is shown."""

import re

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from storage import Store

DB = "promptbot-shell.db"
TWO_VERSIONS = """\
/prompt propose greet
Say hello to {{ who }}
---
who: Ada

/prompt propose greet
Say hi warmly to {{ who }}
---
who: Ada

"""


@pytest.fixture
def shell(tmp_path, monkeypatch, models):
    """Run `promptbot shell --script` in tmp_path; returns what it printed."""
    monkeypatch.chdir(tmp_path)
    models.set_behaviour("smollm2-precise", reply="Hello, Ada.")
    models.set_behaviour("smollm2-creative", reply="Hi there!")

    def run(script: str) -> str:
        path = tmp_path / "script.txt"
        path.write_text(script, encoding="utf-8")
        args = ["shell", "--script", str(path), "--db", DB, "--model-url", models.base_url]
        result = CliRunner().invoke(cli, [*args, "--seed", "1"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return run


def after(output: str, line: str) -> str:
    """What the shell printed in answer to ``line``, up to the next prompt."""
    return re.split(r"^\w+> ", output.split(line, 1)[1], maxsplit=1, flags=re.MULTILINE)[0]


def test_1_a_compare_thread_is_voted_on_by_pair(shell, tmp_path):
    output = shell(
        TWO_VERSIONS
        + "/prompt compare greet@v1 greet@v2\nreact A :+1:\nreact 1L :a:\nas bo\nreact 1 :b:\n"
        "react pair1 :handshake:\nhome\n"
    )

    assert "Started greet v1 vs v2 (run #3)" in output
    assert "run #3's thread is open: vote on a pair with `react 1 :a:`" in output
    assert "hint: run #3 is a compare with no posted pair A (pairs: 1)" in output
    assert "Pair 1  🅰 2   🅱 1   🤝 1   👎 1" in after(output, "you> react 1L :a:")
    assert "Pair 1  🅰 2   🅱 2   🤝 1   👎 1" in after(output, "bo> react 1 :b:")
    votes = Store(tmp_path / DB).pairs.votes(3)
    assert sorted((v["user_id"], v["choice"]) for v in votes) == [("UBO", "tie"), ("UYOU", "left")]
    # Home names the compare by both versions (bo voted on it, so it is elsewhere there).
    assert "greet v1 vs v2" in output.split("promptbot · App Home")[0]


def test_2_the_revise_form_shows_and_keeps_prefilled_values(shell, tmp_path):
    # Note, template (kept), system prompt, models (kept), values (kept), test set, checks.
    output = shell(TWO_VERSIONS + "/prompt revise greet\nwarmer\n\n\n\n\n\n\n")

    form = after(output, "you> /prompt revise greet")
    assert "Template is now:" in form and "│ Say hi warmly to {{ who }}" in form
    assert "Template (empty keeps it), ending with an empty line:" in form
    assert "Variable values (optional; empty keeps it; - empties it)" in form
    assert "hint:" not in form and "└ submitted" in form
    run = Store(tmp_path / DB).get_run(3)
    assert run.version.template == "Say hi warmly to {{ who }}" and run.version.number == 3
    assert run.inputs == [{"who": "Ada"}] and run.models == ["smollm2-precise", "smollm2-creative"]


def test_3_an_export_is_delivered_saved_and_shown(shell, tmp_path):
    output = shell(TWO_VERSIONS + "/prompt export greet json\n")

    shown = after(output, "you> /prompt export greet json")
    found = re.search(
        r"📎 (promptbot-greet-\S+\.json) \(([\d.]+ KB|\d+ bytes)\), saved to \./(\S+)", shown
    )
    assert found, shown
    saved = tmp_path / found.group(3)
    assert saved.name == found.group(1) and saved.read_text().startswith("{")
    assert '"runs": [' in shown  # the first lines
    assert "direct message" in shown


def test_4_the_inputs_form_takes_a_local_path_and_says_how_to_cancel(shell, tmp_path):
    (tmp_path / "set.csv").write_text("who\nBo\nCy\n")
    output = shell(
        TWO_VERSIONS
        + "/prompt inputs greet\ngolden\nmissing.csv\nset.csv\n\n"
        + "/prompt inputs greet\n/cancel\n/prompt list\n"
    )

    form = after(output, "you> /prompt inputs greet")
    assert "┌ Add a test set · /cancel closes it" in form
    assert "hint: cannot read missing.csv" in form
    assert "Saved test set 'golden' for greet: 2 rows" in output
    assert Store(tmp_path / DB).test_sets.get("greet", "golden") == [{"who": "Bo"}, {"who": "Cy"}]
    assert "the form was closed without submitting" in output.split("/cancel", 1)[1]
    assert "Recent proposals" in output  # the shell carried on


def test_6_rendering_fences_reveal_labels_and_reply_echo(shell):
    output = shell(
        TWO_VERSIONS + "/prompt show greet\n/prompt reveal 2\nLooks good to me.\n"
        "/prompt compare greet@v1 greet@v2\n"
    )

    assert "```" not in output
    assert "  Say hi warmly to {{ who }}" in after(output, "you> /prompt show greet")
    revealed = re.findall(r"Candidate [AB] — (.+)", output)
    assert sorted(revealed) == ["smollm2-creative, greet v2", "smollm2-precise, greet v2"]
    echo = after(output, "you> Looks good to me.")
    assert "│ you\n  │   Looks good to me." in echo


def test_6_a_restarted_shell_shows_the_counts_of_older_threads(shell):
    shell(TWO_VERSIONS + "react A :+1:\nas bo\nreact A :+1:\nreact B :-1:\n")

    output = shell("as cy\nreact A :-1:\nreact B :-1:\n")

    assert "sent (a thread from an earlier session)" not in output
    first = after(output, "cy> react A :-1:")
    assert re.search(r"Candidate A  👍 2   👎 1 \(votes stored; a thread from an earlier", first)
    assert re.search(r"Candidate B  👎 2 ", after(output, "cy> react B :-1:"))


def test_7_a_rerun_shows_the_cache_and_fresh_skips_it(shell, models):
    output = shell(TWO_VERSIONS + "/prompt rerun greet\n/prompt rerun greet --fresh\n")

    cached = after(output, "you> /prompt rerun greet\n")
    fresh = after(output, "you> /prompt rerun greet --fresh")
    assert cached.count("Reused from the cache") == 1  # the temperature-0 preset only
    assert "Reused from the cache" not in fresh
    assert "_Reused" not in output
    assert len(models.requests_for("smollm2-precise")) == 3  # v1, v2, --fresh
