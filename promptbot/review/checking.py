"""Checking each answer as it is recorded: which checks apply to a candidate, and
storing their results with the answer.

A candidate's checks are, in this order: its prompt's in app.yaml
(``prompts.<name>.checks``), its version's (the form's Checks field), and its input's
(the test-set row's ``__expected`` column, kept with the run). Results are stored at
once but shown only after voting closes (they would steer the reviewers).
"""

from __future__ import annotations

import logging

from promptbot.checks import Check, parse_check, parse_checks, run_checks
from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, CheckResult, Run
from promptbot.errors import PromptbotError
from storage import Store

logger = logging.getLogger(__name__)


class AnswerChecks:
    def __init__(self, store: Store, config: AppConfig) -> None:
        self.store = store
        self.config = config

    def checks_for(self, run: Run, candidate: Candidate) -> list[Check]:
        prompt = candidate.prompt_name or run.version.prompt_name
        configured = self.config.prompt_settings(prompt).checks
        # app.yaml's were validated at start-up (config.settings).
        checks = [check for entry in configured for check in parse_checks(entry, by_line=False)]
        stored = [
            *self.store.checks.version_checks(candidate.version_id or run.version.id),
            *self.store.checks.input_checks(run.id, candidate.input_index),
        ]
        for text in stored:
            try:
                checks.append(parse_check(text))
            except PromptbotError as error:  # stored valid; only a later rule change can do this
                logger.warning("run %s: check %r skipped: %s", run.id, text, error)
        return checks

    def results_for(self, run: Run, candidate_id: int) -> list[CheckResult]:
        """The checks run on the candidate's answer as stored. Never raises: a broken
        check must not cost the answer it checks."""
        try:
            stored = self.store.get_candidate(candidate_id)
            return run_checks(
                self.checks_for(run, stored),
                stored.output,
                None if stored.cached else stored.latency_ms,  # a cache hit was not timed
                stored.cost,
            )
        except Exception:
            logger.exception("candidate %s: checks could not run", candidate_id)
            return []

    def record(self, run: Run, candidate_id: int) -> None:
        """Check the stored answer and store the results; call it inside the transaction
        that stores the answer, so the two are kept together or not at all."""
        results = self.results_for(run, candidate_id)
        if results:
            self.store.checks.record(candidate_id, results)
