"""The domain's plain records: what the store returns and the core works with."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any, Literal

from promptbot.errors import UsageError

# held: waiting for the proposer to confirm its cost; cancelled: they did not.
RunStatus = Literal["pending", "running", "done", "failed", "held", "cancelled"]
# A candidate moves forward only: pending → answered → posting → posted.
CandidateStatus = Literal["pending", "answered", "posting", "posted"]


@dataclass(frozen=True)
class Version:
    id: int
    prompt_id: int
    prompt_name: str
    number: int
    template: str
    system_prompt: str | None
    author: str
    created_at: str
    note: str | None = None
    parent_id: int | None = None

    @property
    def title(self) -> str:
        return f"{self.prompt_name} v{self.number}"


@dataclass(frozen=True)
class Run:
    id: int
    version: Version
    status: RunStatus
    channel: str
    thread_ts: str | None
    permalink: str | None
    created_by: str
    created_at: str
    models: list[str]
    inputs: list[dict[str, Any]]
    closed_at: str | None = None
    closed_by: str | None = None
    revealed_at: str | None = None
    fresh: bool = False
    previous_run_id: int | None = None
    kind: str = "review"
    deleted_at: str | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class Candidate:
    id: int
    run_id: int
    label: str
    slot: int
    model_name: str
    model_id: str
    input_index: int
    variables: dict[str, Any]
    status: CandidateStatus
    output: str | None = None
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int | None = None
    finish_reason: str | None = None
    cached: bool = False
    cost: float | None = None
    version_id: int | None = None  # set when a baseline version runs in another's thread
    version_number: int | None = None
    prompt_name: str | None = None

    def written_by(self, run: Run) -> str:
        """Who wrote it, for a reveal: the model and the prompt version."""
        prompt = self.prompt_name or run.version.prompt_name
        return f"{self.model_name}, {prompt} v{self.version_number or run.version.number}"


@dataclass(frozen=True)
class PlannedCandidate:
    """A candidate decided at proposal time, before it has an id."""

    label: str
    slot: int
    model_name: str
    model_id: str
    input_index: int
    variables: dict[str, Any] = field(default_factory=dict)
    version_id: int | None = None  # None: the run's own version


@dataclass(frozen=True)
class Completion:
    """What one model call produced; ``error`` is set instead of ``output`` on failure."""

    output: str | None
    error: str | None
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int
    finish_reason: str | None
    cached: bool = False
    cost: float | None = None


@dataclass(frozen=True)
class Rating:
    candidate_id: int
    user_id: str
    scale: str
    emoji: str
    score: float


@dataclass(frozen=True)
class Check:
    """One line of `promptbot doctor`'s checklist."""

    ok: bool
    what: str
    detail: str


def versus(left: tuple[str, int], right: tuple[str, int]) -> str:
    """A compare's name: ``greet v1 vs v2``, or ``greet v1 vs tone v3`` across prompts."""
    other = f"v{right[1]}" if right[0] == left[0] else f"{right[0]} v{right[1]}"
    return f"{left[0]} v{left[1]} vs {other}"


def run_title(run: Run, candidates: list[Candidate]) -> str:
    """What a run is called: its version, or for a compare both versions it sets side by
    side (the run's own version is the left one of the command)."""
    if run.kind != "compare":
        return run.version.title
    for candidate in candidates:
        if candidate.version_id not in (None, run.version.id) and candidate.version_number:
            right = (candidate.prompt_name or run.version.prompt_name, candidate.version_number)
            return versus((run.version.prompt_name, run.version.number), right)
    return run.version.title


def blind_label(index: int) -> str:
    """A, B, … Z, AA, AB, … — spreadsheet-style, so any number of candidates gets a label."""
    letters = string.ascii_uppercase
    label = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        label = letters[remainder] + label
    return label


@dataclass(frozen=True)
class RunSummary:
    """A run with its counts, as /prompt list shows it."""

    run: Run
    candidates: int
    ratings: int
    comments: int


# -- what the store reads back for the core ----------------------------------------

# The vote each emoji casts on a pair.
PAIR_EMOJI = {"a": "left", "b": "right", "handshake": "tie", "-1": "both_bad"}


@dataclass(frozen=True)
class PromptRecord:
    id: int
    name: str
    created_by: str
    archived_at: str | None


@dataclass(frozen=True)
class OpenRun:
    id: int
    channel: str
    permalink: str | None
    created_by: str
    created_at: str
    prompt: str
    version: int
    votes: int
    against_prompt: str | None = None  # a compare's other version
    against_version: int | None = None

    @property
    def title(self) -> str:
        if self.against_prompt is None or self.against_version is None:
            return f"{self.prompt} v{self.version}"
        return versus((self.prompt, self.version), (self.against_prompt, self.against_version))


@dataclass(frozen=True)
class AuthoredVersion:
    """A prompt version someone wrote, with its newest live run's thread."""

    prompt: str
    version: int
    archived: bool
    runs: int
    permalink: str | None
    created_at: str


@dataclass(frozen=True)
class ExportRows:
    runs: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    pair_votes: list[dict[str, Any]]
    checks: list[dict[str, Any]] = field(default_factory=list)
    # The LLM judge's, apart from the team's ratings; revealed runs only.
    judge_verdicts: list[dict[str, Any]] = field(default_factory=list)
    judge_pairs: list[dict[str, Any]] = field(default_factory=list)
    # verdicts.calibration.JudgedCandidate (a room above this one): the confusion tables'.
    judged_candidates: list[Any] = field(default_factory=list)


# -- names: prompts and test sets ----------------------------------------------------

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"'{name[:40]}' is not a usable prompt name: one word of letters, digits, '-',"
            " '_' or '.', up to 80 characters, starting with a letter or digit"
        )
    return name


def check_set_name(name: str) -> str:
    """Set names follow the rules for prompt names (see check_name)."""
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"'{short_text(name)}' is not a usable test set name: use letters, digits, '-', '_'"
            " or '.', up to 80 characters"
        )
    return name


def short_text(text: str) -> str:
    """One line, at most 40 characters: for quoting names we did not choose."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 40 else flat[:39] + "…"


# -- checks on answers (issue 13) ----------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome on one answer; ``detail`` says what did not hold."""

    check: str  # the check as written: ``type: value``
    passed: bool
    detail: str


@dataclass(frozen=True)
class CheckTally:
    """How a prompt version's answers in closed runs fared: ``passed`` of ``answers``
    passed ``check``, or every check when ``check`` is None."""

    prompt: str
    version: int
    check: str | None
    answers: int
    passed: int


# -- the LLM judge (issue 13) --------------------------------------------------------


@dataclass(frozen=True)
class JudgeVerdict:
    """The judge's blind score of one candidate: approval from 0 to 1 (the approval
    scale's no to yes), stars on the stars scale when the rubric asks for them."""

    candidate_id: int
    approval: float
    stars: float | None
    reason: str


Outcome = Literal["first", "second", "tie"]


@dataclass(frozen=True)
class JudgePair:
    """The judge's head-to-head verdict on two answers to one input, asked in both
    orders: an outcome the two orders disagree on is a tie, and not ``consistent``."""

    first_id: int
    second_id: int
    outcome: Outcome
    consistent: bool
