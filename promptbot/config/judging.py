"""The judge's settings (``judge:``) and each prompt's own (``prompts.<name>:``: its
checks, whether it is judged, its rubrics), declared with default and help like every
setting (promptbot/config/settings.py holds the rest)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from promptbot.checks import checked_entry
from promptbot.config.rubric_checks import check_pair_rubric, check_rubric


class StrictSettings(BaseModel):
    """A settings block: unknown keys are refused (a typo is an error), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class JudgeSettings(StrictSettings):
    model: str | None = Field(
        None, description="Model (a name from models) that scores candidates; none: no judge."
    )
    rubric: Annotated[str, AfterValidator(check_rubric)] | None = Field(
        None,
        description="Jinja2 rubric with prompt, input, answer (and stars: the scale's low"
        " and high); none: the built-in rubric.",
    )
    pair_rubric: Annotated[str, AfterValidator(check_pair_rubric)] | None = Field(
        None,
        description="Jinja2 head-to-head rubric with prompt, input, first and second;"
        " none: the built-in one.",
    )
    min_human_votes: int = Field(
        3,
        ge=1,
        description="Human ratings a candidate needs before it counts in calibration, and before"
        " the team's majority on a champion's answer is what screening compares with.",
    )
    trust_kappa: float = Field(
        0.6,
        ge=-1,
        le=1,
        description="The judge is trusted where the lower bound of its kappa reaches this.",
    )
    audit_share: float = Field(
        0.1, ge=0, le=1, description="Share of screened candidates posted for humans anyway."
    )


class PromptSettings(StrictSettings):
    checks: list[Annotated[str, AfterValidator(checked_entry)]] = Field(
        default_factory=list,
        description="Checks on every answer, in promptfoo's `type: value` form.",
    )
    judge: bool | None = Field(
        None, description="Whether the judge scores this prompt (none: on when a judge is set)."
    )
    rubric: Annotated[str, AfterValidator(check_rubric)] | None = Field(
        None, description="This prompt's own judge rubric."
    )
    pair_rubric: Annotated[str, AfterValidator(check_pair_rubric)] | None = Field(
        None, description="This prompt's own head-to-head rubric."
    )
