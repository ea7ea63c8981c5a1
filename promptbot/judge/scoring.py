"""The judge at work: once a run's candidates are posted, it scores each answer blind
and compares the answers to each input in pairs, in both orders.

It starts only when the run is finished (every candidate posted or refused), so it never
holds a candidate up, and its calls go through ``ModelCalls``: the judge model's own
pool (its ``max_concurrency``), the answer cache, the same pricing. Whatever goes wrong
(a failed call, a rubric the sandbox refuses, an unreadable reply) is stored as a failed
verdict with its reason; nothing escapes into the run. Runs waiting for the judge are
queued in the database, so a restart finishes them.

A screened run posts nothing until the judge is done, so there the judge need not wait:
``judge_answer`` scores each answer as it is stored (and each pair once both answers
are), alongside the run's remaining model calls. Each task is sent once per process
(``_claimed``); a run is done when it has finished, every task sent for it has ended,
and nothing is missing from the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial
from itertools import combinations
from typing import Any

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Completion, Run
from promptbot.errors import PromptbotError
from promptbot.judge.records import PairRecord, VerdictRecord
from promptbot.judge.replies import (
    Preference,
    UnreadableReply,
    both_orders,
    parse_preference,
    parse_verdict,
    swapped,
)
from promptbot.judge.rubric import input_text, pair_rubric_for, rubric_for, stars_scale
from promptbot.judge.tasks import RunTasks, Stopped, Task
from promptbot.review.calls import ModelCalls
from promptbot.review.costs import CHARS_PER_TOKEN, call_cost
from promptbot.review.providers import build_messages
from storage import Store


class Judge:
    def __init__(self, store: Store, config: AppConfig, calls: ModelCalls) -> None:
        self.store = store
        self.config = config
        self.calls = calls
        self.model = config.judge.model
        stars = config.scales.get("stars")
        self.stars_range = (min(stars.emoji.values()), max(stars.emoji.values())) if stars else None
        self.stars_scale = stars_scale(config)
        self._tasks = RunTasks(self._submit, self._settle)

    # -- when runs finish, and at start-up -----------------------------------------

    def run_finished(self, run_id: int) -> None:
        """Queue a finished run for the judge, if its prompt is judged, and start."""
        if self.model is None:
            return
        run = self.store.get_run(run_id)
        if run.deleted or not self.config.judges(run.version.prompt_name):
            return
        self.store.judge.enqueue(run_id)
        self.start(run_id)

    def resume(self) -> None:
        """Judge the runs a previous process queued but did not finish."""
        for run_id in self.store.judge.queued():
            self.start(run_id)

    def start(self, run_id: int) -> None:
        """Send each verdict and pair still missing (and not already sent) to the judge
        model's pool; the run is marked done once all have ended."""
        if self.model is None:
            return
        run = self.store.get_run(run_id)
        self._tasks.send(run_id, self._missing(run, self._answered(run_id)))
        self._tasks.finished(run_id)

    def judge_answer(self, run_id: int, candidate_id: int) -> None:
        """Judge one answer as soon as it is stored, before its run has finished: its
        verdict, and its pairs with the answers to the same input stored before it.
        For runs that post nothing until the judge is done (screened ones)."""
        if self.model is None:
            return
        run = self.store.get_run(run_id)
        if run.deleted or not self.config.judges(run.version.prompt_name):
            return
        candidate = self.store.get_candidate(candidate_id)
        if candidate.output is None:
            return
        # Its input's answers only: reading the whole run for each answer would cost a
        # long run's every answer a read of every other.
        same_input = self.store.candidates_of_input(run_id, candidate.input_index)
        answered = [c for c in same_input if c.output is not None]
        self._tasks.send(run_id, self._missing(run, answered, involving=candidate_id))

    def _submit(self, task: Callable[[], None]) -> object:
        assert self.model is not None
        return self.calls.submit(self.model, task)

    def _answered(self, run_id: int) -> list[Candidate]:
        return [c for c in self.store.candidates(run_id) if c.output is not None]

    def _missing(
        self, run: Run, answered: list[Candidate], involving: int | None = None
    ) -> list[Task]:
        """The verdicts and pairs the database lacks (those ``involving`` one answer)."""
        verdicts_done, pairs_done = self.store.judge.judged(run.id)
        tasks: list[Task] = [
            ((c.id,), partial(self.score, run, c))
            for c in answered
            if c.id not in verdicts_done and involving in (None, c.id)
        ]
        tasks += [
            ((a.id, b.id), partial(self.compare, run, a, b))
            for a, b in pairs_to_compare(answered)
            if (a.id, b.id) not in pairs_done and involving in (None, a.id, b.id)
        ]
        return tasks

    def _settle(self, run_id: int) -> None:
        """Every task sent for a finished run has ended: done, unless one crashed or was
        cut short (its verdict is missing), when the run stays queued for the next start."""
        run = self.store.get_run(run_id)
        if not self._missing(run, self._answered(run_id)):
            self.store.judge.done(run_id)

    def estimate_cost(self, run: Run) -> float:
        """The most the judge may spend on a run: a verdict per candidate and two calls
        per pair, each priced at its rubric and answers at their longest (every answer
        as long as its model's max_tokens) plus a full answer from the judge."""
        if self.model is None or not self.config.judges(run.version.prompt_name):
            return 0.0
        judge = self.config.model(self.model)
        candidates = self.store.candidates(run.id)
        rubric = rubric_for(self.config, run.version.prompt_name)
        pair_rubric = pair_rubric_for(self.config, run.version.prompt_name)

        def answer_chars(candidate: Candidate) -> int:
            known = {m.name: m for m in self.config.models}.get(candidate.model_name)
            return (known.params.max_tokens if known else 0) * CHARS_PER_TOKEN

        def call(chars: int) -> float:
            return call_cost(judge, chars // CHARS_PER_TOKEN + 1, judge.params.max_tokens)

        total = 0.0
        for candidate in candidates:
            base = len(self._template(run, candidate)) + len(input_text(candidate.variables))
            total += call(len(rubric) + base + answer_chars(candidate))
        for first, second in pairs_to_compare(candidates):
            base = 2 * len(self._template(run, first)) + len(input_text(first.variables))
            both = answer_chars(first) + answer_chars(second)
            total += 2 * call(len(pair_rubric) + base + both)
        return total

    # -- one candidate ---------------------------------------------------------------

    def score(self, run: Run, candidate: Candidate) -> None:
        assert self.model is not None and candidate.output is not None
        record = self._verdict(run, candidate)
        if record.error is not None and self.calls.stopping:
            raise Stopped  # not the judge's failure: the next start asks again
        self.store.judge.record_verdict(candidate.id, self.model, record)

    def _verdict(self, run: Run, candidate: Candidate) -> VerdictRecord:
        assert self.model is not None and candidate.output is not None
        prompt = candidate.prompt_name or run.version.prompt_name
        values = {
            "prompt": self._template(run, candidate),
            "input": input_text(candidate.variables),
            "answer": candidate.output,
            "stars": self.stars_scale,
        }
        try:
            answer = self._ask(rubric_for(self.config, prompt), values)
        except PromptbotError as error:
            return VerdictRecord(None, None, "", f"rubric refused: {error}", None)
        if answer.output is None:
            return _failed_call(answer)
        try:
            parsed = parse_verdict(answer.output, stars_range=self.stars_range)
        except UnreadableReply as error:
            return _with_usage(VerdictRecord(None, None, "", str(error), answer.output), answer)
        return _with_usage(
            VerdictRecord(parsed.approval, parsed.stars, parsed.reason, None, answer.output),
            answer,
        )

    # -- one pair, both orders ---------------------------------------------------------

    def compare(self, run: Run, first: Candidate, second: Candidate) -> None:
        assert self.model is not None
        rubric = pair_rubric_for(self.config, first.prompt_name or run.version.prompt_name)
        prompts = dict.fromkeys([self._template(run, first), self._template(run, second)])
        base = {
            "prompt": "\n--- or ---\n".join(prompts),
            "input": input_text(first.variables),
        }
        answers: list[Preference] = []
        cost = 0.0
        error: str | None = None
        for one, two in ((first, second), (second, first)):
            try:
                reply = self._ask(rubric, {**base, "first": one.output, "second": two.output})
            except PromptbotError as refused:
                error = f"rubric refused: {refused}"
                break
            cost += reply.cost or 0.0
            if reply.output is None:
                error = f"the judge's call failed: {reply.error}"
                break
            try:
                said = parse_preference(reply.output)
            except UnreadableReply as unreadable:
                error = str(unreadable)
                break
            # Kept as seen from ``first``, whichever order it was asked in.
            answers.append(said if one is first else swapped(said))
        if error is not None or len(answers) != 2:
            known: list[str | None] = [*answers, None, None]
            record = PairRecord(None, None, known[0], known[1], error, cost)
        else:
            outcome, consistent = both_orders(answers[0], answers[1])
            record = PairRecord(outcome, consistent, answers[0], answers[1], None, cost)
        if record.error is not None and self.calls.stopping:
            raise Stopped
        self.store.judge.record_pair(run.id, first.id, second.id, self.model, record)

    # -- shared ----------------------------------------------------------------------

    def _template(self, run: Run, candidate: Candidate) -> str:
        if candidate.version_id is not None and candidate.version_id != run.version.id:
            return self.store.get_version(candidate.version_id).template
        return run.version.template

    def _ask(self, rubric: str, values: dict[str, Any]) -> Completion:
        """Render the rubric in the sandbox, within the template budget, and call the
        judge model through the shared path (cache, pricing)."""
        assert self.model is not None
        text = self.calls.templates.render(rubric, values)
        return self.calls.complete(self.model, build_messages(text, None))


def pairs_to_compare(answered: list[Candidate]) -> list[tuple[Candidate, Candidate]]:
    """Every two answers to the same input, in the thread's order."""
    by_input: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in sorted(answered, key=lambda c: c.slot):
        by_input[candidate.input_index].append(candidate)
    return [pair for group in by_input.values() for pair in combinations(group, 2)]


def _failed_call(answer: Completion) -> VerdictRecord:
    return VerdictRecord(None, None, "", f"the judge's call failed: {answer.error}", None)


def _with_usage(record: VerdictRecord, answer: Completion) -> VerdictRecord:
    return VerdictRecord(
        record.approval,
        record.stars,
        record.reason,
        record.error,
        record.reply,
        answer.tokens_in,
        answer.tokens_out,
        answer.cost,
        answer.cached,
    )
