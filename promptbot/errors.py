"""The one exception tree::

    Exception
    ├── PromptbotError        a problem the user can fix; str() is the one line to show
    │   ├── ConfigError       app.yaml or the environment
    │   ├── StorageError      the database cannot be opened or migrated
    │   │   └── StorageUnavailable  a write it cannot take now (locked, full, read-only)
    │   │       └── NotRecordedYet  about a post still being recorded: tried again shortly
    │   ├── TemplateError     a prompt template is too large, bad, or short of a value
    │   ├── UsageError        a command typed in a way we cannot understand
    │   ├── NotFound          a prompt, version or run that does not exist
    │   ├── PermissionDenied  only the proposer or an admin may
    │   └── FieldErrors       errors shown on a modal's fields
    └── PublishError          Slack refused a post or a lookup, for good
        └── SlackUnavailable  Slack said "later" until the deadline: the step waits

A PromptbotError is translated at one boundary: an ephemeral message from the Slack app's
``@app.error`` handler, or one line plus exit code 2 from the CLI. The message is always a
single readable line, safe to show to the person who caused it.

PublishError is not a PromptbotError on purpose: nobody who typed a command caused it.
The Slack adapters in handlers/ raise it; the runner, the reveal and the jobs catch it,
log it and retry or explain later, so a user's boundary never shows it as their mistake.
"""

from __future__ import annotations


class PromptbotError(Exception):
    """Base class: a problem the user can fix. ``str(error)`` is the one line to show."""


class ConfigError(PromptbotError):
    """app.yaml or the environment is missing something or holds a bad value."""


class StorageError(PromptbotError):
    """The database cannot be opened or migrated."""


class StorageUnavailable(StorageError):
    """A write could not be made now (locked past its wait, disk full, read-only), and
    nothing of it was kept. ``reason`` is a clause: "the disk is full"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot write to the database: {reason}")


class NotRecordedYet(StorageUnavailable):
    """An event is about a message the bot has posted but not recorded yet: Slack showed
    the post, and someone reacted, before the bot had its ts. Nothing of the event was
    kept; like any write that cannot be made now, it is tried again shortly, in order."""


class TemplateError(PromptbotError):
    """A prompt template is too large, does not parse, or needs a value it was not given."""


class UsageError(PromptbotError):
    """A command was typed in a way we cannot understand."""


class NotFound(PromptbotError):
    """A prompt, version or run named by the user does not exist."""


class PermissionDenied(PromptbotError):
    """The user may not do this (only the proposer or an admin may)."""


class FieldErrors(PromptbotError):
    """Errors tied to fields of a modal: shown on those fields, not as a message.

    ``errors`` maps a Block Kit ``block_id`` to the message shown under it.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class PublishError(Exception):
    """Slack refused or could not take a post; the message is safe to log."""


class SlackUnavailable(PublishError):
    """Slack could not be reached, or kept answering "later" (429, ``ratelimited``, 5xx,
    timeouts, dropped connections) until the gateway's deadline: the step stays pending
    and is tried again later. ``maybe_posted``: a post may have landed all the same."""

    def __init__(
        self, reason: str, *, maybe_posted: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.maybe_posted = maybe_posted
        self.retry_after = retry_after
