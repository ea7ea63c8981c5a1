"""The model calls of runs: one pool per model, sized by its ``max_concurrency``, so one
slow model cannot starve another, and nothing else limits how many runs are in flight.

Model work never runs on Bolt's listener threads (there are only 5). A call's answer
(or its error) is stored before anyone is told it is done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Completion, Run
from promptbot.errors import PromptbotError, StorageUnavailable, TemplateError
from promptbot.review.checking import AnswerChecks
from promptbot.review.cleaning import clean_completion
from promptbot.review.costs import cache_key, call_cost, estimated_cost
from promptbot.review.providers import ChatModel, Messages, ModelFactory, build_messages
from promptbot.review.render_budget import RenderBudget
from promptbot.review.sandbox import parse_template
from storage import Store

logger = logging.getLogger(__name__)

STORE_RETRY_FIRST_SECONDS = 0.2
STORE_RETRY_MAX_SECONDS = 10.0


def failed(message: str) -> Completion:
    return Completion(None, message, None, None, 0, None)


class ModelCalls:
    def __init__(self, store: Store, config: AppConfig, model_factory: ModelFactory) -> None:
        self.store = store
        self.config = config
        self._cache = store.answer_cache
        self.checks = AnswerChecks(store, config)
        # Cheap to build: each model opens its HTTP client with its first call.
        self._models: dict[str, ChatModel] = {m.name: model_factory(m) for m in config.models}
        self._pools = {
            m.name: ThreadPoolExecutor(m.max_concurrency, thread_name_prefix=f"model-{m.name}")
            for m in config.models
        }
        self._stopping = threading.Event()
        # Templates render in worker processes within config.limits' budget.
        self.templates = RenderBudget(
            config.limits.template_render_seconds, config.limits.template_output_max_bytes
        )

    def start(self, run: Run, candidate: Candidate, then: Callable[[], None]) -> Future[None]:
        """Call the model for ``candidate`` on its pool; ``then`` runs once the answer
        is stored."""
        pool = self._pools.get(candidate.model_name)
        if pool is None:
            message = f"model '{candidate.model_name}' is no longer configured"
            self.store.record_answer(candidate.id, failed(message))
            then()
            done: Future[None] = Future()
            done.set_result(None)
            return done

        def call_then() -> None:
            try:
                self._call(run, candidate)
            finally:
                then()

        return pool.submit(call_then)

    def shutdown(self, wait: bool) -> None:
        self._stopping.set()
        for pool in self._pools.values():
            pool.shutdown(wait=wait, cancel_futures=not wait)
        self.templates.close()

    def messages_for(self, run: Run, candidate: Candidate) -> Messages:
        version = run.version
        if candidate.version_id is not None and candidate.version_id != version.id:
            version = self.store.get_version(candidate.version_id)
        template = parse_template(version.template, max_bytes=self.config.limits.template_max_bytes)
        template.check(candidate.variables)
        text = self.templates.render(version.template, candidate.variables)
        return build_messages(text, version.system_prompt)

    def template_refusal(self, run: Run, candidates: list[Candidate]) -> str | None:
        """Every prompt these calls will send, rendered within budget before any of
        them is made; the first refusal, if any."""
        for candidate in candidates:
            if candidate.model_name not in self._models:
                continue
            try:
                self.messages_for(run, candidate)
            except TemplateError as error:
                return str(error)
        return None

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

    def complete(self, model_name: str, messages: Messages, *, fresh: bool = False) -> Completion:
        """One call to a configured model, the path every call takes (candidates and the
        judge alike): answered from the cache when the model caches (unless ``fresh``),
        else called and priced, and kept in the cache."""
        config = self.config.model(model_name)
        model = self._models[model_name]
        key = cache_key(config, model.endpoint, messages) if config.caches() else None
        hit = None if key is None or fresh else self._cache.get(key)
        if hit is not None:
            return replace(hit, cost=0.0)  # a cache hit is free
        result = clean_completion(model.complete(messages))
        result = replace(result, cost=call_cost(config, result.tokens_in, result.tokens_out))
        if key is not None:
            self._keep_in_cache(key, config.model, result)
        return result

    @property
    def stopping(self) -> bool:
        """Shutting down: a call that fails now failed because of it."""
        return self._stopping.is_set()

    def submit(self, model_name: str, task: Callable[[], None]) -> Future[None]:
        """Run ``task`` on ``model_name``'s pool, within its ``max_concurrency``."""
        return self._pools[model_name].submit(task)

    def _store_answer(self, run: Run, candidate: Candidate, result: Completion) -> None:
        """Record the answer and its checks' results together, waiting out a database
        that cannot take writes (a full disk, a long lock): the answer is in hand, so it
        is kept rather than asked for again. Stopping first leaves the candidate pending
        for the next start."""
        delay = STORE_RETRY_FIRST_SECONDS
        while True:
            try:
                with self.store.transaction():
                    self.store.record_answer(candidate.id, result)
                    self.checks.record(run, candidate.id)
                return
            except StorageUnavailable as error:
                logger.warning("candidate %s: answer not stored yet: %s", candidate.id, error)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, STORE_RETRY_MAX_SECONDS)

    def _keep_in_cache(self, key: str, model_id: str, result: Completion) -> None:
        try:
            self._cache.put(key, model_id, result)
        except StorageUnavailable as error:
            logger.warning("an answer was not cached: %s", error.reason)

    def _call(self, run: Run, candidate: Candidate) -> None:
        try:
            messages = self.messages_for(run, candidate)
            result = self.complete(candidate.model_name, messages, fresh=run.fresh)
        except PromptbotError as error:
            result = failed(str(error))
        except Exception:
            logger.exception("candidate %s: model call crashed", candidate.id)
            result = failed("the model call failed unexpectedly")
        try:
            # Cleaned again here: a cache filled before cleaning existed may hold anything.
            self._store_answer(run, candidate, clean_completion(result))
        except Exception:
            # This candidate alone fails; the run's other answers still post.
            logger.exception("candidate %s: the answer could not be stored", candidate.id)
            self.store.record_answer(candidate.id, failed("the answer could not be stored"))
