"""Hostile model answers, over signed HTTP against the real app: each candidate is
cleaned before it is stored, and anything that goes wrong with one candidate fails
that candidate alone while the others post."""

import pytest

from promptbot.review import posting as runner_module
from promptbot.review.cleaning import REPLACEMENT, clean_model_text
from promptbot.standins.blockkit import check_blocks
from tests.harness import assert_an_ordinary_proposal_completes


def answering(models, alpha: str, beta: str = "a plain answer") -> None:
    models.set_behaviour("alpha-id", reply=lambda request: alpha)
    models.set_behaviour("beta-id", reply=lambda request: beta)


def test_cleaning_replaces_surrogates_nul_and_controls_only():
    text = "ok\ud800 \x00\x07\x1b[31m\x7f\x85 tab\tline\nreturn\r é 🙂"
    cleaned = clean_model_text(text)
    assert (
        cleaned
        == f"ok{REPLACEMENT} {REPLACEMENT * 3}[31m{REPLACEMENT * 2} tab\tline\nreturn\r é 🙂"
    )
    cleaned.encode("utf-8")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("half a pair \ud800 then NUL \x00 and bell \x07", id="lone-surrogate-nul"),
        pytest.param("\udfff" * 500, id="only-surrogates"),
        pytest.param("<" * 50_000, id="fifty-thousand-lt"),
        pytest.param("&" * 3_000 + "x" * 3_000, id="ampersands-then-long-word"),
        pytest.param("<!channel> <@U1> <https://evil|harmless>", id="mentions-and-links"),
    ],
)
def test_hostile_answer_is_stored_clean_and_every_candidate_posts(bot, slack, models, answer):
    answering(models, answer)
    status, _ = bot.command("propose hostile --models alpha,beta\nHi")
    assert status == 200
    run = bot.wait_run(1, timeout=20)
    assert run.status == "done"
    candidates = {c.model_name: c for c in bot.store.candidates(run.id)}
    assert {c.status for c in candidates.values()} == {"posted"}
    assert candidates["alpha"].output == clean_model_text(answer)
    assert "\x00" not in candidates["alpha"].output
    assert candidates["beta"].output == "a plain answer"
    posts = bot.candidate_posts(run.id)
    assert len(posts) >= 2
    for post in posts:
        assert check_blocks(post["blocks"], "message") == []
        assert "<!channel>" not in str(post["blocks"])
    assert len(models.requests) == 2
    models.clear_behaviour()
    assert_an_ordinary_proposal_completes(bot)


def test_a_candidate_that_cannot_be_stored_fails_alone(bot, models, monkeypatch):
    answering(models, "BOOM")
    record = bot.store.record_answer

    def failing(candidate_id, result):
        if result.output == "BOOM":
            raise OSError("disk trouble")
        record(candidate_id, result)

    monkeypatch.setattr(bot.store, "record_answer", failing)
    bot.command("propose storing --models alpha,beta\nHi")
    run = bot.wait_run(1, timeout=20)
    candidates = {c.model_name: c for c in bot.store.candidates(run.id)}
    assert candidates["alpha"].error == "the answer could not be stored"
    assert candidates["beta"].output == "a plain answer"
    assert {c.status for c in candidates.values()} == {"posted"}
    texts = str([p["blocks"] for p in bot.candidate_posts(run.id)])
    assert "No answer: the answer could not be stored" in texts
    assert "a plain answer" in texts


def test_a_candidate_that_cannot_be_rendered_fails_alone(bot, models, monkeypatch):
    answering(models, "BOOM")
    render = runner_module.candidate_messages

    def fragile(run, candidate, **kwargs):
        if candidate.output == "BOOM":
            raise RuntimeError("renderer bug")
        return render(run, candidate, **kwargs)

    monkeypatch.setattr(runner_module, "candidate_messages", fragile)
    bot.command("propose rendering --models alpha,beta\nHi")
    run = bot.wait_run(1, timeout=20)
    assert {c.status for c in bot.store.candidates(run.id)} == {"posted"}
    texts = str([p["blocks"] for p in bot.candidate_posts(run.id)])
    assert "its answer could not be shown in Slack" in texts
    assert "a plain answer" in texts
    models.clear_behaviour()
    assert_an_ordinary_proposal_completes(bot)
