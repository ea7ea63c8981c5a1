"""The review loop's use cases, free of Slack: propose, rate, comment, list.

Handlers call these with plain values and render what comes back.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from promptbot.checks import parse_checks
from promptbot.config.settings import AppConfig
from promptbot.domain import (
    PAIR_EMOJI,
    PlannedCandidate,
    Run,
    RunSummary,
    blind_label,
    check_name,
    check_set_name,
)
from promptbot.errors import (
    FieldErrors,
    NotRecordedYet,
    PermissionDenied,
    TemplateError,
    UsageError,
)
from promptbot.review.comments import ThreadComments
from promptbot.review.reveal import AUTOMATIC, Revealer, may_manage
from promptbot.review.runner import Runner
from promptbot.review.sandbox import parse_template
from promptbot.review.scales import RatingScales, canonical_name
from storage import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    name: str
    template: str
    author: str
    channel: str
    system_prompt: str | None = None
    models: list[str] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    save_inputs_as: str | None = None  # a test set name, from the form
    checks: str = ""  # checks on every answer, one `type: value` a line (the form)
    # The command's response_url: reaches the proposer for 30 minutes even where the
    # bot may not post, should Slack refuse the review thread.
    response_url: str | None = None


ReactionResult = Literal["ignored", "duplicate", "stale", "applied"]


class ReviewService:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        runner: Runner,
        revealer: Revealer,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.runner = runner
        self.revealer = revealer
        self._pairs = store.pairs
        self.scales = RatingScales(config.scales)
        self.comments = ThreadComments(store)
        self.rng = rng or random.SystemRandom()

    # -- proposing ------------------------------------------------------------

    def validate(self, proposal: Proposal) -> tuple[list[str], list[dict[str, Any]]]:
        """Check everything a proposal needs before any work is accepted.

        Raises FieldErrors keyed by the modal's block ids, so the same checks serve
        the modal (errors on the field) and the command (one line)."""
        errors: dict[str, str] = {}
        try:
            check_name(proposal.name)
        except UsageError as error:
            errors["name"] = str(error)
        models = proposal.models or self.config.proposal_models()
        known = {m.name for m in self.config.models}
        if not models:
            errors["models"] = "no models are configured in app.yaml"
        elif unknown := [m for m in models if m not in known]:
            errors["models"] = (
                f"unknown model: {', '.join(unknown)} (configured: {', '.join(sorted(known))})"
            )
        inputs = proposal.inputs or [{}]
        try:
            template = parse_template(
                proposal.template, max_bytes=self.config.limits.template_max_bytes
            )
        except TemplateError as error:
            errors["template"] = str(error)
        else:
            for index, values in enumerate(inputs, start=1):
                try:
                    # Only what needs no rendering: rendering runs within its budget
                    # off this (listener) thread, before any model call (Runner).
                    template.check(values)
                except TemplateError as error:
                    where = f"input set {index}: " if len(inputs) > 1 else ""
                    errors["variables" if proposal.inputs or template.variables else "template"] = (
                        where + str(error)
                    )
                    break
        try:
            parse_checks(proposal.checks)
        except UsageError as error:
            errors["checks"] = str(error)
        if proposal.save_inputs_as is not None:
            try:
                check_set_name(proposal.save_inputs_as)
            except UsageError as error:
                errors["test_set"] = str(error)
            if not proposal.inputs:
                errors["test_set"] = "add variable values above to save them as a test set"
        if errors:
            raise FieldErrors(errors)
        return models, inputs

    def save_checks(self, version_id: int, proposal: Proposal) -> None:
        """The form's checks, kept with the version they were written for."""
        checks = [check.text for check in parse_checks(proposal.checks)]
        if checks:
            self.store.checks.set_version_checks(version_id, checks)

    def save_inputs(self, proposal: Proposal) -> None:
        if proposal.save_inputs_as:
            rows = [{k: str(v) for k, v in values.items()} for values in proposal.inputs]
            self.store.test_sets.save(proposal.name, proposal.save_inputs_as, rows, proposal.author)

    def plan(
        self,
        models: list[str],
        inputs: list[dict[str, Any]],
        versions: Sequence[int | None] = (None,),
    ) -> list[PlannedCandidate]:
        """Every version × model for each input set, shuffled within the input, then
        labelled A, B, C… in that order, so a label says nothing about who wrote it.
        Inputs stay in order, so the thread groups candidates under their input."""
        planned: list[PlannedCandidate] = []
        for index, values in enumerate(inputs):
            group = [(v, m) for v in versions for m in models]
            self.rng.shuffle(group)
            for version_id, model in group:
                slot = len(planned)
                planned.append(
                    PlannedCandidate(
                        label=blind_label(slot),
                        slot=slot,
                        model_name=model,
                        model_id=self.config.model(model).model,
                        input_index=index,
                        variables=values,
                        version_id=version_id,
                    )
                )
        return planned

    def propose(self, proposal: Proposal) -> Run:
        models, inputs = self.validate(proposal)

        def record() -> Run:
            run = self.store.create_run(
                prompt_name=proposal.name,
                template=proposal.template,
                system_prompt=proposal.system_prompt or None,
                author=proposal.author,
                channel=self.config.review_channel or proposal.channel,
                models=models,
                inputs=inputs,
                candidates=self.plan(models, inputs),
            )
            self.save_checks(run.version.id, proposal)
            self.save_inputs(proposal)
            if proposal.response_url:
                self.store.delivery.set_response_url(run.id, proposal.response_url)
            return run

        return self.launch(record)

    def launch(self, record: Callable[[], Run]) -> Run:
        """Record a run, then start it (the runner holds it first if its estimated cost
        is over the ceiling, and asks the proposer).

        Everything ``record`` writes is one transaction, started only once it has
        committed: if any write fails, nothing is left that a restart could pick up,
        so "nothing was started" is true."""
        with self.store.transaction():
            run = record()
        self.runner.submit(run.id)
        return run

    def confirm(self, run_id: int, user_id: str, go: bool) -> Run:
        """The proposer (or an admin) answers the cost question of a held run."""
        run = self.store.get_run(run_id)
        if not may_manage(run, user_id, self.config):
            raise PermissionDenied(f"only the proposer of run #{run_id} or an admin can decide")
        waiting = UsageError(f"run #{run_id} is not waiting for a decision")
        if run.status != "held":
            raise waiting
        if go:
            if not self.store.delivery.confirm_cost(run_id):
                raise waiting  # answered meanwhile, by a second click
            self.runner.submit(run_id)
        else:
            self.store.set_run_status(run_id, "cancelled")
        return self.store.get_run(run_id)

    # -- reviewing ------------------------------------------------------------

    def prepare_reactions(self, reactions: list[tuple[str, str, str]]) -> None:
        """Reactions about to be handled together in one transaction, as (channel, ts,
        user): their messages and reviewers are looked up together first."""
        self.store.prefetch_reactions(reactions)

    def react(
        self,
        *,
        event_id: str,
        channel: str,
        ts: str,
        user_id: str,
        reaction: str,
        added: bool,
        event_ts: str,
    ) -> ReactionResult:
        emoji = canonical_name(reaction)
        on_scale = self.scales.score(emoji)
        if on_scale is None and emoji not in PAIR_EMOJI:
            return "ignored"  # on no message of ours does it count
        ref = self.store.find_reacted(channel, ts)
        if ref == "pair":
            pair = self._pairs.find(channel, ts)
            if pair is None or emoji not in PAIR_EMOJI:
                return "ignored"
            return self._pairs.apply_reaction(
                event_id=event_id,
                pair=pair,
                user_id=user_id,
                emoji=emoji,
                present=added,
                event_ts=event_ts,
            )
        if ref is None and self._may_be_posting(channel, ts):
            raise NotRecordedYet(f"the message {ts} may be an answer still being posted")
        if on_scale is None or ref is None or ref.candidate_id is None:
            return "ignored"
        scale = on_scale.scale
        outcome = self.store.apply_reaction(
            event_id=event_id,
            channel=channel,
            ts=ts,
            candidate_id=ref.candidate_id,
            user_id=user_id,
            emoji=emoji,
            scale=scale,
            present=added,
            event_ts=event_ts,
            scale_emoji=self.scales.emoji(scale),
        )
        enough = self.config.review.close_after_votes
        if outcome == "applied" and enough and self.store.rating_count(ref.run_id) >= enough:
            run_id = ref.run_id
            self.runner.background(
                lambda: self.revealer.close_and_reveal(run_id, AUTOMATIC), f"closing run {run_id}"
            )
        return outcome

    def _may_be_posting(self, channel: str, ts: str) -> bool:
        """Whether an unknown message may be an answer whose post is in flight (Slack
        shows it before we have its ts): one no older than the answers being posted in
        its channel, give or take a second between the two clocks."""
        since = self.store.posting_since(channel)
        if since is None:
            return False
        try:
            return float(ts) >= datetime.fromisoformat(since).timestamp() - 1.0
        except ValueError:
            return False

    def reveal(self, run_id: int, user_id: str) -> Run:
        """Check the user may, then close and reveal in the background."""
        run = self.revealer.check_may_reveal(run_id, user_id)
        if run.revealed_at is not None:
            raise UsageError(f"run #{run_id} is already revealed")
        # Closed first, before the ack: a rating from now on is late.
        self.store.close_run(run_id, user_id, reveal=True)
        self.runner.background(
            lambda: self.revealer.close_and_reveal(run_id, user_id), f"revealing run {run_id}"
        )
        return run

    def repost(self, run_id: int, user_id: str) -> Run:
        """Post a failed run's stored answers again (its thread, or the candidates Slack
        refused); nothing already posted is posted twice, and no model is called."""
        run = self.store.get_run(run_id)
        if not may_manage(run, user_id, self.config):
            raise PermissionDenied(f"only the proposer of run #{run_id} or an admin can repost it")
        if not self.store.delivery.reopen(run_id):
            raise UsageError(f"run #{run_id} has not failed: nothing to repost ({run.status})")
        self.runner.submit(run_id)
        return run

    def recent(self) -> list[RunSummary]:
        return self.store.recent_runs(self.config.limits.max_runs_listed)
