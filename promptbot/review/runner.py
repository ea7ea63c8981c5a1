"""Running proposals: the model calls fan out on each model's own pool, and the run's
Slack posts (promptbot/review/posting.py) advance as answers arrive.

No run holds a thread while its models think, so nothing but each model's
``max_concurrency`` and Slack's posting pace limits how many runs are in flight.

One process delivers a run at a time: it takes the run's lease in the database,
renews it while it works (the heartbeat) and lets it go when the run is finished. A
keeper thread renews leases, retries runs Slack held up, and takes over runs whose
holder's lease expired (or whose holder died on this host): that is also how a
restart resumes. Two bots on one database thus post one parent and call each model
once per candidate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from promptbot.config.settings import AppConfig
from promptbot.domain import Run
from promptbot.review.calls import ModelCalls
from promptbot.review.posting import Progress, RunPoster
from promptbot.review.providers import ModelFactory
from promptbot.review.publishing import Publisher
from storage import Store
from storage.base import unavailable

logger = logging.getLogger(__name__)

# Threads that post runs' steps and do other Slack work off the listener threads. A
# thread is held only while it talks to Slack, never while a model thinks.
POSTING_THREADS = 16


def process_owner() -> str:
    """Names this process in leases and digest claims: host, pid, and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_gone(owner: str) -> bool:
    """True if ``owner`` was a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class _Active:
    future: Future[None]
    resumed: bool
    busy: bool = False
    again: bool = False
    stalled_since: float | None = None
    calls: list[Future[None]] = field(default_factory=list)


class Runner:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        model_factory: ModelFactory,
        publisher: Publisher,
        *,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.publisher = publisher
        self.owner = owner or process_owner()
        self.calls = ModelCalls(store, config, model_factory)
        self.poster = RunPoster(store, config, publisher)
        self.log = store.delivery
        self._posting = ThreadPoolExecutor(POSTING_THREADS, thread_name_prefix="promptbot-run")
        self._lock = threading.Lock()
        self._active: dict[int, _Active] = {}
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        # Told each run that finishes here, after its last post (the judge starts so).
        self.when_finished: list[Callable[[int], None]] = []
        # Told (run id, candidate id) as each answer is stored, after the run is advanced
        # (a screened run's judge starts so, alongside the remaining model calls).
        self.when_answered: list[Callable[[int, int], None]] = []
        # What else a run will spend once posted (the judge's calls), for the ceiling.
        self.after_costs: list[Callable[[Run], float]] = []

    @property
    def _lease_seconds(self) -> float:
        return self.config.slack.lease_seconds

    # -- starting and resuming runs ---------------------------------------------

    def submit(self, run_id: int) -> Future[None]:
        """Deliver a recorded run; the future is done when it finishes here (at once if
        another process holds it)."""
        return self._open(run_id, resumed=False)

    def resume_unfinished(self) -> list[Future[None]]:
        """Take over every unfinished run nobody live holds: at start-up, and from the
        keeper. Nothing already posted is posted again."""
        futures = []
        for lease in self.log.unfinished():
            with self._lock:
                if lease.run_id in self._active:
                    continue
            futures.append(self._open(lease.run_id, resumed=True, holder=lease.owner))
        return futures

    def start(self) -> None:
        """Start the keeper (heartbeats and the periodic resumer)."""
        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name="promptbot-keeper", daemon=True)
            self._keeper.start()

    def _open(self, run_id: int, *, resumed: bool, holder: str | None = None) -> Future[None]:
        with self._lock:
            if run_id in self._active:
                return self._active[run_id].future
        dead = [holder] if holder and holder != self.owner and is_gone(holder) else []
        future: Future[None] = Future()
        if not self.log.take_lease(run_id, self.owner, self._lease_seconds, from_dead=dead):
            future.set_result(None)  # finished, or another live process delivers it
            return future
        run = self.store.get_run(run_id)
        active = _Active(future, resumed)
        with self._lock:
            self._active[run_id] = active
        self._posting.submit(self._start_calls, run, active)
        return future

    def _start_calls(self, run: Run, active: _Active) -> None:
        """Every prompt renders within its budget first: here, not on the caller's
        thread (Bolt's, for a proposal). A refused template ends the run before any
        model is called."""
        try:
            pending = [c for c in self.store.candidates(run.id) if c.status == "pending"]
            refusal = self.calls.template_refusal(run, pending)
            if refusal is not None:
                self.poster.refuse(run, pending, refusal)
                self._release(run.id, active)
                return
            if self._over_ceiling(run):
                self._release(run.id, active)
                return
            for candidate in pending:
                then = partial(self._answered, run.id, candidate.id)
                active.calls.append(self.calls.start(run, candidate, then))
        except Exception:
            logger.exception("run %s failed to start", run.id)
            self.poster.crashed(run.id)
            self._release(run.id, active)
            return
        self._kick(run.id)

    def _over_ceiling(self, run: Run) -> bool:
        """Hold a run that may cost more than ``limits.run_cost_ceiling`` until its
        proposer answers. Estimated here, not on the listener thread, because it
        renders every prompt; again after a restart, unless the proposer already said
        go or a model was already called."""
        ceiling = self.config.limits.run_cost_ceiling
        if ceiling is None or self.log.cost_confirmed(run.id):
            return False
        if any(c.status != "pending" for c in self.store.candidates(run.id)):
            return False
        estimate = self.calls.estimate_cost(run) + sum(cost(run) for cost in self.after_costs)
        if estimate <= ceiling:
            return False
        self.poster.hold(run, estimate, ceiling)
        return True

    def _release(self, run_id: int, active: _Active) -> None:
        with self._lock:
            self._active.pop(run_id, None)
        self.log.release_lease(run_id, self.owner)
        active.future.set_result(None)

    # -- advancing a run as answers arrive ------------------------------------------

    def _kick(self, run_id: int) -> None:
        """Advance the run on a posting thread; one advance per run at a time, and one
        more if something happened while it ran."""
        with self._lock:
            active = self._active.get(run_id)
            if active is None:
                return
            if active.busy:
                active.again = True
                return
            active.busy = True
        try:
            self._posting.submit(self._drive, run_id, active)
        except RuntimeError:  # shutting down: the next process resumes the run
            with self._lock:
                active.busy = False

    def _answered(self, run_id: int, candidate_id: int) -> None:
        self._kick(run_id)
        for listener in self.when_answered:
            try:
                listener(run_id, candidate_id)
            except Exception:
                logger.exception("run %s: a listener for stored answers failed", run_id)

    def _drive(self, run_id: int, active: _Active) -> None:
        while True:
            with self._lock:
                active.again = False
            progress: Progress
            if not self.log.renew_leases(self.owner, [run_id], self._lease_seconds):
                # Our lease expired (this process stalled) and another took the run over:
                # it delivers the run now; posting here too could double it.
                logger.warning("run %s: lease lost, leaving the run to its new holder", run_id)
                with self._lock:
                    active.busy = False
                    self._active.pop(run_id, None)
                return
            try:
                progress = self.poster.advance(run_id, resumed=active.resumed)
            except Exception as error:
                if (refused := unavailable(error)) is not None:
                    # A full disk or a long lock is not the run's fault: the resumer
                    # carries on from the last step recorded once writes succeed again.
                    logger.warning("run %s: left for the resumer: %s", run_id, refused)
                    progress = "stalled"
                else:
                    logger.exception("run %s failed", run_id)
                    self.poster.crashed(run_id)
                    progress = "finished"
            with self._lock:
                if active.again and progress != "finished":
                    continue
                active.busy = False
                active.stalled_since = time.monotonic() if progress == "stalled" else None
                if progress == "finished":
                    self._active.pop(run_id, None)
            break
        if progress == "finished":
            self.log.release_lease(run_id, self.owner)
            self._tell_finished(run_id)
            active.future.set_result(None)

    def _tell_finished(self, run_id: int) -> None:
        for listener in self.when_finished:
            try:
                listener(run_id)
            except Exception:
                logger.exception("run %s: a listener for finished runs failed", run_id)

    def _keep(self) -> None:
        settings = self.config.slack
        beat = max(0.05, settings.lease_seconds / 3)
        last_resume = time.monotonic()
        while not self._stop.wait(beat):
            try:
                with self._lock:
                    held = list(self._active)
                lost = set(held) - set(
                    self.log.renew_leases(self.owner, held, settings.lease_seconds)
                )
                for run_id in lost:
                    logger.warning("run %s: lease lost to another process", run_id)
                    with self._lock:
                        self._active.pop(run_id, None)
                if time.monotonic() - last_resume >= settings.resume_every_seconds:
                    last_resume = time.monotonic()
                    with self._lock:
                        stalled = [r for r, a in self._active.items() if a.stalled_since]
                    for run_id in stalled:
                        self._kick(run_id)
                    self.resume_unfinished()
            except RuntimeError:  # the pools are shut down: this runner is done
                return
            except Exception:
                logger.exception("the run keeper's round failed; trying again")

    # -- the rest ----------------------------------------------------------------

    def background(self, task: Callable[[], None], what: str) -> Future[None]:
        """Slack work that must not hold up an ack (reveals, previews)."""

        def logged() -> None:
            try:
                task()
            except Exception:
                logger.exception("%s failed", what)

        return self._posting.submit(logged)

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        self.calls.shutdown(wait)
        self._posting.shutdown(wait=wait, cancel_futures=not wait)
        with self._lock:
            held = list(self._active)
            self._active.clear()
        for run_id in held:  # let a successor take these over at once
            with contextlib.suppress(Exception):
                self.log.release_lease(run_id, self.owner)
