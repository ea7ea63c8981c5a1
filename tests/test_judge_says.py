"""The digest's "judge says" column: per prompt version, the share of its judged answers
(in revealed runs) the LLM judge said yes to, beside the team's figures and never in them.
Built through the store's own writes (tests/judged_runs.py), rendered by the digest."""

import json
import re
from datetime import UTC, datetime, timedelta

from promptbot.config.loading import parse_config
from promptbot.digest.service import DigestService
from storage import Store
from tests.judged_runs import Judged, judged_run

WITH_JUDGE = {"models": [{"name": "judge", "model": "j"}], "judge": {"model": "judge"}}
# greet v1: the team approves 4 of 6 answers (3 votes each); the judge says yes to 5.
GREET = [Judged(1.0, votes=["+1"] * 3)] * 4 + [
    Judged(1.0, votes=["-1"] * 3),
    Judged(0.0, votes=["-1"] * 3),
]
# quiet v1: the judge has verdicts, the team never voted; 0.5 (unsure) is not a yes.
QUIET = [Judged(1.0), Judged(0.0), Judged(0.5)]


def write(store, sql, *params):
    with store.transaction() as db:
        db.execute(sql, list(params))


def digest_text(store, config) -> str:
    now = datetime.now(UTC) + timedelta(minutes=1)
    message = DigestService(store, parse_config(config)).preview(now)
    return json.dumps(message.blocks, ensure_ascii=False)


def leaderboard(text: str) -> str:
    (section,) = re.findall(r"\*Leaderboard\*[^\"]*", text)
    return section


def test_the_column_shows_the_judges_share_beside_the_teams_figures(tmp_path):
    store = Store(tmp_path / "t.db")
    judged_run(store, "greet", GREET)
    judged_run(store, "quiet", QUIET)
    text = digest_text(store, WITH_JUDGE)
    board = leaderboard(text)
    # The team's figure (4 of 6 approved) and, apart from it, the judge's (5 of 6).
    assert "*greet v1* · approval 67% [" in board
    assert re.search(r"n = 18 · Rank \(UB\) 1 · _judge: 83% of 6_", board)
    assert "_judge_: the LLM judge's yes share over its verdicts, never votes" in board
    # A version the judge scored and nobody voted on has no human standing: it is not on
    # the leaderboard, only under needs votes, with the judge's figure beside its 0 votes.
    assert "quiet" not in board
    assert re.search(r"• quiet v1: 0 votes · <[^>]*\|thread> · _judge: 33% of 3_", text)


def test_judge_verdicts_leave_the_human_figures_unchanged(tmp_path):
    store = Store(tmp_path / "t.db")
    judged_run(store, "greet", GREET)
    judged_run(store, "quiet", QUIET)
    with_judge = leaderboard(digest_text(store, WITH_JUDGE))
    write(store, "DELETE FROM judge_verdicts")  # the same votes, no verdicts at all
    write(store, "DELETE FROM judge_pairs")
    without_verdicts = leaderboard(digest_text(store, WITH_JUDGE))
    assert "_judge" not in without_verdicts
    assert (
        re.sub(r" · _judge: [^_]*_", "", with_judge).replace(
            "; _judge_: the LLM judge's yes share over its verdicts, never votes", ""
        )
        == without_verdicts
    )


def test_no_column_without_a_judge_or_for_a_prompt_it_does_not_judge(tmp_path):
    store = Store(tmp_path / "t.db")
    judged_run(store, "greet", GREET)
    judged_run(store, "quiet", QUIET)
    assert "_judge" not in digest_text(store, {})
    text = digest_text(store, {**WITH_JUDGE, "prompts": {"quiet": {"judge": False}}})
    assert "_judge: 83% of 6_" in text and "_judge: 33%" not in text


def test_one_aggregate_per_version_from_revealed_runs_only(tmp_path):
    store = Store(tmp_path / "t.db")
    judged_run(store, "greet", GREET)
    hidden = judged_run(store, "greet", QUIET)
    write(store, "UPDATE runs SET revealed_at = NULL WHERE id = ?", hidden.id)
    # The yes (slot 0) becomes a failed verdict: left out of both counts.
    failed = min(store.candidates(judged_run(store, "quiet", QUIET).id), key=lambda c: c.slot)
    write(store, "UPDATE judge_verdicts SET error = 'bad' WHERE candidate_id = ?", failed.id)
    assert store.judge.approval_by_version() == {("greet", 1): (5, 6), ("quiet", 1): (0, 2)}
