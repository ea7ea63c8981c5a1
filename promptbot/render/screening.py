"""A screened run's summary: how many answers were posted for the team and why, and
what the judge and the checks said of the held ones, with a button to post them all
and menus to post any one. Held answers are named by label and input only: naming
their model would tell reviewers who wrote the posted answers beside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promptbot.render.blocks import Block, Message, context, escape, section
from promptbot.render.words import count, join_within

POST_ALL = "screen_post_all"
POST_ONE = "screen_post_one"
_OPTIONS_PER_MENU = 100  # Block Kit's limit for a static_select
MENUS = 4  # menus of held answers, 100 each (Block Kit's limit per menu)
_LINES_BUDGET = 2600


@dataclass(frozen=True)
class HeldAnswer:
    candidate_id: int
    label: str
    input_index: int
    judge_says: str  # "yes", "no", "unsure" or "no verdict"
    checks_passed: bool | None


def summary_message(
    run_id: int,
    *,
    total: int,
    posted_reasons: Sequence[tuple[str, int]],
    posted: int,
    held: Sequence[HeldAnswer],
    checks_share: float | None,
) -> Message:
    why = " · ".join(f"{n} {reason}" for reason, n in posted_reasons if n)
    head = (
        f"*Screening done:* {count(total, 'answer')}; {posted} posted here for the team"
        + (f" ({why})" if why else "")
        + f"; {len(held)} held."
    )
    lines = [head]
    if checks_share is not None:
        lines.append(f"Checks: {checks_share:.0%} of all answers passed every check.")
    if held:
        says = {s: sum(h.judge_says == s for h in held) for s in ("yes", "no", "unsure")}
        lines.append(
            "Held answers, *judge says* (not votes; never counted in the rankings): "
            + " · ".join(f"{n} {s}" for s, n in says.items() if n)
            + ". The proposer or an admin may post any with the menus below, or"
            + f" `/prompt post {run_id} LABEL…`."
        )
    blocks: list[Block] = [section("\n".join(lines))]
    if held:
        blocks.append(context(_held_lines(held)))
        blocks.append({"type": "actions", "elements": _controls(run_id, held)})
    return Message(head, blocks)


def _mark(passed: bool | None) -> str:
    return "–" if passed is None else (":white_check_mark:" if passed else ":x:")


def _held_lines(held: Sequence[HeldAnswer]) -> str:
    lines = [
        f"{escape(a.label)} (input {a.input_index + 1}): judge says {a.judge_says},"
        f" checks {_mark(a.checks_passed)}"
        for a in held
    ]
    return join_within(lines, _LINES_BUDGET, " · ", lambda n: f"…and {n} more")


def _controls(run_id: int, held: Sequence[HeldAnswer]) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": POST_ALL,
            "text": {"type": "plain_text", "text": f"Post all {len(held)} held"},
            "value": str(run_id),
        }
    ]
    for menu in range(min(MENUS, -(-len(held) // _OPTIONS_PER_MENU))):
        chunk = held[menu * _OPTIONS_PER_MENU : (menu + 1) * _OPTIONS_PER_MENU]
        elements.append(
            {
                "type": "static_select",
                "action_id": f"{POST_ONE}_{menu}",
                "placeholder": {"type": "plain_text", "text": "Post one held answer"},
                "options": [
                    {
                        "text": {
                            "type": "plain_text",
                            "text": f"{a.label} · input {a.input_index + 1} · {a.judge_says}"[:75],
                        },
                        "value": f"{run_id}:{a.candidate_id}",
                    }
                    for a in chunk
                ],
            }
        )
    return elements
