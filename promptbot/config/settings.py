"""The app.yaml settings, declared once: every field has a type, a default and help text.

``app.yaml`` holds what a team edits (models, scales, channels); secrets come only from
the environment (``config.environment``). ``config.loading`` validates the file at
start-up and turns any mistake into one ConfigError line naming the field.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from promptbot.config.crontab import crontab_fields
from promptbot.config.judging import JudgeSettings, PromptSettings, StrictSettings
from promptbot.errors import ConfigError
from promptbot.review.scales import canonical_name

# Where each kind of OpenAI-compatible server listens by default.
PROVIDER_BASE_URLS: dict[str, str | None] = {
    "openai": None,  # the openai client's own default, or OPENAI_BASE_URL
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "llamacpp": "http://localhost:8080/v1",
    "lmstudio": "http://localhost:1234/v1",
}


class ModelParams(StrictSettings):
    temperature: float = Field(0.7, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(512, gt=0, description="Most tokens the model may answer with.")


class Price(StrictSettings):
    input_per_million: float = Field(0.0, ge=0, description="Price of a million input tokens.")
    output_per_million: float = Field(0.0, ge=0, description="Price of a million output tokens.")


class ModelConfig(StrictSettings):
    name: str = Field(description="Short name shown on reveal and in rankings.")
    model: str = Field(description="The model id sent to the endpoint, e.g. gpt-4o-mini.")
    provider: Literal["openai", "ollama", "vllm", "llamacpp", "lmstudio"] = Field(
        "openai", description="Kind of OpenAI-compatible server; picks a default base_url."
    )
    base_url: str | None = Field(None, description="Endpoint URL; overrides the provider's.")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Name of the environment variable holding the API key."
    )
    params: ModelParams = Field(default_factory=ModelParams, description="Sampling parameters.")
    timeout: float = Field(60.0, gt=0, description="Seconds before one model call gives up.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries on 429/5xx (Retry-After).")
    max_concurrency: int = Field(4, ge=1, le=64, description="Calls in flight to this model.")
    price: Price = Field(default_factory=Price, description="Token prices, for cost per run.")
    cache: bool | None = Field(
        None,
        description="Reuse stored answers to identical calls (default: only at temperature 0).",
    )

    def caches(self) -> bool:
        return self.cache if self.cache is not None else self.params.temperature == 0

    def resolved_base_url(self, environ: dict[str, str]) -> str | None:
        if self.base_url:
            return self.base_url
        if self.provider == "openai":
            return environ.get("OPENAI_BASE_URL") or None
        return PROVIDER_BASE_URLS[self.provider]


class Scale(StrictSettings):
    emoji: dict[str, float] = Field(description="Emoji name (without colons) to score.")
    seed: bool = Field(True, description="Whether the bot adds these emoji under each candidate.")

    @field_validator("emoji")
    @classmethod
    def _not_empty(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("a scale needs at least one emoji")
        # Slack's canonical names, so `thumbsup` in app.yaml is the `+1` Slack sends.
        return {canonical_name(name): score for name, score in value.items()}


def _default_scales() -> dict[str, Scale]:
    return {
        "approval": Scale(emoji={"+1": 1, "-1": 0}, seed=True),
        "stars": Scale(emoji={"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}, seed=False),
    }


class Limits(StrictSettings):
    template_max_bytes: int = Field(16_384, gt=0, description="Largest template accepted.")
    max_runs_listed: int = Field(10, gt=0, le=50, description="Proposals shown by /prompt list.")
    run_cost_ceiling: float | None = Field(
        None, gt=0, description="A run estimated to cost more asks for confirmation first."
    )
    test_set_max_rows: int = Field(200, gt=0, description="Most rows in one test set.")
    template_render_seconds: float = Field(
        1.0, gt=0, le=60, description="Longest one template may take to render; past it, refused."
    )
    template_output_max_bytes: int = Field(
        65_536, gt=0, description="Largest rendered template (UTF-8 bytes); past it, refused."
    )
    request_max_bytes: int = Field(
        1_048_576,
        ge=65_536,
        description="Largest HTTP request body accepted at /slack/events (larger: 413).",
    )
    event_backlog: int = Field(
        10_000,
        gt=0,
        description="Events recorded but not yet processed; past it Slack is asked to retry.",
    )


class DigestSettings(StrictSettings):
    schedule: str = Field(
        "0 9 * * 1", description="When the digest is posted: a crontab line (default Monday 09:00)."
    )
    timezone: str = Field("UTC", description="IANA time zone the schedule is read in.")
    channels: list[str] = Field(
        default_factory=list, description="Channel ids the digest is posted to (none: not posted)."
    )
    grace_hours: float = Field(
        12, ge=0, description="A digest missed while the bot was down is posted this late at most."
    )
    min_votes: int = Field(5, ge=1, description="Votes an entry needs before it is ranked.")
    bootstrap_rounds: int = Field(
        200, ge=20, le=10_000, description="Bootstrap resamples for confidence intervals."
    )
    seed: int = Field(0, description="Seed for the bootstrap, so a digest is reproducible.")
    template_dir: str | None = Field(
        None, description="Directory whose digest templates override the built-in ones."
    )
    max_items: int = Field(
        10, ge=1, le=50, description="Rows per digest section before 'and N more'."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (expected an IANA name)") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        try:
            crontab_fields(value)
        except (ConfigError, ValueError) as error:
            reason = str(error).removeprefix("digest.schedule: ")
            raise ValueError(f"'{value}' is not a usable crontab line: {reason}") from None
        return value


class ReviewSettings(StrictSettings):
    close_after_days: float | None = Field(
        7,
        gt=0,
        description="Close a run's voting this many days after it was posted (none: never).",
    )
    close_after_votes: int | None = Field(
        None, gt=0, description="Close a run once it has this many ratings (none: never)."
    )


class ReminderSettings(StrictSettings):
    enabled: bool = Field(False, description="Whether reviewers are reminded about open runs.")
    schedule: str = Field(
        "0 10 * * 1-5",
        description="When reminders go out: a crontab line (default weekdays 10:00).",
    )
    min_votes: int = Field(3, ge=1, description="Runs with fewer votes than this are open.")

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return DigestSettings._valid_cron(value)


class SlackSettings(StrictSettings):
    timeout: float = Field(30.0, gt=0, description="Seconds one Slack Web API call may take.")
    deadline_seconds: float = Field(
        600.0,
        ge=0,
        description="How long a post keeps retrying (429, 5xx, timeouts) before it waits"
        " for the resumer.",
    )
    posts_per_second: float = Field(
        1.0, ge=0, description="Posts per second per channel (Slack's pace; 0: unpaced)."
    )
    post_burst: int = Field(3, ge=1, description="Posts a channel may take at once.")
    resume_every_seconds: float = Field(
        60.0, gt=0, description="How often runs that Slack held up are tried again."
    )
    lease_seconds: float = Field(
        60.0, gt=0, description="A run's lease: another process may take it over after this."
    )


class AppConfig(StrictSettings):
    models: list[ModelConfig] = Field(
        default_factory=list, description="The models a prompt can run against."
    )
    default_models: list[str] = Field(
        default_factory=list,
        description="Models a proposal runs on when none are picked (default: all).",
    )
    review_channel: str | None = Field(
        None, description="Channel id for review threads; default: where /prompt was typed."
    )
    scales: dict[str, Scale] = Field(
        default_factory=_default_scales, description="Rating scales: emoji to score."
    )
    admins: list[str] = Field(
        default_factory=list, description="Slack user ids who may manage any prompt or run."
    )
    limits: Limits = Field(default_factory=Limits, description="Size limits.")
    digest: DigestSettings = Field(
        default_factory=DigestSettings, description="The scheduled digest."
    )
    review: ReviewSettings = Field(
        default_factory=ReviewSettings, description="When voting on a run closes."
    )
    reminders: ReminderSettings = Field(
        default_factory=ReminderSettings, description="Direct-message nudges to reviewers."
    )
    slack: SlackSettings = Field(
        default_factory=SlackSettings, description="Talking to Slack: retries and pace."
    )
    judge: JudgeSettings = Field(
        default_factory=JudgeSettings, description="An LLM judge, calibrated against the team."
    )
    prompts: dict[str, PromptSettings] = Field(
        default_factory=dict, description="Per prompt name: its checks and judge."
    )

    @model_validator(mode="after")
    def _check_references(self) -> AppConfig:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        unknown = [n for n in self.default_models if n not in names]
        if unknown:
            raise ValueError(f"default_models names unknown models: {', '.join(unknown)}")
        if self.judge.model is not None and self.judge.model not in names:
            raise ValueError(f"judge.model names an unknown model: {self.judge.model}")
        seen: dict[str, str] = {}
        for scale_name, scale in self.scales.items():
            for emoji in scale.emoji:
                if emoji in seen:
                    raise ValueError(
                        f"emoji '{emoji}' is on two scales ({seen[emoji]}, {scale_name})"
                    )
                seen[emoji] = scale_name
        return self

    def model(self, name: str) -> ModelConfig:
        for model in self.models:
            if model.name == name:
                return model
        raise ConfigError(f"unknown model '{name}'")

    def prompt_settings(self, name: str) -> PromptSettings:
        return self.prompts.get(name, PromptSettings())

    def judges(self, prompt: str) -> bool:
        """Whether the judge scores ``prompt``: on wherever a judge is configured, unless
        that prompt turns it off."""
        wanted = self.prompt_settings(prompt).judge
        return self.judge.model is not None and (wanted if wanted is not None else True)

    def proposal_models(self) -> list[str]:
        return list(self.default_models) or [m.name for m in self.models]
