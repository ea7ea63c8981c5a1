"""Whether the judge has earned the team's trust for a prompt: its calibration against
the team's votes on revealed runs (promptbot/verdicts/calibration.py)."""

from __future__ import annotations

from promptbot.config.settings import AppConfig
from promptbot.verdicts.calibration import Calibration, calibrate_for
from storage import Store


def judge_trust(store: Store, config: AppConfig, prompt: str | None) -> Calibration:
    """The judge's calibration on ``prompt`` (None: every prompt); ``.trusted`` when the
    lower bound of κ's interval reaches ``judge.trust_kappa``."""
    return calibrate_for(
        config, store.judge.judged_candidates(prompt), store.judge.judged_pairs(prompt), prompt
    )
