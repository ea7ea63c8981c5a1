"""Managing prompts and runs: close voting, archive a prompt, delete (after a
confirmation) a prompt or a run. Only the proposer or an admin may.

Every action that happens is recorded in the audit trail with who did it; so is every
refusal (action ``<verb>-refused``), because "who tried to delete this?" is a question
an audit trail should answer too. Deletion is soft: the rows stay, hidden from lists,
rankings, the digest and reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from promptbot.config.settings import AppConfig
from promptbot.domain import PromptRecord, Run
from promptbot.errors import NotFound, PermissionDenied, PublishError, UsageError
from promptbot.render.blocks import Block, Message, escape, section
from promptbot.render.checks import run_check_summary
from promptbot.render.messages import notice
from promptbot.render.words import count
from promptbot.review.publishing import Publisher
from promptbot.review.reveal import may_manage
from storage import Store
from storage.admin import prompt_target, run_target

logger = logging.getLogger(__name__)

DELETE_CONFIRM = "delete_confirm"
DELETE_CANCEL = "delete_cancel"

# Runs a task off the caller's thread (the runner's ``background``); thread notices
# go through it so a slash command is acknowledged before Slack is called.
Background = Callable[[Callable[[], None], str], object]


def _inline(task: Callable[[], None], what: str) -> None:
    task()


@dataclass(frozen=True)
class Target:
    """What ``/prompt delete`` names: ``#12`` is run 12, anything else a prompt."""

    kind: Literal["run", "prompt"]
    text: str
    run_id: int = 0

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.strip()
        if text.startswith("#"):
            if not text[1:].isdigit():
                raise UsageError("usage: /prompt delete NAME or /prompt delete #RUN")
            return cls("run", text, int(text[1:]))
        if not text:
            raise UsageError("usage: /prompt delete NAME or /prompt delete #RUN")
        return cls("prompt", text)


@dataclass(frozen=True)
class DeleteRequest:
    """A deletion the user may make, described for the confirmation question."""

    target: Target
    description: str  # mrkdwn, escaped


class AdminService:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        publisher: Publisher,
        background: Background = _inline,
    ) -> None:
        self.store = store
        self.config = config
        self.publisher = publisher
        self.background = background
        self.admin_store = store.admin

    # -- permissions --------------------------------------------------------------------

    def _live_run(self, run_id: int) -> Run:
        if not self.admin_store.run_is_live(run_id):
            raise NotFound(f"no run #{run_id}")
        return self.store.get_run(run_id)

    def _live_prompt(self, name: str) -> PromptRecord:
        prompt = self.admin_store.prompt(name)
        if prompt is None:
            raise NotFound(f"no prompt named '{name[:80]}'")
        return prompt

    def _check_run(self, run: Run, user_id: str, verb: str) -> None:
        if not may_manage(run, user_id, self.config):
            self.admin_store.record(user_id, f"{verb}-refused", run_target(run.id))
            raise PermissionDenied(f"only the proposer of run #{run.id} or an admin can {verb} it")

    def _check_prompt(self, prompt: PromptRecord, user_id: str, verb: str) -> None:
        if user_id != prompt.created_by and user_id not in self.config.admins:
            self.admin_store.record(user_id, f"{verb}-refused", prompt_target(prompt.name))
            raise PermissionDenied(
                f"only the proposer of {prompt.name[:80]} or an admin can {verb} it"
            )

    # -- close ----------------------------------------------------------------------------

    def close(self, run_id: int, user_id: str) -> Run:
        """Close voting without revealing the models; later ratings are kept as late."""
        run = self._live_run(run_id)
        self._check_run(run, user_id, "close")
        if run.thread_ts is None:
            raise UsageError(f"run #{run_id} has not been posted yet; try again shortly")
        with self.store.transaction():  # closed and audited, or neither
            if not self.store.close_run(run_id, user_id):
                raise UsageError(f"run #{run_id} is already closed")
            self.admin_store.record(user_id, "close", run_target(run_id))
        text = (
            f"Voting is closed by <@{escape(user_id)}>; ratings added from now on are kept but"
            " not counted. Which model wrote what stays hidden until the run is revealed."
        )
        candidates = self.store.candidates(run.id)
        checked = self.store.checks.results(c.id for c in candidates)
        if checked:  # hidden while voting was open; now they can no longer steer it
            by_label = {c.label: checked[c.id] for c in candidates if c.id in checked}
            text += "\nChecks on each answer:\n" + run_check_summary(by_label, budget=2500)
        self._notify(run, text)
        return run

    # -- archive --------------------------------------------------------------------------

    def archive(self, prompt_name: str, user_id: str) -> PromptRecord:
        """Take a prompt off the leaderboard; its versions, runs and ratings stay."""
        prompt = self._live_prompt(prompt_name)
        self._check_prompt(prompt, user_id, "archive")
        if not self.admin_store.archive_prompt(prompt, user_id):
            raise UsageError(f"{prompt.name[:80]} is already archived")
        return prompt

    # -- delete ---------------------------------------------------------------------------

    def request_delete(self, target_text: str, user_id: str) -> DeleteRequest:
        """Check the user may delete the target and describe it; nothing changes yet."""
        target = Target.parse(target_text)
        if target.kind == "run":
            run = self._live_run(target.run_id)
            self._check_run(run, user_id, "delete")
            ratings = self.store.rating_count(run.id)
            candidates = len(self.store.candidates(run.id))
            description = (
                f"run #{run.id} of *{escape(run.version.prompt_name)}* v{run.version.number}"
                f" ({count(candidates, 'candidate')}, {count(ratings, 'rating')})"
            )
        else:
            prompt = self._live_prompt(target.text)
            self._check_prompt(prompt, user_id, "delete")
            size = self.admin_store.prompt_footprint(prompt.id)
            description = (
                f"the prompt *{escape(prompt.name)}* ({count(size.versions, 'version')},"
                f" {count(size.runs, 'run')}, {count(size.ratings, 'rating')})"
            )
        return DeleteRequest(target, description)

    def delete(self, target_text: str, user_id: str) -> DeleteRequest:
        """Delete after confirmation. Permissions are checked again: the button may have
        been clicked long after it was shown, or forwarded."""
        request = self.request_delete(target_text, user_id)
        target = request.target
        if target.kind == "run":
            run = self.store.get_run(target.run_id)
            if not self.admin_store.delete_run(run.id, user_id):
                raise NotFound(f"no run #{run.id}")
            self._notify(
                run,
                f"This run was deleted by <@{escape(user_id)}>: it no longer appears in lists,"
                " rankings or the digest.",
            )
        else:
            prompt = self._live_prompt(target.text)
            run_ids = self.admin_store.delete_prompt(prompt, user_id)
            if run_ids is None:
                raise NotFound(f"no prompt named '{prompt.name[:80]}'")
            for run_id in run_ids:
                self._notify(
                    self.store.get_run(run_id),
                    f"The prompt *{escape(prompt.name)}* was deleted by <@{escape(user_id)}>:"
                    " this run no longer appears in lists, rankings or the digest.",
                )
        return request

    # -- thread notices -------------------------------------------------------------------

    def _notify(self, run: Run, text: str) -> None:
        thread_ts = run.thread_ts
        if thread_ts is None:
            return

        def post() -> None:
            try:
                self.publisher.post_reply(run.channel, thread_ts, notice(text))
            except PublishError as error:
                # The action itself is recorded; a missing notice only costs the thread a line.
                logger.warning("run %s: notice not posted: %s", run.id, error)

        self.background(post, f"notice for run {run.id}")


def delete_confirmation(request: DeleteRequest) -> Message:
    """The ephemeral question, with Confirm / Cancel buttons carrying the target."""
    question = (
        f"Delete {request.description}? It disappears from lists, rankings, the digest and"
        " reminders; the audit record of who deleted it stays."
    )
    value = request.target.text
    buttons: Block = {
        "type": "actions",
        "block_id": "delete",
        "elements": [
            {
                "type": "button",
                "action_id": DELETE_CONFIRM,
                "style": "danger",
                "text": {"type": "plain_text", "text": "Delete"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": DELETE_CANCEL,
                "text": {"type": "plain_text", "text": "Cancel"},
                "value": value,
            },
        ],
    }
    return Message(question, [section(question), buttons])
