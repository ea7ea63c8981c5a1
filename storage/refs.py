"""What a Slack message of the bot's is, as the store answers it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageRef:
    """A message of a run: a candidate's, or another of the run's (candidate_id None)."""

    run_id: int
    candidate_id: int | None
