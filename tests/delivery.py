"""End-state checks for the delivery tests: what the DB and the Slack stand-in must say
once a run is over, whatever was injected on the way."""

from __future__ import annotations

from typing import Any

from promptbot.review.publishing import CANDIDATE_EVENT, RUN_EVENT
from promptbot.standins.slack_api import BOT_USER_ID, SlackStandIn
from storage import Store


def parents(slack: SlackStandIn, channel: str, run_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.messages(channel, include_replies=False)
        if (m["metadata"] or {}).get("event_type") == RUN_EVENT
        and m["metadata"]["event_payload"].get("run") == run_id
    ]


def candidate_posts(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.messages(channel)
        if (m["metadata"] or {}).get("event_type") == CANDIDATE_EVENT
    ]


def delivered(store: Store, slack: SlackStandIn, run_id: int) -> dict[str, int]:
    """Counts for one finished run; ``assert_delivered`` checks them."""
    run = store.get_run(run_id)
    candidates = store.candidates(run_id)
    posts = candidate_posts(slack, run.channel)
    first_parts = [
        m["metadata"]["event_payload"]["candidate"]
        for m in posts
        if m["metadata"]["event_payload"].get("part", 0) == 0
    ]
    seeded = 0
    for candidate in candidates:
        ts = store.candidate_message_ts(candidate.id)
        message = slack.find_message(run.channel, ts[-1]) if ts else None
        reactions = (message or {}).get("reactions", {})
        if any(BOT_USER_ID in users for users in reactions.values()):
            seeded += 1
    ids = {c.id for c in candidates}
    return {
        "answered": sum(c.status != "pending" for c in candidates),
        "posted": len({o for o in first_parts if o in ids}),
        "duplicates": sum(first_parts.count(i) - 1 for i in ids if first_parts.count(i) > 1),
        "parents": len(parents(slack, run.channel, run_id)),
        "seeded": seeded,
        "candidates": len(candidates),
    }


def assert_delivered(store: Store, slack: SlackStandIn, run_id: int) -> None:
    """One parent, every answered candidate posted exactly once and seeded, run done."""
    run = store.get_run(run_id)
    counts = delivered(store, slack, run_id)
    assert run.status == "done", (run.status, counts)
    assert counts["parents"] == 1, counts
    assert counts["answered"] == counts["candidates"], counts
    assert counts["posted"] == counts["answered"], counts
    assert counts["duplicates"] == 0, counts
    assert counts["seeded"] == counts["candidates"], counts
    assert {c.status for c in store.candidates(run_id)} == {"posted"}
