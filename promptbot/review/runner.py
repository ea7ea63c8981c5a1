"""Running a proposal: fan the model calls out concurrently, then post each blind
candidate into the review thread, exactly once.

Model work never runs on Bolt's listener threads (there are only 5). Each model
has its own small pool, sized by its ``max_concurrency``, so one slow model cannot
starve another; a separate pool coordinates runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Completion, Run
from promptbot.errors import PromptbotError, PublishError
from promptbot.render.messages import (
    Message,
    candidate_messages,
    compare_parent,
    notice,
    opens_input_group,
    pair_message,
    thread_parent,
)
from promptbot.review.cleaning import clean_completion
from promptbot.review.costs import cache_key, call_cost, estimated_cost
from promptbot.review.providers import ChatModel, Messages, ModelFactory, build_messages
from promptbot.review.sandbox import parse_template
from promptbot.review.scales import RatingScales
from storage import Store
from storage.pairs import PAIR_EMOJI

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where runs are posted. The Slack implementation lives in handlers/."""

    def post_parent(self, channel: str, message: Message) -> tuple[str, str | None]:
        """Post the thread's parent; return its ts and a permalink."""
        ...

    def post_reply(
        self, channel: str, thread_ts: str, message: Message, candidate_id: int | None = None
    ) -> str: ...

    def add_reactions(self, channel: str, ts: str, names: list[str]) -> None: ...

    def update_message(self, channel: str, ts: str, message: Message) -> None: ...

    def tell(self, channel: str, user: str, text: str) -> None:
        """A message only ``user`` sees, for problems with their own request."""
        ...

    def find_candidate_posts(self, channel: str, thread_ts: str, candidate_id: int) -> list[str]:
        """The ts of replies already posted for a candidate (found by message metadata)."""
        ...


class Runner:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        model_factory: ModelFactory,
        publisher: Publisher,
        *,
        run_workers: int = 4,
    ) -> None:
        self.store = store
        self.config = config
        self.publisher = publisher
        self._cache = store.answer_cache
        self._pairs = store.pairs
        # Cheap to build: each model opens its HTTP client with its first call.
        self._models: dict[str, ChatModel] = {m.name: model_factory(m) for m in config.models}
        self._pools = {
            m.name: ThreadPoolExecutor(m.max_concurrency, thread_name_prefix=f"model-{m.name}")
            for m in config.models
        }
        self._runs = ThreadPoolExecutor(run_workers, thread_name_prefix="promptbot-run")
        # Seeding emoji is off the posting path, so the next candidate is not kept waiting.
        self._seeding = ThreadPoolExecutor(2, thread_name_prefix="promptbot-seed")

    def submit(self, run_id: int) -> Future[None]:
        return self._runs.submit(self._execute_logged, run_id)

    def background(self, task: Callable[[], None], what: str) -> Future[None]:
        """Slack work that must not hold up an ack (reveals, previews)."""

        def logged() -> None:
            try:
                task()
            except Exception:
                logger.exception("%s failed", what)

        return self._runs.submit(logged)

    def shutdown(self, wait: bool = True) -> None:
        self._runs.shutdown(wait=wait, cancel_futures=not wait)
        self._seeding.shutdown(wait=wait, cancel_futures=not wait)
        for pool in self._pools.values():
            pool.shutdown(wait=wait, cancel_futures=not wait)

    def resume_unfinished(self) -> list[Future[None]]:
        """After a restart: settle candidates caught mid-post, tell each thread, and
        carry on. Nothing already posted is posted again."""
        futures = []
        for run in self.store.unfinished_runs():
            for candidate in self.store.candidates(run.id):
                if candidate.status == "posting":
                    self._settle_interrupted_post(run, candidate)
            if run.thread_ts:
                self._notice(
                    run, "promptbot restarted while this run was in progress; resuming it."
                )
            futures.append(self.submit(run.id))
        return futures

    # -- the run itself ---------------------------------------------------------

    def _execute_logged(self, run_id: int) -> None:
        try:
            self.execute(run_id)
        except Exception:
            logger.exception("run %s failed", run_id)
            self.store.set_run_status(run_id, "failed")
            run = self.store.get_run(run_id)
            if run.thread_ts:
                self._notice(
                    run, "This run failed on our side; the answers stored so far are kept."
                )

    def execute(self, run_id: int) -> None:
        run = self.store.get_run(run_id)
        candidates = self.store.candidates(run.id)
        # Calls start before the parent is posted: the run's wall time is the slowest call.
        calls = {c.id: self._start_call(run, c) for c in candidates if c.status == "pending"}
        if run.thread_ts is None:
            try:
                ts, permalink = self.publisher.post_parent(run.channel, self._parent_message(run))
            except PublishError as error:
                self._thread_refused(run, error)
                for call in calls.values():
                    call.result()  # the answers are kept; only the thread is missing
                self.store.set_run_status(run.id, "failed")
                return
            self.store.set_thread(run.id, run.channel, ts, permalink)
            run = self.store.get_run(run_id)
        if run.kind == "compare":
            unposted = self._post_pairs(run, calls)
            self.store.set_run_status(run.id, "failed" if unposted else "done")
            return
        unposted = 0
        # Post in label order as answers arrive, so the thread reads A, B, C…
        for candidate in candidates:
            if candidate.id in calls:
                _wait_logged(calls[candidate.id], candidate)
            heading = opens_input_group(run, candidate, candidates)
            if not self._post_candidate(run, self.store.get_candidate(candidate.id), heading):
                unposted += 1
        self.store.set_run_status(run.id, "failed" if unposted else "done")

    def _thread_refused(self, run: Run, error: PublishError) -> None:
        logger.error("run %s: the review thread could not be posted: %s", run.id, error)
        hint = (
            " Invite the bot to the channel, or check review_channel in app.yaml."
            if str(error) in ("channel_not_found", "not_in_channel", "is_archived")
            else ""
        )
        try:
            self.publisher.tell(
                run.channel,
                run.created_by,
                f":warning: Run #{run.id} could not start its review thread here ({error})." + hint,
            )
        except PublishError:
            logger.warning("run %s: could not tell %s either", run.id, run.created_by)

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

    def _start_call(self, run: Run, candidate: Candidate) -> Future[None]:
        pool = self._pools.get(candidate.model_name)
        if pool is None:
            self.store.record_answer(
                candidate.id, _error(f"model '{candidate.model_name}' is no longer configured")
            )
            done: Future[None] = Future()
            done.set_result(None)
            return done
        return pool.submit(self._call, run, candidate)

    def messages_for(self, run: Run, candidate: Candidate) -> Messages:
        version = run.version
        if candidate.version_id is not None and candidate.version_id != version.id:
            version = self.store.get_version(candidate.version_id)
        template = parse_template(version.template, max_bytes=self.config.limits.template_max_bytes)
        return build_messages(template.render(candidate.variables), version.system_prompt)

    def cached_answer(self, run: Run, candidate: Candidate) -> tuple[str | None, Completion | None]:
        """(cache key, stored answer): the key is None when this call may not use the cache."""
        config = self.config.model(candidate.model_name)
        if not config.caches():
            return None, None
        model = self._models[candidate.model_name]
        key = cache_key(config, model.endpoint, self.messages_for(run, candidate))
        return key, None if run.fresh else self._cache.get(key)

    def estimate_cost(self, run: Run) -> float:
        """The most a run may cost: cache hits are free, other calls are priced at their
        prompt plus a full max_tokens answer."""
        total = 0.0
        for candidate in self.store.candidates(run.id):
            if candidate.model_name not in self._models:
                continue
            _, hit = self.cached_answer(run, candidate)
            if hit is None:
                config = self.config.model(candidate.model_name)
                total += estimated_cost(config, self.messages_for(run, candidate))
        return total

    def _call(self, run: Run, candidate: Candidate) -> None:
        try:
            key, result = self.cached_answer(run, candidate)
            if result is None:
                config = self.config.model(candidate.model_name)
                model = self._models[candidate.model_name]
                result = clean_completion(model.complete(self.messages_for(run, candidate)))
                result = replace(
                    result, cost=call_cost(config, result.tokens_in, result.tokens_out)
                )
                if key is not None:
                    self._cache.put(key, config.model, result)
            else:
                result = replace(result, cost=0.0)  # a cache hit is free
        except PromptbotError as error:
            result = _error(str(error))
        except Exception:
            logger.exception("candidate %s: model call crashed", candidate.id)
            result = _error("the model call failed unexpectedly")
        try:
            # Cleaned again here: a cache filled before cleaning existed may hold anything.
            self.store.record_answer(candidate.id, clean_completion(result))
        except Exception:
            # This candidate alone fails; the run's other answers still post.
            logger.exception("candidate %s: the answer could not be stored", candidate.id)
            self.store.record_answer(candidate.id, _error("the answer could not be stored"))

    def _post_candidate(self, run: Run, candidate: Candidate, heading: bool = False) -> bool:
        if candidate.status == "posted":
            return True
        if not self.store.mark_posting(candidate.id):
            return self.store.get_candidate(candidate.id).status == "posted"
        assert run.thread_ts is not None
        posted: list[str] = []
        try:
            for message in _renderable(run, candidate, heading):
                posted.append(
                    self.publisher.post_reply(run.channel, run.thread_ts, message, candidate.id)
                )
        except PublishError as error:
            logger.error("run %s: candidate %s not posted: %s", run.id, candidate.label, error)
            if posted:
                self.store.mark_posted(candidate.id, run.channel, posted)
            else:
                self.store.revert_posting(candidate.id)
            return False
        self.store.mark_posted(candidate.id, run.channel, posted)
        if candidate.error is None and RatingScales(self.config.scales).seeded():
            self._seeding.submit(self._seed, run, posted[-1])
        return True

    def _post_pairs(self, run: Run, calls: dict[int, Future[None]]) -> int:
        """A compare thread: one message per pair, once both answers are in. Both
        candidates are claimed before the post, so a crash never posts a pair twice."""
        assert run.thread_ts is not None
        unposted = 0
        for pair in self._pairs.for_run(run.id):
            for candidate_id in (pair.left_id, pair.right_id):
                if candidate_id in calls:
                    calls[candidate_id].result()
            left = self.store.get_candidate(pair.left_id)
            right = self.store.get_candidate(pair.right_id)
            if pair.ts is not None or left.status == "posted":
                continue
            if not (self.store.mark_posting(left.id) and self.store.mark_posting(right.id)):
                unposted += 1
                continue
            message = pair_message(run, pair.number, left, right)
            try:
                ts = self.publisher.post_reply(run.channel, run.thread_ts, message, left.id)
            except PublishError as error:
                logger.error("run %s: pair %s not posted: %s", run.id, pair.number, error)
                self.store.revert_posting(left.id)
                self.store.revert_posting(right.id)
                unposted += 1
                continue
            self._pairs.set_message(pair.id, run.channel, ts)
            self.store.mark_posted(left.id, run.channel, [ts])
            self.store.mark_posted(right.id, run.channel, [])
            self._seeding.submit(self._seed, run, ts, list(PAIR_EMOJI))
        return unposted

    def _seed(self, run: Run, ts: str, emoji: list[str] | None = None) -> None:
        try:
            self.publisher.add_reactions(
                run.channel, ts, emoji or RatingScales(self.config.scales).seeded()
            )
        except PublishError as error:
            # The candidate is posted; people can still add the emoji themselves.
            logger.warning("run %s: seeding emoji failed: %s", run.id, error)

    def _settle_interrupted_post(self, run: Run, candidate: Candidate) -> None:
        if run.thread_ts is None:
            return
        pair = next(
            (p for p in self._pairs.for_run(run.id) if candidate.id in (p.left_id, p.right_id)),
            None,
        )
        # A pair's message carries its left candidate's id, and settles both sides.
        tagged = pair.left_id if pair is not None else candidate.id
        together = [pair.left_id, pair.right_id] if pair is not None else [candidate.id]
        try:
            found = self.publisher.find_candidate_posts(run.channel, run.thread_ts, tagged)
        except PublishError as error:
            for candidate_id in together:
                self.store.mark_lost(candidate_id, f"may not have been posted ({error})")
            return
        if found and pair is not None:
            self._pairs.set_message(pair.id, run.channel, found[0])
        for candidate_id in together:
            if found:
                self.store.mark_posted(
                    candidate_id, run.channel, found if candidate_id == tagged else []
                )
            else:
                self.store.revert_posting(candidate_id)

    def _notice(self, run: Run, text: str) -> None:
        if run.thread_ts is None:
            return
        try:
            self.publisher.post_reply(run.channel, run.thread_ts, notice(text))
        except PublishError as error:
            logger.warning("run %s: notice not posted: %s", run.id, error)


def _wait_logged(call: Future[None], candidate: Candidate) -> None:
    try:
        call.result()
    except Exception:
        # Left unanswered, the candidate is counted unposted; the others go on.
        logger.exception("candidate %s: recording its answer failed", candidate.id)


def _renderable(run: Run, candidate: Candidate, heading: bool) -> list[Message]:
    """The candidate's messages, or one that says it could not be shown: an answer
    that breaks rendering fails alone, in its own slot of the thread."""
    try:
        return candidate_messages(run, candidate, heading=heading)
    except Exception:
        logger.exception("run %s: candidate %s could not be rendered", run.id, candidate.label)
        failed = replace(candidate, output=None, error="its answer could not be shown in Slack")
        return candidate_messages(run, failed, heading=heading)


def _error(message: str) -> Completion:
    return Completion(None, message, None, None, 0, None)
