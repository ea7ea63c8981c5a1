"""A run's Slack posts, each an idempotent, resumable step: the thread's parent, each
candidate (or compare pair), the emoji seeded under it, and notices.

``advance`` does every step it can and says where the run stands. It is safe to call
again at any time, in this process or after a restart: a step done is skipped; a step
claimed but not recorded (``posting``) may have reached Slack, so its post is looked
for by its message metadata before it is made again; a step Slack kept refusing "for
now" until the gateway's deadline (SlackUnavailable) stays pending for the resumer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Run, RunStatus
from promptbot.errors import PublishError, SlackUnavailable
from promptbot.render.blocks import Block, Message, escape
from promptbot.render.messages import (
    candidate_messages,
    compare_parent,
    held_run,
    notice,
    opens_input_group,
    pair_message,
    thread_parent,
)
from promptbot.review.calls import failed as failed_answer
from promptbot.review.publishing import Publisher, candidate_tag, notice_tag, parent_tag
from promptbot.review.scales import RatingScales
from promptbot.review.seeding import Seeder
from storage import Store

logger = logging.getLogger(__name__)

Progress = Literal["waiting", "stalled", "finished"]
# Slack keeps a command's response_url usable this long.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
REFUSED_CHANNEL = ("channel_not_found", "not_in_channel", "is_archived")
RESUMED = "promptbot restarted while this run was in progress; resuming it."
SCREENING = (
    "Screened run: the checks and the judge score every answer first; only those that"
    " need a human are posted here, and the rest are summarised once the judge is done."
)
FORCED = "Screened with --force although the judge is not trusted for this prompt"


class RunPoster:
    def __init__(self, store: Store, config: AppConfig, publisher: Publisher) -> None:
        self.store = store
        self.config = config
        self.publisher = publisher
        self.log = store.delivery
        self.pairs = store.pairs
        self.scales = RatingScales(config.scales)
        self.seeder = Seeder(store, self.scales, publisher)

    def advance(self, run_id: int, *, resumed: bool = False) -> Progress:
        run = self.store.get_run(run_id)
        try:
            if run.thread_ts is None:
                refused = self.log.step(run.id, "parent")
                if (refused and refused.status == "failed") or not self._post_parent(run):
                    return self._finish_without_thread(run)
                run = self.store.get_run(run_id)
            elif resumed:
                self._notice(run, "resumed", RESUMED)
            if run.kind == "compare":
                waiting, unposted = self._post_pairs(run)
            else:
                waiting, unposted = self._post_candidates(run)
            self.seeder.seed(run)
        except SlackUnavailable as error:
            logger.warning("run %s: Slack unavailable, left for the resumer: %s", run_id, error)
            return "stalled"
        if waiting:
            return "waiting"
        return self._finish(run, "failed" if unposted else "done")

    def _finish(self, run: Run, status: RunStatus) -> Progress:
        with self.store.transaction():
            self.store.set_run_status(run.id, status)
            if not run.deleted and self.config.judges(run.version.prompt_name):
                # Queued with the run's end, not when the judge hears of it after: a
                # crash in between would leave a finished run that no restart judges.
                self.store.judge.enqueue(run.id)
        return "finished"

    def crashed(self, run_id: int) -> None:
        """A bug, not Slack: the run fails, and its thread says so."""
        self.store.set_run_status(run_id, "failed")
        run = self.store.get_run(run_id)
        if run.thread_ts:
            text = "This run failed on our side; the answers stored so far are kept."
            try:
                self._notice(run, "crashed", text)
            except PublishError as error:
                logger.warning("run %s: failure notice not posted: %s", run_id, error)

    # -- the parent --------------------------------------------------------------

    def _post_parent(self, run: Run) -> bool:
        """Post the thread's parent once: False if Slack refused it for good."""
        earlier = self.log.begin(run.id, "parent")
        since = datetime.fromisoformat(run.created_at).timestamp() - 60
        try:
            ts = self.publisher.post(
                run.channel,
                self._parent_message(run),
                tag=parent_tag(run.id),
                look_first=earlier in ("posting", "done"),
                since=since,
            )
        except SlackUnavailable as error:
            self.log.put_back(run.id, "parent", str(error))
            raise
        except PublishError as error:
            self.log.fail(run.id, "parent", str(error))
            self._thread_refused(run, error)
            return False
        self.store.set_thread(run.id, run.channel, ts, self.publisher.permalink(run.channel, ts))
        self.log.finish(run.id, "parent", ts)
        return True

    def _finish_without_thread(self, run: Run) -> Progress:
        # The answers are kept; only the thread is missing. Wait for the calls in flight.
        if any(c.status == "pending" for c in self.store.candidates(run.id)):
            return "waiting"
        return self._finish(run, "failed")

    def _thread_refused(self, run: Run, error: PublishError) -> None:
        logger.error("run %s: the review thread could not be posted: %s", run.id, error)
        hint = (
            " Invite the bot to the channel, or check review_channel in app.yaml."
            if str(error) in REFUSED_CHANNEL
            else ""
        )
        text = (
            f":warning: Run #{run.id} could not start its review thread here ({error})."
            f"{hint} Its answers are kept."
        )
        self._tell_proposer(run, "tell:refused", Message(text, []))

    def refuse(self, run: Run, candidates: list[Candidate], reason: str) -> None:
        """A template refused before any model call: the run fails with no thread, and
        its proposer is told why."""
        logger.info("run %s refused: %s", run.id, reason)
        for candidate in candidates:
            self.store.record_answer(candidate.id, failed_answer(f"template refused: {reason}"))
        self.store.set_run_status(run.id, "failed")
        text = f"Run #{run.id} was not started: {reason}. No model was called."
        self._tell_proposer(run, "tell:template", Message(f":warning: {escape(text)}", []))

    def hold(self, run: Run, estimate: float, ceiling: float) -> None:
        """A run that may cost more than the ceiling waits for its proposer's answer.

        Asked first, then held: a crash in between leaves the run pending, so the next
        start estimates again (and finds the question already asked)."""
        logger.info("run %s held: estimated %.4f over the %.4f ceiling", run.id, estimate, ceiling)
        self._tell_proposer(run, "tell:held", held_run(run, estimate, ceiling))
        self.store.set_run_status(run.id, "held")

    def _tell_proposer(self, run: Run, step: str, message: Message) -> None:
        if self.log.begin(run.id, step) == "done":
            return
        url, created = self.log.response_url(run.id)
        fresh = (
            datetime.now(datetime.fromisoformat(created).tzinfo) - datetime.fromisoformat(created)
            < RESPONSE_URL_LIFETIME
        )
        try:
            self.publisher.tell(
                run.channel, run.created_by, message, response_url=url if fresh else None
            )
        except PublishError as failure:
            logger.warning("run %s: could not tell %s either: %s", run.id, run.created_by, failure)
            self.log.fail(run.id, step, str(failure))
            return
        self.log.finish(run.id, step)

    def _parent_message(self, run: Run) -> Message:
        candidates = self.store.candidates(run.id)
        if run.kind == "compare":
            ids = dict.fromkeys(
                [run.version.id] + [c.version_id or run.version.id for c in candidates]
            )
            return compare_parent(run, [self.store.get_version(i) for i in ids])
        parent_id = run.version.parent_id
        if parent_id is None or not any(c.version_id == parent_id for c in candidates):
            return thread_parent(run, self.config)
        previous = self.store.get_run(run.previous_run_id) if run.previous_run_id else None
        link = previous.permalink if previous else None
        return thread_parent(run, self.config, self.store.get_version(parent_id), link)

    # -- candidates ---------------------------------------------------------------

    def _post_candidates(self, run: Run) -> tuple[bool, int]:
        """Post in label order as answers arrive, so the thread reads A, B, C…
        Returns (still waiting for an answer, candidates Slack refused). A screened
        run's held candidates are not posted (see promptbot/prompts/screening.py)."""
        candidates = self.store.candidates(run.id)
        held = self.store.screening.held(run.id) or set()
        screened = self._screening_notice(run)
        shown = [c for c in candidates if c.id not in held]
        unposted = 0
        for candidate in candidates:
            if candidate.status == "pending":
                return True, unposted
            if candidate.id in held:
                continue
            heading = opens_input_group(run, candidate, shown)
            if not self._post_candidate(run, candidate, heading):
                unposted += 1
        if screened:
            summary = self.store.screening.summary(run.id)
            if summary is not None:  # decided: the summary follows what was posted
                data = json.loads(summary)
                self._notice(run, "screened", data["text"], data["blocks"])
        return False, unposted

    def _screening_notice(self, run: Run) -> bool:
        """A screened run's thread says so first (and, with --force, that the judge is
        not trusted); False for a run that is not screened."""
        screened = self.store.screening.get(run.id)
        if screened is None:
            return False
        text = SCREENING
        if screened.forced:
            text = f":warning: {FORCED} ({escape(screened.trust)}). " + text
        self._notice(run, "screening", text)
        return True

    def _post_candidate(self, run: Run, candidate: Candidate, heading: bool) -> bool:
        step = f"candidate:{candidate.id}"
        if candidate.status == "posted":
            return True
        failed = self.log.step(run.id, step)
        if failed is not None and failed.status == "failed":
            return False
        # A candidate already "posting" was claimed by an attempt that did not finish.
        maybe_posted = not self.store.mark_posting(candidate.id)
        assert run.thread_ts is not None
        done = self.log.posted_parts(candidate.id)
        messages = _renderable(run, candidate, heading)
        for part, message in enumerate(messages):
            if part in done:
                continue
            try:
                ts = self.publisher.post(
                    run.channel,
                    message,
                    thread_ts=run.thread_ts,
                    tag=candidate_tag(candidate.id, part),
                    look_first=maybe_posted,
                )
            except SlackUnavailable:
                raise  # still "posting": the next attempt looks before posting
            except PublishError as error:
                logger.error("run %s: candidate %s refused: %s", run.id, candidate.label, error)
                self.log.fail(run.id, step, str(error))
                if done:  # what reached the thread stays counted
                    self.store.mark_posted(candidate.id, run.channel, [])
                else:
                    self.store.revert_posting(candidate.id)
                self._notice(
                    run, step, f"Candidate {candidate.label} could not be posted ({error})."
                )
                return False
            self.log.record_part(run.id, candidate.id, run.channel, part, ts)
            done[part] = ts
        self.store.mark_posted(candidate.id, run.channel, [])
        if candidate.error is None and self.scales.seeded():
            self.log.add(run.id, f"seed:{candidate.id}")
        return True

    def _post_pairs(self, run: Run) -> tuple[bool, int]:
        """A compare thread: one message per pair, once both answers are in. Both
        candidates are claimed before the post, so a crash never posts a pair twice."""
        assert run.thread_ts is not None
        unposted = 0
        for pair in self.pairs.for_run(run.id):
            left = self.store.get_candidate(pair.left_id)
            right = self.store.get_candidate(pair.right_id)
            if "pending" in (left.status, right.status):
                return True, unposted
            if pair.ts is not None:
                continue
            step = f"pair:{pair.id}"
            failed = self.log.step(run.id, step)
            if failed is not None and failed.status == "failed":
                unposted += 1
                continue
            claimed = [self.store.mark_posting(c.id) for c in (left, right)]
            message = pair_message(run, pair.number, left, right)
            try:
                ts = self.publisher.post(
                    run.channel,
                    message,
                    thread_ts=run.thread_ts,
                    tag=candidate_tag(left.id),
                    look_first=not all(claimed),
                )
            except SlackUnavailable:
                raise
            except PublishError as error:
                logger.error("run %s: pair %s refused: %s", run.id, pair.number, error)
                self.log.fail(run.id, step, str(error))
                self.store.revert_posting(left.id)
                self.store.revert_posting(right.id)
                unposted += 1
                continue
            self.pairs.set_message(pair.id, run.channel, ts)
            self.store.mark_posted(left.id, run.channel, [ts])
            self.store.mark_posted(right.id, run.channel, [])
            self.log.add(run.id, f"seed:pair:{pair.id}")
        return False, unposted

    # -- seeded emoji and notices --------------------------------------------------------

    def _notice(self, run: Run, name: str, text: str, blocks: list[Block] | None = None) -> None:
        """A notice in the thread (``text``, or ``blocks`` when given), posted once even
        across restarts."""
        step = f"notice:{name}"
        earlier = self.log.begin(run.id, step)
        if earlier == "done" or run.thread_ts is None:
            return
        try:
            ts = self.publisher.post(
                run.channel,
                notice(text) if blocks is None else Message(text, blocks),
                thread_ts=run.thread_ts,
                tag=notice_tag(run.id, name),
                look_first=earlier == "posting",
            )
        except SlackUnavailable as error:
            self.log.put_back(run.id, step, str(error))
            raise
        except PublishError as error:
            logger.warning("run %s: notice %s not posted: %s", run.id, name, error)
            self.log.fail(run.id, step, str(error))
            return
        self.log.finish(run.id, step, ts)


def _renderable(run: Run, candidate: Candidate, heading: bool) -> list[Message]:
    """The candidate's messages, or one that says it could not be shown: an answer
    that breaks rendering fails alone, in its own slot of the thread."""
    try:
        return candidate_messages(run, candidate, heading=heading)
    except Exception:
        logger.exception("run %s: candidate %s could not be rendered", run.id, candidate.label)
        failed = replace(candidate, output=None, error="its answer could not be shown in Slack")
        return candidate_messages(run, failed, heading=heading)
