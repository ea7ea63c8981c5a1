"""The digest's long reads, as SQLite hands them over: a few long strings per slice of
ids (one row per slice), which :mod:`storage.digest_columns` parses with numpy.

Why one row of strings and not one row per rating: fetching a million rows makes five
million Python objects and costs more than everything else in a digest, while numpy
parses the strings in C. No GROUP BY either: grouping judgements through the primary
key costs SQLite twice the plain scan.

This module does not import numpy, so that :func:`start_reading` can run the reads on a
thread of their own while the statistics load: SQLite lets go of the interpreter while
it works, and at 100k ratings the reads take as long as importing numpy.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from storage.base import StoreBase

# Rows are read in slices of this many ids, each slice one row of long strings.
SLICE = 100_000
# Rating slices the reading thread may hold before they are parsed (~5 MB each).
_AHEAD = 2
UNIT = "\x1f"  # ASCII's unit separator: never in a Slack user id
# A score as text: integers as integers, which SQLite writes several times faster than
# a float (and a configured decimal's 15-digit text reads back as the same float).
SCORE = "CASE WHEN {0} = CAST({0} AS INTEGER) THEN CAST({0} AS INTEGER) ELSE {0} END"
# A slice with a time not in stamp()'s fixed width (none is written so) is read again
# as text without the offset, comma-separated.
STAMP = "CASE WHEN substr({0}, 20, 1) = '.' THEN substr({0}, 1, 26) ELSE substr({0}, 1, 19) END"
# Every live candidate as numbers (the prompt by id, the model by name); the answer's
# length is what the length-bias check needs of it.
_CANDIDATE_COLUMNS = """
    SELECT group_concat(c.id), group_concat(c.run_id), group_concat(v.number),
           group_concat(c.slot), group_concat(c.input_index),
           group_concat(LENGTH(COALESCE(c.output, ''))), group_concat(v.prompt_id),
           group_concat(c.model_name, char(31))
    FROM candidates c
    JOIN runs ON runs.id = c.run_id
    JOIN versions v ON v.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.deleted_at IS NULL AND p.deleted_at IS NULL
      AND c.id >= :first AND c.id < :after
"""


def ratings_sql(scales: list[str], times: str) -> tuple[str, dict[str, object]]:
    """The counted ratings before ``:end`` on a configured scale, in one slice of rowids,
    as one row of comma-separated columns (the scale by its position in ``scales``) and
    their count; ``times`` is the expression of the times' column."""
    params: dict[str, object] = {f"scale{i}": name for i, name in enumerate(scales)}
    code = "".join(f" WHEN :scale{i} THEN {i}" for i in range(len(scales)))
    names = ", ".join(f":scale{i}" for i in range(len(scales))) or "NULL"
    sql = f"""
        SELECT group_concat(candidate_id), group_concat(user_id, char(31)),
               group_concat(CASE scale{code} END), group_concat({SCORE.format("score")}),
               {times}, COUNT(*)
        FROM ratings
        WHERE rowid >= :first AND rowid < :after
          AND updated_at < :end AND scale IN ({names})
    """
    return sql, params


def _bounds(db: Any, table: str, key: str) -> range:
    """The slices' starts over ``table``'s ``key``. MIN and MAX in one statement would
    make SQLite scan the table; each alone is one step down the B-tree."""
    (first,) = db.execute(f"SELECT MIN({key}) FROM {table}").fetchone()
    (last,) = db.execute(f"SELECT MAX({key}) FROM {table}").fetchone()
    return range(first or 0, (last or -1) + 1, SLICE)


# One slice's row as SQLite gave it, and the parameters it was read with.
Slice = tuple[tuple[Any, ...], dict[str, object]]


def rating_slices(db: Any, scales: list[str], bound: str) -> Iterator[Slice]:
    """Each slice's row, read as it is asked for (slices without a rating left out)."""
    sql, params = ratings_sql(scales, "group_concat(updated_at, '')")
    params["end"] = bound
    for start in _bounds(db, "ratings", "rowid"):
        params.update(first=start, after=start + SLICE)
        row = db.execute(sql, params).fetchone()
        if row[0] is not None:  # else no counted rating in this slice
            yield tuple(row), dict(params)


def candidate_slices(db: Any) -> list[tuple[Any, ...]]:
    found = []
    for start in _bounds(db, "candidates", "id"):
        row = db.execute(_CANDIDATE_COLUMNS, {"first": start, "after": start + SLICE}).fetchone()
        if row[-1] is not None:  # else no live candidate in this slice
            found.append(tuple(row))
    return found


@dataclass(frozen=True)
class Read:
    """What the digest's long reads return: the ratings' slices as they come."""

    prompt_names: dict[int, str]
    candidates: list[tuple[Any, ...]]
    ratings: Iterable[Slice]


def read(db: Any, scales: list[str], bound: str) -> Read:
    prompt_names = dict(db.execute("SELECT id, name FROM prompts").fetchall())
    return Read(prompt_names, candidate_slices(db), rating_slices(db, scales, bound))


_END = object()  # after the last slice


class Reading:
    """:func:`read` under way on a thread of its own, with a connection of its own.

    The thread reads at most ``_AHEAD`` rating slices before they are taken: a
    million ratings' slices held at once would add ~50 MB to a digest's peak. Past
    those, SQLite reads the next slice while this thread parses the last one."""

    def __init__(self, store: StoreBase, scales: list[str], bound: str) -> None:
        self._store, self._scales, self._bound = store, scales, bound
        self._head: tuple[dict[int, str], list[tuple[Any, ...]]] | BaseException | None = None
        self._started = threading.Event()
        self._slices: queue.Queue[object] = queue.Queue(_AHEAD)
        self._abandoned = threading.Event()
        self._thread = threading.Thread(target=self._run, name="digest-reads", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._abandoned.is_set():
            try:
                self._slices.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            found = read(self._store.connection(), self._scales, self._bound)
            self._head = (found.prompt_names, found.candidates)
            self._started.set()
            for item in found.ratings:
                if not self._put(item):
                    return  # nobody takes them any more
            self._put(_END)
        except BaseException as error:  # raised again on the caller's thread
            if self._started.is_set():
                self._put(error)
            else:
                self._head = error
                self._started.set()
        finally:
            self._store.close()  # this thread's connection only

    def result(self) -> Read:
        self._started.wait()
        if isinstance(self._head, BaseException):
            raise self._head
        assert self._head is not None
        prompt_names, candidates = self._head
        return Read(prompt_names, candidates, self._taken())

    def _taken(self) -> Iterator[Slice]:
        try:
            while (item := self._slices.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            self._abandoned.set()  # taken to the end, or given up: the thread stops


def start_reading(store: StoreBase, scales: list[str], bound: str) -> Reading | None:
    """The long reads started on a thread; None for an in-memory database, which another
    connection would not see (they are then read when needed)."""
    if store.path == ":memory:":
        return None
    return Reading(store, scales, bound)
