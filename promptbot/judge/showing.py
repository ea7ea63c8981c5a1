"""The judge in `/prompt show`: what it said about a version's answers in revealed runs
(never an open one's), and whether it has earned trust on the prompt."""

from __future__ import annotations

from promptbot.config.settings import AppConfig
from promptbot.domain import Run, Version
from promptbot.judge.trust import judge_trust
from promptbot.render.blocks import escape
from promptbot.render.judge import calibration_details, calibration_summary
from promptbot.render.words import count, format_cost
from storage import Store


def judge_text(store: Store, config: AppConfig, version: Version, runs: list[Run]) -> str | None:
    """The show's Judge section, or None when no judge scores this prompt."""
    if not config.judges(version.prompt_name) or config.judge.model is None:
        return None
    ids = [
        c.id
        for run in runs
        if run.revealed_at is not None
        for c in store.candidates(run.id)
        if (c.version_id or run.version.id) == version.id
    ]
    verdicts = list(store.judge.verdicts(ids).values())
    lines = [f"{escape(config.judge.model)}, an LLM; not counted as votes"]
    if verdicts:
        yes = sum(v.approval > 0.5 for v in verdicts)
        stars = [v.stars for v in verdicts if v.stars is not None]
        mean = f", {sum(stars) / len(stars):.1f}★ on average" if stars else ""
        lines.append(
            f"says yes to {yes} of {count(len(verdicts), 'answer')} in revealed runs{mean}"
        )
    else:
        lines.append("no verdicts in revealed runs yet (they show once a run is revealed)")
    cost = sum(store.judge.run_cost(run.id) for run in runs)
    lines.append(f"its calls cost {format_cost(cost)} in all (not in the answers' cost above)")
    calibration = judge_trust(store, config, version.prompt_name)
    details = calibration_details(calibration)
    lines.append(calibration_summary(calibration) + (f" · {details}" if details else ""))
    return "\n".join(lines)
