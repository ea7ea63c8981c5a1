"""What the LLM judge said, as shown once a run is revealed (never before): one line per
candidate, "judge says", apart from the team's votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptbot.domain import JudgeVerdict
from promptbot.render.blocks import (
    SECTIONS_PER_MESSAGE,
    Message,
    context,
    escape,
    section,
    truncate,
)
from promptbot.render.words import count
from promptbot.verdicts.calibration import Calibration

REASON_CHARS = 160
# A section holds 3000 characters; the lines are joined below that.
SECTION_CHARS = 2800


@dataclass(frozen=True)
class JudgedLine:
    label: str
    verdict: JudgeVerdict | None
    failure: str | None = None


def says(verdict: JudgeVerdict) -> str:
    """``👍 yes · 4★``: the judge's approval (and stars) in a few characters."""
    if verdict.approval >= 0.75:
        word = ":+1: yes"
    elif verdict.approval <= 0.25:
        word = ":-1: no"
    else:
        word = ":thinking_face: unsure"
    stars = f" · {verdict.stars:g}★" if verdict.stars is not None else ""
    return word + stars


def line(judged: JudgedLine) -> str:
    label = f"*{escape(judged.label)}*"
    if judged.verdict is None:
        why = escape(truncate(judged.failure or "no verdict", REASON_CHARS))
        return f"{label}: no verdict ({why})"
    reason = judged.verdict.reason
    tail = f" — {escape(truncate(reason, REASON_CHARS))}" if reason else ""
    return f"{label}: {says(judged.verdict)}{tail}"


def judge_notice(model: str, judged: Sequence[JudgedLine], consistency: str | None) -> Message:
    """The reveal's "judge says" message: the judge's verdict per candidate, in as many
    sections as fit (an export has them all)."""
    intro = f"*Judge says* ({escape(model)}, an LLM: not counted as votes)" + (
        f" · {consistency}" if consistency else ""
    )
    lines = [line(j) for j in judged]
    sections: list[str] = []
    current = ""
    for text in lines:
        if current and len(current) + len(text) + 1 > SECTION_CHARS:
            sections.append(current)
            current = ""
        current = f"{current}\n{text}" if current else text
    if current:
        sections.append(current)
    shown = sections[: SECTIONS_PER_MESSAGE - 2]
    blocks = [section(intro)] + [section(s) for s in shown]
    if len(sections) > len(shown):
        blocks.append(context("…and more: `/prompt export NAME json` has every verdict."))
    return Message(f"Judge says ({model})", blocks)


def _number(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def calibration_summary(calibration: Calibration) -> str:
    """One line: does the judge agree with the team, and is it trusted for screening."""
    c = calibration
    votes = count(c.candidates, "candidate")
    if c.kappa is None:
        if c.candidates:
            return f"not yet: κ undefined over {votes} (every answer got the same verdict)"
        return "not yet: no judged candidate has enough human ratings"
    known = c.low is not None and c.high is not None
    interval = f" [{_number(c.low or 0)}, {_number(c.high or 0)}]" if known else ""
    kappa = f"κ {_number(c.kappa)}{interval} over {votes}"
    if c.trusted:
        return f"the judge agrees with the team, {kappa}; trusted for pre-screening"
    return f"not yet: {kappa} (trust needs the lower bound at {c.trust_kappa:.2f} or more)"


def calibration_details(calibration: Calibration) -> str:
    """Position consistency, stars and head-to-head agreement, where there are any."""
    c = calibration
    parts = []
    if c.position_consistency is not None:
        parts.append(
            f"position consistency {c.position_consistency:.0%} of {count(c.pairs_judged, 'pair')}"
        )
    stars = []
    if c.stars_kappa is not None:
        stars.append(f"weighted κ {_number(c.stars_kappa)}")
    if c.stars_alpha is not None:
        stars.append(f"α {_number(c.stars_alpha)}")
    if stars:
        parts.append(f"stars {', '.join(stars)} over {c.stars_candidates}")
    if c.pair_agreement is not None:
        outcomes = count(c.pair_outcomes, "head-to-head outcome")
        parts.append(f"agrees with {c.pair_agreement:.0%} of the team's {outcomes}")
    return " · ".join(parts)
