"""The store owns the database; handlers and jobs never touch tables. Its queries
are grouped by what they are about, one module each."""

from __future__ import annotations

from storage.base import StoreBase, stamp, utcnow
from storage.candidates import CandidateQueries, MessageRef
from storage.reviews import ReactionOutcome, ReviewQueries
from storage.runs import RunQueries

__all__ = [
    "MessageRef",
    "ReactionOutcome",
    "Store",
    "StoreBase",
    "stamp",
    "utcnow",
]


class Store(RunQueries, CandidateQueries, ReviewQueries):
    """One object for the whole database (see storage/base.py for connections)."""
