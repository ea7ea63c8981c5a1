"""The digest and leaderboards on demand and on schedule: load the evidence, compute,
render. Free of Slack; the handlers and the CLI decide where the message goes.

The computing and rendering modules are imported by the methods that use them: they
bring numpy (and krippendorff for a judge's calibration), which should load with the
first digest, not at the bot's start-up (tests/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from promptbot.config.settings import AppConfig
from promptbot.errors import UsageError
from promptbot.jobs.periods import Period, latest_due
from promptbot.render.blocks import Message
from promptbot.review.scales import RatingScales
from storage import Store
from storage.base import stamp
from storage.digest_reads import start_reading
from storage.evidence import load_evidence, scale_infos

LeaderboardKind = Literal["prompts", "models"]
WINDOWS: dict[str, timedelta | None] = {
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "all": None,
}
# When nothing has been scheduled yet, a preview covers the last week.
_DEFAULT_SPAN = timedelta(days=7)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def parse_leaderboard_args(args: list[str]) -> tuple[LeaderboardKind, str]:
    kind: LeaderboardKind = "prompts"
    window = "all"
    for word in (a.lower() for a in args):
        if word in ("prompts", "models"):
            kind = "prompts" if word == "prompts" else "models"
        elif word in WINDOWS:
            window = word
        else:
            raise UsageError("usage: /prompt leaderboard [prompts|models] [week|month|all]")
    return kind, window


class DigestService:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def compose(self, period: Period) -> Message:
        scales = RatingScales(self.config.scales)
        # SQLite reads the ratings on a thread while this one loads the statistics.
        reading = start_reading(
            self.store, [info.name for info in scale_infos(scales)], stamp(period.end)
        )
        from promptbot.digest.assembly import build_digest_from
        from promptbot.digest.check_rates import check_rates
        from promptbot.digest.judge_section import load_judge_section
        from promptbot.digest.rendering import render_digest
        from storage.digest_inputs import load_digest_inputs

        # Aggregated in SQL: a judgement per reviewer and candidate, never a rating object.
        inputs = load_digest_inputs(self.store, scales, period.start, period.end, reading)
        digest = build_digest_from(
            inputs, start=period.start, end=period.end, settings=self.config.digest
        )
        tallies = self.store.checks.tallies(closed_before=stamp(period.end))
        digest = replace(digest, checks=check_rates(tallies))
        return render_digest(
            digest, self.config.digest, load_judge_section(self.store, self.config)
        )

    def preview_period(self, now: datetime | None = None) -> Period:
        """From the last scheduled digest up to now: what the next one would say so far."""
        now = now or self.clock()
        due = latest_due(self.config.digest, now)
        start = due.scheduled_for if due else now - _DEFAULT_SPAN
        return Period(key="preview", scheduled_for=now, start=start, end=now, manual=True)

    def preview(self, now: datetime | None = None) -> Message:
        return self.compose(self.preview_period(now))

    def leaderboard(
        self, kind: LeaderboardKind, window: str, now: datetime | None = None
    ) -> Message:
        from promptbot.digest.assembly import build_digest
        from promptbot.digest.rendering import render_leaderboard

        now = now or self.clock()
        evidence = load_evidence(self.store, RatingScales(self.config.scales), now)
        span = WINDOWS[window]
        start = now - span if span else _EPOCH
        if span:
            evidence = evidence.since(start)
        digest = build_digest(evidence, start=start, end=now, settings=self.config.digest)
        return render_leaderboard(digest, kind, self.config.digest)
