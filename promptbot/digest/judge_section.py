"""The digest's Judge section: does the LLM judge agree with the team, overall and per
prompt, and is it trusted for pre-screening (promptbot/verdicts/calibration.py); and its
"judge says" column beside the rankings (``says``). Read from revealed runs only, so it
says nothing about a thread still open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from promptbot.config.settings import AppConfig
from promptbot.render.judge import calibration_details, calibration_summary
from promptbot.render.words import count
from promptbot.verdicts.calibration import Calibration, calibrate_for
from promptbot.verdicts.head_to_head import item_name
from storage import Store


@dataclass(frozen=True)
class JudgeLine:
    prompt: str | None  # None: every prompt
    summary: str
    details: str
    trusted: bool


@dataclass(frozen=True, slots=True)
class JudgeSays:
    """The judge's column for one prompt version: how many of its judged answers the
    judge said yes to. Never a vote: it sits beside the team's standing, not in it."""

    approved: int
    judged: int

    @property
    def share(self) -> float:
        return self.approved / self.judged


@dataclass(frozen=True)
class JudgeSection:
    model: str
    overall: JudgeLine
    prompts: tuple[JudgeLine, ...]
    says: Mapping[str, JudgeSays] = field(default_factory=dict)  # by item ("greet v2")


def judge_line(calibration: Calibration, failed: tuple[int, int] = (0, 0)) -> JudgeLine:
    """``failed``: (verdicts that failed, verdicts asked for), said when any failed."""
    details = calibration_details(calibration)
    if failed[0]:
        unread = f"{failed[0]} of {count(failed[1], 'verdict')} failed or unreadable"
        details = f"{details} · {unread}" if details else unread
    return JudgeLine(
        calibration.prompt, calibration_summary(calibration), details, calibration.trusted
    )


def load_judge_section(store: Store, config: AppConfig) -> JudgeSection | None:
    """None when no judge is configured. One read of the verdicts, then per prompt."""
    if config.judge.model is None:
        return None
    candidates = store.judge.judged_candidates(None)
    pairs = store.judge.judged_pairs(None)
    failed = store.judge.failed_verdicts()
    overall = (sum(f for f, _ in failed.values()), sum(n for _, n in failed.values()))
    names = sorted({c.prompt for c in candidates} | {p.prompt for p in pairs} | set(failed))
    says = {
        item_name(prompt, version): JudgeSays(yes, judged)
        for (prompt, version), (yes, judged) in store.judge.approval_by_version().items()
        if judged and config.judges(prompt)
    }
    return JudgeSection(
        config.judge.model,
        judge_line(calibrate_for(config, candidates, pairs, None), overall),
        tuple(
            judge_line(calibrate_for(config, candidates, pairs, name), failed.get(name, (0, 0)))
            for name in names
        ),
        says,
    )
