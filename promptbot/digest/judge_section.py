"""The digest's Judge section: does the LLM judge agree with the team, overall and per
prompt, and is it trusted for pre-screening (promptbot/verdicts/calibration.py). Read
from revealed runs only, so it says nothing about a thread still open."""

from __future__ import annotations

from dataclasses import dataclass

from promptbot.config.settings import AppConfig
from promptbot.render.judge import calibration_details, calibration_summary
from promptbot.verdicts.calibration import Calibration, calibrate_for
from storage import Store


@dataclass(frozen=True)
class JudgeLine:
    prompt: str | None  # None: every prompt
    summary: str
    details: str
    trusted: bool


@dataclass(frozen=True)
class JudgeSection:
    model: str
    overall: JudgeLine
    prompts: tuple[JudgeLine, ...]


def judge_line(calibration: Calibration) -> JudgeLine:
    return JudgeLine(
        calibration.prompt,
        calibration_summary(calibration),
        calibration_details(calibration),
        calibration.trusted,
    )


def load_judge_section(store: Store, config: AppConfig) -> JudgeSection | None:
    """None when no judge is configured. One read of the verdicts, then per prompt."""
    if config.judge.model is None:
        return None
    candidates = store.judge.judged_candidates(None)
    pairs = store.judge.judged_pairs(None)
    names = sorted({c.prompt for c in candidates} | {p.prompt for p in pairs})
    return JudgeSection(
        config.judge.model,
        judge_line(calibrate_for(config, candidates, pairs, None)),
        tuple(judge_line(calibrate_for(config, candidates, pairs, name)) for name in names),
    )
