"""Closing a run's voting and revealing which model wrote each candidate.

Closing is recorded first (so later ratings are late from that instant), then each
candidate message is edited to name its model and prompt version, and the thread is
told. A reveal interrupted by a crash is finished at start-up.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Run
from promptbot.errors import NotFound, PermissionDenied, PublishError, SlackUnavailable
from promptbot.render.blocks import Message, escape
from promptbot.render.judge import JudgedLine, judge_notice
from promptbot.render.messages import candidate_messages, notice, opens_input_group, pair_message
from promptbot.render.words import count, join_within
from promptbot.review.publishing import Publisher, notice_tag
from storage import Store
from storage.store import stamp

logger = logging.getLogger(__name__)

AUTOMATIC = "promptbot"


# The notice is one context block (3,000 characters); a long run's key is cut to fit,
# since each candidate's own message names its model too.
KEY_BUDGET = 2500


def revealed_key(run: Run, candidates: list[Candidate]) -> str:
    """``A = alpha, summary v2, B = …``, cut before ``KEY_BUDGET`` characters."""
    parts = [f"{c.label} = {escape(c.written_by(run))}" for c in candidates]
    return join_within(
        parts, KEY_BUDGET, ", ", lambda n: f"and {n} more (each message names its model)"
    )


def may_manage(run: Run, user_id: str, config: AppConfig) -> bool:
    return user_id == run.created_by or user_id in config.admins


class Revealer:
    def __init__(self, store: Store, config: AppConfig, publisher: Publisher) -> None:
        self.store = store
        self.config = config
        self.publisher = publisher

    def check_may_reveal(self, run_id: int, user_id: str) -> Run:
        run = self.store.get_run(run_id)
        if run.deleted:
            raise NotFound(f"run #{run_id} was deleted")
        if not may_manage(run, user_id, self.config):
            raise PermissionDenied(f"only the proposer of run #{run_id} or an admin can reveal it")
        if run.thread_ts is None:
            raise PermissionDenied(f"run #{run_id} has not been posted yet; try again shortly")
        return run

    def close_and_reveal(self, run_id: int, by: str) -> None:
        self.store.close_run(run_id, by, reveal=True)
        run = self.store.get_run(run_id)
        if run.revealed_at is not None or run.thread_ts is None:
            return
        if run.kind == "compare":
            self._reveal_pairs(run)
        candidates = self.store.candidates(run_id) if run.kind != "compare" else []
        checked = self.store.checks.results(c.id for c in candidates)
        for candidate in candidates:
            posted = self.store.candidate_message_ts(candidate.id)
            heading = opens_input_group(run, candidate, candidates)
            messages = candidate_messages(
                run, candidate, reveal=True, heading=heading, checks=checked.get(candidate.id, ())
            )
            for ts, message in zip(posted, messages, strict=False):
                self._edit(run, ts, message, candidate.label)
        who = "automatically" if by == AUTOMATIC else f"by <@{by}>"
        key = revealed_key(run, self.store.candidates(run_id))
        # Tagged and looked for first: a reveal cut short is finished again at start-up,
        # and its notice must not appear twice. An edit that Slack held up past the
        # gateway's deadline raises SlackUnavailable, so the run is not marked revealed
        # and the next close check (or start-up) finishes it; edits are idempotent.
        self.publisher.post(
            run.channel,
            notice(
                f"Voting is closed ({who}); ratings added from now on are kept but not counted."
                f" Revealed: {key}."
            ),
            thread_ts=run.thread_ts,
            tag=notice_tag(run.id, "revealed"),
            look_first=True,
        )
        self._judge_says(run)
        self.store.mark_revealed(run_id)

    def _judge_says(self, run: Run) -> None:
        """The judge's verdicts, kept from the thread until now, under the reveal."""
        candidates = self.store.candidates(run.id)
        ids = [c.id for c in candidates]
        verdicts = self.store.judge.verdicts(ids)
        failures = self.store.judge.failures(ids)
        queued = self.store.judge.is_queued(run.id)
        if not verdicts and not failures and not queued:
            return  # no judge for this run
        judged = [
            JudgedLine(c.label, verdicts.get(c.id), failures.get(c.id))
            for c in candidates
            if c.id in verdicts or c.id in failures
        ]
        pairs = self.store.judge.pairs(run.id)
        consistent = sum(p.consistent for p in pairs)
        parts = (
            [f"position consistency {consistent} of {count(len(pairs), 'pair')}"] if pairs else []
        )
        if queued:
            parts.append("still judging: the rest will be in `/prompt show` and the export")
        model = self.config.judge.model or "judge"
        try:
            self.publisher.post(
                run.channel,
                judge_notice(model, judged, " · ".join(parts) or None),
                thread_ts=run.thread_ts,
                tag=notice_tag(run.id, "judge"),
                look_first=True,
            )
        except SlackUnavailable:
            raise
        except PublishError as error:  # the verdicts stay in /prompt show and the export
            logger.warning("run %s: the judge's verdicts were not posted: %s", run.id, error)

    def _edit(self, run: Run, ts: str, message: Message, what: str) -> None:
        try:
            self.publisher.update_message(run.channel, ts, message)
        except SlackUnavailable:
            raise
        except PublishError as error:  # refused (deleted message…): nothing to retry
            logger.warning("run %s: reveal of %s failed: %s", run.id, what, error)

    def _reveal_pairs(self, run: Run) -> None:
        for pair in self.store.pairs.for_run(run.id):
            if pair.ts is None:
                continue
            left = self.store.get_candidate(pair.left_id)
            right = self.store.get_candidate(pair.right_id)
            checked = self.store.checks.results([left.id, right.id])
            sides = (checked.get(left.id, []), checked.get(right.id, []))
            message = pair_message(run, pair.number, left, right, reveal=True, checks=sides)
            self._edit(run, pair.ts, message, f"pair {pair.number}")

    def close_due(self, now: datetime | None = None) -> list[int]:
        """Close the runs past the configured age or vote count; returns their ids."""
        settings = self.config.review
        now = now or datetime.now(UTC)
        older_than = None
        if settings.close_after_days is not None:
            cutoff = now - timedelta(days=settings.close_after_days)
            older_than = stamp(cutoff)
        due = self.store.runs_to_close(older_than=older_than, min_votes=settings.close_after_votes)
        for run_id in due + self.store.unrevealed_closed_runs():
            self.close_and_reveal(run_id, AUTOMATIC)
        return due
