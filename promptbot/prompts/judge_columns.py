"""The export's tables of the LLM judge (docs/export.md: ``judge_verdicts``,
``judge_pairs`` and ``judge_confusion``), declared here and listed in
``promptbot.prompts.export.TABLES``."""

from __future__ import annotations

JUDGE_VERDICT_COLUMNS: tuple[str, ...] = (
    "run_id",
    "candidate_id",
    "model",
    "approval",
    "stars",
    "reason",
    "error",
    "tokens_in",
    "tokens_out",
    "cost",
    "cached",
    "judged_at",
)
JUDGE_PAIR_COLUMNS: tuple[str, ...] = (
    "run_id",
    "first_candidate_id",
    "second_candidate_id",
    "model",
    "outcome",
    "consistent",
    "forward",
    "backward",
    "error",
    "cost",
    "judged_at",
)
JUDGE_CONFUSION_COLUMNS: tuple[str, ...] = (
    "prompt",
    "scale",
    "judge",
    "team",
    "candidates",
    "min_human_votes",
)
