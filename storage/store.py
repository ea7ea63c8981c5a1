"""The store owns the database; handlers and jobs never touch tables. Its queries are
grouped by what they are about, one module each: runs, versions, candidates and feedback
are the Store's own methods; every other subject is an object it hands out, built once
(``store.pairs``, ``store.test_sets``…)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from storage.base import StoreBase, stamp, utcnow
from storage.candidates import CandidateQueries
from storage.feedback import ReactionOutcome, ReviewQueries
from storage.refs import MessageRef
from storage.runs import RunQueries
from storage.versions import VersionQueries

if TYPE_CHECKING:  # each loads with its first use: a short-lived process needs few of them
    from storage.admin import AdminStore
    from storage.cache import AnswerCache
    from storage.checkpoints import Checkpointer
    from storage.checks import CheckStore
    from storage.delivery import DeliveryLog
    from storage.digest_log import DigestLog
    from storage.inbox import InboxTable
    from storage.install import InstallState
    from storage.judge import JudgeStore
    from storage.pairs import Pairs
    from storage.reminders import ReminderStore
    from storage.screening import ScreeningStore
    from storage.seen_requests import SeenRequests
    from storage.test_sets import TestSets

__all__ = [
    "MessageRef",
    "ReactionOutcome",
    "Store",
    "StoreBase",
    "stamp",
    "utcnow",
]


class Store(RunQueries, VersionQueries, CandidateQueries, ReviewQueries):
    """One object for the whole database (see storage/base.py for connections)."""

    # The subject objects hold nothing but the store, so a race that builds one twice
    # is harmless.

    @cached_property
    def admin(self) -> AdminStore:
        """Archives, deletions and their audit trail."""
        from storage.admin import AdminStore

        return AdminStore(self)

    @cached_property
    def answer_cache(self) -> AnswerCache:
        from storage.cache import AnswerCache

        return AnswerCache(self)

    @cached_property
    def checks(self) -> CheckStore:
        """Checks on answers: what each version and test-set input carries, and results."""
        from storage.checks import CheckStore

        return CheckStore(self)

    @cached_property
    def delivery(self) -> DeliveryLog:
        """Run leases and each Slack post of a run as a resumable step."""
        from storage.delivery import DeliveryLog

        return DeliveryLog(self)

    @cached_property
    def digest_log(self) -> DigestLog:
        from storage.digest_log import DigestLog

        return DigestLog(self)

    @cached_property
    def inbox(self) -> InboxTable:
        """Events API deliveries, recorded before they are acknowledged, in a file of
        their own beside the database (storage/inbox.py)."""
        from storage.inbox import InboxFile, InboxTable

        table = InboxTable(InboxFile(self.path))
        table.adopt(self)
        return table

    @cached_property
    def checkpoints(self) -> Checkpointer:
        """WAL checkpoints of the database and the inbox file, off the writers' commits
        (for the connections that defer them: the inbox's and its worker's)."""
        from storage.checkpoints import Checkpointer

        return Checkpointer([self, self.inbox.store])

    @cached_property
    def install(self) -> InstallState:
        from storage.install import InstallState

        return InstallState(self)

    @cached_property
    def judge(self) -> JudgeStore:
        """The LLM judge's verdicts, apart from human ratings."""
        from storage.judge import JudgeStore

        return JudgeStore(self)

    @cached_property
    def pairs(self) -> Pairs:
        """Compare runs: pairs of candidates and the votes on them."""
        from storage.pairs import Pairs

        return Pairs(self)

    @cached_property
    def reminders(self) -> ReminderStore:
        from storage.reminders import ReminderStore

        return ReminderStore(self)

    @cached_property
    def screening(self) -> ScreeningStore:
        """Screened runs: which candidates are posted for the team, which are held."""
        from storage.screening import ScreeningStore

        return ScreeningStore(self)

    @cached_property
    def seen_requests(self) -> SeenRequests:
        """Signed requests already acted on, so a replay is not acted on twice."""
        from storage.seen_requests import SeenRequests

        return SeenRequests(self)

    @cached_property
    def test_sets(self) -> TestSets:
        from storage.test_sets import TestSets

        return TestSets(self)
