"""Pre-screening's selection (unit): which candidates need a human, and the audit draw."""

import random

import pytest

from promptbot.verdicts.screening import (
    ScreenedCandidate,
    approves,
    audit_size,
    reasons_for,
    screen,
)

Y, N, MID = 1.0, 0.0, 0.5


def why(**fields):
    return reasons_for(ScreenedCandidate(id=1, **fields))


def test_a_confident_judge_that_agrees_with_the_checks_needs_nobody():
    assert why(approval=Y, checks_passed=True) == ()
    assert why(approval=N, checks_passed=False) == ()
    assert why(approval=0.9) == ()  # no checks: nothing to disagree with


def test_judge_and_checks_disagreeing_need_a_human():
    assert why(approval=Y, checks_passed=False) == ("judge vs checks",)
    assert why(approval=N, checks_passed=True) == ("judge vs checks",)


def test_an_unsure_judge_needs_a_human():
    assert approves(MID) is None and approves(0.6) is None and approves(0.4) is None
    assert approves(2 / 3) is True and approves(1 / 3) is False
    assert why(approval=MID, checks_passed=True) == ("judge unsure",)
    assert why(approval=Y, swap_consistent=False) == ("judge inconsistent when swapped",)
    assert why(approval=None, checks_passed=True) == ("no judge verdict",)


def test_judge_against_the_champion_needs_a_human():
    assert why(approval=Y, champion_approval=N) == ("judge vs champion",)
    assert why(approval=N, champion_approval=Y) == ("judge vs champion",)
    assert why(approval=Y, champion_approval=Y) == ()
    assert why(approval=Y, champion_approval=MID) == ()  # an unsure champion verdict says nothing
    assert why(approval=N, checks_passed=True, champion_approval=Y, swap_consistent=False) == (
        "judge vs checks",
        "judge inconsistent when swapped",
        "judge vs champion",
    )


@pytest.mark.parametrize(("total", "share", "size"), [(400, 0.1, 40), (7, 0.1, 1), (4, 0.1, 0)])
def test_the_audit_draws_its_share_of_all_candidates(total, share, size):
    assert audit_size(total, share) == size
    easy = [ScreenedCandidate(i, Y, True) for i in range(total)]
    result = screen(easy, audit_share=share, rng=random.Random(7))
    assert len(result.posted) == size
    assert all(reasons == ("audit sample",) for reasons in result.posted.values())
    assert sorted([*result.posted, *result.held]) == list(range(total))


def test_the_audit_is_drawn_from_every_candidate_not_only_the_easy_ones():
    flagged = [ScreenedCandidate(i, MID) for i in range(50)]
    easy = [ScreenedCandidate(i, Y) for i in range(50, 100)]
    audited_flagged = 0
    for seed in range(40):
        result = screen(flagged + easy, audit_share=0.2, rng=random.Random(seed))
        assert result.count("audit sample") == 20
        assert result.count("judge unsure") == 50
        audited_flagged += sum(
            "audit sample" in result.posted[c.id] for c in flagged if c.id in result.posted
        )
    # Half the candidates are flagged, so about half the audit lands on them.
    assert 300 <= audited_flagged <= 500


def test_share_posted_and_a_seeded_draw_is_repeatable():
    pool = [ScreenedCandidate(i, Y if i % 5 else MID, True) for i in range(100)]
    first = screen(pool, audit_share=0.1, rng=random.Random(3))
    again = screen(pool, audit_share=0.1, rng=random.Random(3))
    assert first == again
    assert 0.2 <= first.share_posted <= 0.3
    assert screen([], audit_share=0.1, rng=random.Random(1)).share_posted == 0.0


def test_the_audit_draw_is_seeded_by_the_run_alone_never_by_the_verdicts():
    from promptbot.verdicts.screening import audit_draw

    def audited(pool, run_id):
        result = screen(pool, audit_share=0.1, rng=audit_draw(run_id))
        return {cid for cid, why in result.posted.items() if "audit sample" in why}

    confident = [ScreenedCandidate(i, Y, True) for i in range(200)]
    doubtful = [ScreenedCandidate(i, MID if i % 3 else N, True) for i in range(200)]
    # The same run draws the same sample (a restart decides alike), whatever the judge said.
    assert audited(confident, 7) == audited(confident, 7) == audited(doubtful, 7)
    assert len(audited(confident, 7)) == 20
    # Another run draws another sample.
    assert audited(confident, 7) != audited(confident, 8)
