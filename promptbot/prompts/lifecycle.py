"""A prompt's life after its first proposal: revisions that meet their parent
head-to-head, reruns, and what `/prompt show` and `/prompt history` tell."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from promptbot.config.settings import AppConfig
from promptbot.domain import PlannedCandidate, Run, Version
from promptbot.errors import FieldErrors, TemplateError, UsageError
from promptbot.judge.showing import judge_text
from promptbot.prompts.screening import check_may_screen
from promptbot.render.blocks import Message, code_block, context, escape, header, section, truncate
from promptbot.render.checks import checks_block
from promptbot.render.words import count, format_cost
from promptbot.review.sandbox import parse_template
from promptbot.review.scales import RatingScales
from promptbot.review.service import Proposal, ReviewService
from storage import Store
from storage.evidence import load_evidence

if TYPE_CHECKING:
    from promptbot.verdicts.version_standings import ScaleStanding, VersionStanding


@dataclass(frozen=True)
class Revision:
    name: str
    parent_id: int
    template: str
    author: str
    channel: str
    system_prompt: str | None = None
    note: str | None = None
    models: list[str] | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    save_inputs_as: str | None = None
    checks: str = ""


class Lifecycle:
    def __init__(self, store: Store, config: AppConfig, review: ReviewService) -> None:
        self.store = store
        self.config = config
        self.review = review

    def revise(self, revision: Revision) -> Run:
        """Version N+1, run in one thread with its parent as a blind baseline on the
        same models and inputs, so every revision is a head-to-head."""
        parent = self.store.get_version(revision.parent_id)
        proposal = Proposal(
            name=revision.name,
            template=revision.template,
            author=revision.author,
            channel=revision.channel,
            system_prompt=revision.system_prompt,
            models=revision.models,
            inputs=revision.inputs,
            save_inputs_as=revision.save_inputs_as,
            checks=revision.checks,
        )
        models, inputs = self.review.validate(proposal)
        try:
            baseline = parse_template(parent.template)
            for values in inputs:
                baseline.check(values)
        except TemplateError as error:
            raise FieldErrors(
                {
                    "variables": f"v{parent.number}, the baseline, cannot run on these inputs: {error}"
                }
            ) from None
        previous = self.store.runs_of_version(parent.id)

        def record() -> Run:
            run = self.store.create_run(
                prompt_name=revision.name,
                template=revision.template,
                system_prompt=revision.system_prompt or None,
                author=revision.author,
                channel=self.config.review_channel or revision.channel,
                models=models,
                inputs=inputs,
                candidates=self.review.plan(models, inputs, versions=(None, parent.id)),
                note=revision.note or None,
                parent_id=parent.id,
                previous_run_id=previous[-1].id if previous else None,
            )
            self.review.save_checks(run.version.id, proposal)
            self.review.save_inputs(proposal)
            return run

        return self.review.launch(record)

    def rerun(
        self,
        name: str,
        number: int | None,
        *,
        author: str,
        channel: str,
        models: list[str] | None = None,
        test_set: str | None = None,
        fresh: bool = False,
        screen: bool = False,
        force: bool = False,
    ) -> Run:
        """``screen``: only the answers that need a human are posted (see
        promptbot/prompts/screening.py); ``force`` screens without the judge's trust."""
        version = self.store.version(name, number)
        if screen and not test_set:
            raise UsageError("--screen runs a whole test set: add --set SET")
        trust = check_may_screen(self.store, self.config, name, force=force) if screen else ""
        inputs = self.store.test_sets.get(name, test_set) if test_set else None
        usual = self.usual_run(version)
        if inputs is None:
            inputs = usual.inputs if usual else [{}]
        if models is None:
            models = usual.models if usual else self.config.proposal_models()
        models, inputs = self.review.validate(
            Proposal(
                name=name,
                template=version.template,
                author=author,
                channel=channel,
                models=models,
                inputs=inputs,
            )
        )

        def record() -> Run:
            run = self.store.create_rerun(
                version.id,
                author=author,
                channel=self.config.review_channel or channel,
                models=models,
                inputs=inputs,
                candidates=self.review.plan(models, inputs),
                fresh=fresh,
            )
            if test_set:  # the set's checks as they are now, kept with the run
                self.store.checks.set_input_checks(
                    run.id, self.store.test_sets.checks(name, test_set)
                )
            if screen:
                self.store.screening.mark(run.id, forced=force, trust=trust)
            return run

        return self.review.launch(record)

    def usual_run(self, version: Version) -> Run | None:
        """The run whose models and inputs a rerun or a revision starts from: the
        version's latest run that is not a compare (a compare asks one model), else the
        prompt's latest such run of any version, else none (the config's defaults)."""
        for candidate in (version, *reversed(self.store.versions(version.prompt_name))):
            runs = [r for r in self.store.runs_of_version(candidate.id) if r.kind != "compare"]
            if runs:
                return runs[-1]
        return None

    def compare(
        self,
        first: tuple[str, int | None],
        second: tuple[str, int | None],
        *,
        author: str,
        channel: str,
        models: list[str] | None = None,
    ) -> Run:
        """A pairwise thread: for each input (the first version's latest inputs) and
        model, the two versions' answers side by side, sides drawn at random."""
        left, right = self.store.version(*first), self.store.version(*second)
        if left.id == right.id:
            raise UsageError("compare needs two different versions")
        earlier = self.store.runs_of_version(left.id)
        inputs = earlier[-1].inputs if earlier else [{}]
        models = models or [self.config.proposal_models()[0]]
        for version in (left, right):
            self.review.validate(
                Proposal(
                    name=version.prompt_name,
                    template=version.template,
                    author=author,
                    channel=channel,
                    models=models,
                    inputs=inputs,
                )
            )
        planned: list[PlannedCandidate] = []
        pairs: list[tuple[int, str, str]] = []
        for index, values in enumerate(inputs):
            for model in models:
                sides = [left.id, right.id]
                self.review.rng.shuffle(sides)
                labels: list[str] = []
                for version_id in sides:
                    label = f"{len(pairs) + 1}{'LR'[len(labels)]}"
                    labels.append(label)
                    planned.append(
                        PlannedCandidate(
                            label=label,
                            slot=len(planned),
                            model_name=model,
                            model_id=self.config.model(model).model,
                            input_index=index,
                            variables=values,
                            version_id=version_id,
                        )
                    )
                pairs.append((index, labels[0], labels[1]))
        return self.review.launch(
            lambda: self.store.pairs.create_compare_run(
                left.id,
                author=author,
                channel=self.config.review_channel or channel,
                models=models,
                inputs=inputs,
                candidates=planned,
                pairs=pairs,
            )
        )

    # -- what a prompt has done ------------------------------------------------

    def _standings(self, prompt: str) -> dict[tuple[str, int], VersionStanding]:
        """``prompt``'s versions' standings: a version's standing is its own evidence,
        so only that prompt's is read."""
        # Deferred: the statistics stack loads on first use, not at start-up.
        from promptbot.verdicts.judgements import judgements_from_rows
        from promptbot.verdicts.version_standings import standings

        scales = RatingScales(self.config.scales)
        evidence = load_evidence(self.store, scales, datetime.now(UTC), prompt=prompt)
        counted = [r for r in evidence.ratings if not r.late]
        return standings(
            judgements_from_rows(counted, evidence.scales),
            evidence.runs,
            evidence.scales,
            min_votes=self.config.digest.min_votes,
        )

    def show(self, name: str, number: int | None = None) -> Message:
        version = self.store.version(name, number)
        runs = self.store.runs_of_version(version.id)
        answers, cost = self.store.version_costs(version.id)
        standing = self._standings(version.prompt_name).get((version.prompt_name, version.number))
        blocks = [
            header(truncate(version.title, 150)),
            context(
                f"by <@{escape(version.author)}> · {escape(version.created_at[:16])}"
                + (f" · note: {escape(truncate(version.note, 300))}" if version.note else "")
            ),
            section("*Template*\n" + code_block(version.template)),
        ]
        if version.system_prompt:
            blocks.append(section("*System prompt*\n" + code_block(version.system_prompt, 1500)))
        blocks.append(section(f"*Standing*\n{describe_standing(standing)}"))
        blocks.append(section(f"*Cost*\n{count(answers, 'answer')}, {format_cost(cost)} in all"))
        written = self.config.prompt_settings(version.prompt_name).checks
        written = [*written, *self.store.checks.version_checks(version.id)]
        checks = checks_block(written, self.store.checks.tallies(version_id=version.id))
        blocks += [checks] if checks else []
        judged = judge_text(self.store, self.config, version, runs)
        if judged is not None:
            blocks.append(section(f"*Judge*\n{judged}"))
        lines = [
            f"• run #{run.id} ({run.status}, {count(len(run.models), 'model')},"
            f" {format_cost(self.store.run_cost(run.id))})"
            + (f" — <{run.permalink}|thread>" if run.permalink else "")
            for run in runs[-15:]
        ]
        if len(runs) > 15:
            lines.insert(0, f"…and {count(len(runs) - 15, 'earlier run')}")
        blocks.append(section("*Runs*\n" + ("\n".join(lines) or "none yet")))
        return Message(f"{escape(version.title)}", blocks)

    def history(self, name: str) -> Message:
        versions = self.store.versions(name)
        table = self._standings(versions[0].prompt_name)
        lines = []
        for version in reversed(versions):
            standing = table.get((version.prompt_name, version.number))
            note = f" — {escape(truncate(version.note, 120))}" if version.note else ""
            lines.append(
                f"• *v{version.number}* by <@{escape(version.author)}>{note}\n"
                f"   {describe_standing(standing)}"
            )
        shown = lines[:40]
        if len(lines) > 40:
            shown.append(f"…and {count(len(lines) - 40, 'older version')}")
        blocks = [header(truncate(f"{name}: {count(len(versions), 'version')}", 150))]
        blocks += [section("\n".join(shown[i : i + 10])) for i in range(0, len(shown), 10)]
        return Message(f"History of {escape(name)}", blocks)


def _describe_scale(s: ScaleStanding) -> str:
    if s.binary:
        return f"approval {s.value:.0%} [{s.low:.0%}–{s.high:.0%}], n = {s.n}"
    return f"mean {s.value:.2f} [{s.low:.2f}–{s.high:.2f}], n = {s.n}"


def describe_standing(standing: VersionStanding | None) -> str:
    if standing is None or standing.votes == 0:
        return "no votes yet"
    parts = [_describe_scale(s) for s in (standing.approval, standing.mean) if s is not None]
    return " · ".join(parts) or count(standing.votes, "vote")


def parse_version_ref(text: str) -> tuple[str, int | None]:
    """``summary``, ``summary v3`` or ``summary@v3`` → (name, number or None)."""
    name, _, number = text.partition("@")
    if not number:
        return name, None
    if not number.lstrip("vV").isdigit():
        raise UsageError(f"'{text}' is not NAME@vN")
    return name, int(number.lstrip("vV"))
