"""SQLite storage: the only package that holds SQL."""

from storage.store import Store

__all__ = ["Store"]
