"""Pre-screening (`/prompt rerun NAME --set SET --screen`): the whole set runs, the checks
and the judge score every answer, and only the answers that need a human are posted.

The run is recorded as screened; posting holds all its candidates (the thread says
why), and the judge scores each answer as it is stored (``answer_stored``). When the
run has finished and the judge is done with it, the selection
(:mod:`promptbot.verdicts.screening`) decides, the decision and a summary are stored
in one transaction that also sends the run back to be posted, and the runner posts the
chosen answers and the summary, resumably like any run. A held answer is posted when
someone asks (the summary's button and menus). Judge verdicts are never votes: held
answers have no human ratings, so they stay out of the rankings.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime

from promptbot.checks import overall
from promptbot.config.settings import AppConfig
from promptbot.errors import NotFound, PermissionDenied, UsageError
from promptbot.judge.scoring import Judge
from promptbot.judge.trust import judge_trust
from promptbot.render.screening import HeldAnswer, summary_message
from promptbot.review.reveal import may_manage
from promptbot.review.runner import Runner
from promptbot.review.scales import RatingScales
from promptbot.verdicts.calibration import Calibration, approval_range, judge_label, team_label
from promptbot.verdicts.screening import (
    REASONS,
    ScreenedCandidate,
    Screening,
    audit_draw,
    screen,
)
from storage import Store
from storage.evidence import load_evidence

logger = logging.getLogger(__name__)

# How long a finished screened run waits for the judge before deciding without it
# (answers the judge never scored are then posted, as "no judge verdict").
JUDGE_WAIT_SECONDS = 600.0
_POLL_SECONDS = 0.2


def describe_trust(calibration: Calibration) -> str:
    if calibration.kappa is None or calibration.low is None or calibration.high is None:
        return f"no calibration yet ({calibration.candidates} candidates with enough votes)"
    return (
        f"κ {calibration.kappa:.2f} [{calibration.low:.2f}, {calibration.high:.2f}] over"
        f" {calibration.candidates} candidates; trusted from {calibration.trust_kappa:.2f}"
    )


def check_may_screen(store: Store, config: AppConfig, prompt: str, *, force: bool) -> str:
    """The judge's trust for ``prompt`` in words, or UsageError when screening is not
    allowed: no judge, or an untrusted one without ``--force``."""
    if not config.judges(prompt):
        raise UsageError(f"--screen needs a judge, and none scores {prompt} (judge: in app.yaml)")
    calibration = judge_trust(store, config, prompt)
    trust = describe_trust(calibration)
    if not calibration.trusted and not force:
        raise UsageError(
            f"--screen needs a judge the team trusts for {prompt}, and it is not yet ({trust});"
            " --screen --force runs it anyway, with a warning in the thread"
        )
    return trust


class ScreeningService:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        runner: Runner,
        judge: Judge | None = None,
        judge_wait: float = JUDGE_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.config = config
        self.runner = runner
        self.judge = judge
        self.judge_wait = judge_wait
        self._waiting: set[int] = set()
        self._lock = threading.Lock()

    # -- when to decide ----------------------------------------------------------------

    def answer_stored(self, run_id: int, candidate_id: int) -> None:
        """An answer of a screened run, still undecided, goes to the judge at once: the
        run posts nothing before the judge is done, so waiting for the run to finish
        would only add the judge's time to the model calls' instead of overlapping it."""
        if self.judge is None:
            return
        screened = self.store.screening.get(run_id)
        if screened is not None and not screened.decided:
            self.judge.judge_answer(run_id, candidate_id)

    def run_finished(self, run_id: int) -> None:
        """A run finished posting: a screened one still undecided waits for the judge."""
        screened = self.store.screening.get(run_id)
        if screened is None or screened.decided:
            return
        with self._lock:
            if run_id in self._waiting:
                return
            self._waiting.add(run_id)
        self.runner.background(lambda: self._decide_when_judged(run_id), f"screening {run_id}")

    def resume(self) -> None:
        """At start-up: screened runs that finished but were not decided."""
        for run_id in self.store.screening.undecided():
            if self.store.get_run(run_id).status in ("done", "failed"):
                self.run_finished(run_id)

    def judge_done(self, run_id: int) -> bool:
        answered = [c.id for c in self.store.candidates(run_id) if c.output is not None]
        if self.store.judge.is_queued(run_id):
            return False
        scored = set(self.store.judge.verdicts(answered)) | set(self.store.judge.failures(answered))
        return scored >= set(answered)

    def _decide_when_judged(self, run_id: int) -> None:
        try:
            deadline = time.monotonic() + self.judge_wait
            while True:
                if self.runner.calls.stopping:
                    return  # shutting down: the next start resumes the wait
                if self.judge_done(run_id) or time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_SECONDS)
            self.decide(run_id)
        finally:
            with self._lock:
                self._waiting.discard(run_id)

    # -- deciding ----------------------------------------------------------------------

    def decide(self, run_id: int) -> Screening | None:
        """Select, store the decision and summary, and post; None if already decided
        (or if this process is stopping: the judge's verdicts it cut short would be
        missing, so the next start decides)."""
        if self.runner.calls.stopping:
            return None
        run = self.store.get_run(run_id)
        candidates = [c for c in self.store.candidates(run_id) if c.output is not None]
        ids = [c.id for c in candidates]
        verdicts = self.store.judge.verdicts(ids)
        checks = {cid: overall(rs) for cid, rs in self.store.checks.results(ids).items()}
        inconsistent = {
            cid
            for pair in self.store.judge.pairs(run_id)
            if not pair.consistent
            for cid in (pair.first_id, pair.second_id)
        }
        try:
            champion = self._champion_approvals(run.version.prompt_name, run.version.number)
        except Exception:  # the statistics must not stall a screening: decide without
            logger.exception("run %s: the champion's answers could not be read", run_id)
            champion = {}
        pool = [
            ScreenedCandidate(
                c.id,
                verdicts[c.id].approval if c.id in verdicts else None,
                checks.get(c.id),
                c.id not in inconsistent,
                champion.get(_answer_key(c.variables, c.model_name)),
            )
            for c in candidates
        ]
        result = screen(pool, audit_share=self.config.judge.audit_share, rng=audit_draw(run_id))
        # Answers with no output (a failed call) are posted as they are: they say so.
        failed = [c.id for c in self.store.candidates(run_id) if c.output is None]
        posted: dict[int, list[str]] = {cid: list(why) for cid, why in result.posted.items()}
        posted |= {cid: ["no answer"] for cid in failed}
        by_id = {c.id: c for c in candidates}
        held = [
            HeldAnswer(
                cid,
                by_id[cid].label,
                by_id[cid].input_index,
                judge_label(verdicts[cid].approval) if cid in verdicts else "no verdict",
                checks.get(cid),
            )
            for cid in result.held
        ]
        checked = [v for v in checks.values() if v is not None]
        message = summary_message(
            run_id,
            total=len(pool) + len(failed),
            posted_reasons=[(reason, result.count(reason)) for reason in REASONS],
            posted=len(result.posted) + len(failed),
            held=held,
            checks_share=sum(checked) / len(checked) if checked else None,
        )
        summary = json.dumps(asdict(message))
        if not self.store.screening.decide(run_id, posted, result.held, summary):
            return None
        self.runner.submit(run_id)
        return result

    def _champion_approvals(self, prompt: str, number: int) -> dict[str, float]:
        """What is known of the champion version's answers, by input and model: the
        team's verdict (1.0 approved, 0.0 not) where ``judge.min_human_votes`` of its
        approval ratings give a majority, the judge's approval elsewhere. Empty when the
        prompt has no champion or the run is of the champion itself."""
        from promptbot.digest.assembly import build_digest  # the statistics load lazily

        # A champion is chosen from its own prompt's evidence alone: read only that.
        now = datetime.now(UTC)
        scales = RatingScales(self.config.scales)
        evidence = load_evidence(self.store, scales, now, prompt=prompt)
        digest = build_digest(
            evidence, start=datetime(2000, 1, 1, tzinfo=UTC), end=now, settings=self.config.digest
        )
        report = next((c for c in digest.champions if c.prompt == prompt), None)
        if report is None or report.champion is None or report.champion == number:
            return {}
        version = self.store.version(prompt, report.champion)
        answers = self.store.answers_of_version(version.id)
        team: dict[int, list[float]] = {}
        for rating in self.store.ratings_of(c.id for c in answers):
            if rating.scale == "approval":
                team.setdefault(rating.candidate_id, []).append(rating.score)
        verdicts = self.store.judge.verdicts(c.id for c in answers)
        known: dict[str, float] = {}
        # Later runs overwrite earlier ones: the champion's latest answer counts.
        for c in answers:
            said = self._team_says(team.get(c.id, []))
            if said is None and c.id in verdicts:
                said = verdicts[c.id].approval
            if said is not None:
                known[_answer_key(c.variables, c.model_name)] = said
        return known

    def _team_says(self, scores: list[float]) -> float | None:
        """The team's majority on an answer's approval as 1.0 or 0.0; None below
        ``judge.min_human_votes`` ratings or on an even split (the judge's then counts)."""
        if len(scores) < self.config.judge.min_human_votes:
            return None
        majority = team_label(scores, *approval_range(self.config))
        return None if majority is None else float(majority == "yes")

    # -- posting held answers on request -------------------------------------------------

    def check_may_release(self, run_id: int, user: str) -> set[int]:
        """The run's held answers, if ``user`` may post them: whoever may reveal or
        close the run (its proposer or an admin), since posting a held answer changes
        what the team votes on, as revealing changes what it sees."""
        held = self.store.screening.held(run_id)
        if held is None:
            raise UsageError(f"run #{run_id} is not a screened run")
        run = self.store.get_run(run_id)
        if run.deleted:
            raise NotFound(f"run #{run_id} was deleted")
        if not may_manage(run, user, self.config):
            raise PermissionDenied(
                f"only the proposer of run #{run_id} or an admin can post its held answers"
            )
        return held

    def release(self, run_id: int, candidate_ids: list[int] | None, user: str) -> int:
        """Post held answers (None: all of them); returns how many were released."""
        held = self.check_may_release(run_id, user)
        wanted = held if candidate_ids is None else held & set(candidate_ids)
        released = self.store.screening.release(run_id, sorted(wanted), f"asked for by {user}")
        if released:
            # A run still posting may already be past them: once it is done, again.
            self.runner.submit(run_id).add_done_callback(lambda _: self._post_released(run_id))
        return len(released)

    def release_labels(self, run_id: int, labels: list[str] | None, user: str) -> int:
        """Post held answers named by their labels (None: all); an unknown label, or one
        not held, is named in the refusal and nothing is posted."""
        if labels is None:
            return self.release(run_id, None, user)
        held = self.check_may_release(run_id, user)
        by_label = {c.label.upper(): c.id for c in self.store.candidates(run_id)}
        unknown = [label for label in labels if by_label.get(label.upper()) not in held]
        if unknown:
            raise UsageError(
                f"run #{run_id} holds no answer {', '.join(label[:10] for label in unknown[:5])}"
            )
        return self.release(run_id, [by_label[label.upper()] for label in labels], user)

    def _post_released(self, run_id: int) -> None:
        held = self.store.screening.held(run_id) or set()
        waiting = [
            c for c in self.store.candidates(run_id) if c.id not in held and c.status == "answered"
        ]
        if waiting and self.store.screening.reopen(run_id):
            self.runner.submit(run_id)


def _answer_key(variables: dict[str, object], model: str) -> str:
    return json.dumps([variables, model], sort_keys=True)
