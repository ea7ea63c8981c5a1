"""A table derived from a large data file, kept once per machine beside the user's
other caches: Slack's emoji aliases are 53 KB of a 1.3 MB file that takes 20 ms to
parse, and the settings need them at every start-up.

An entry is named by the data file's path, size and modification time, and by
``FORMAT``, so a new version of the data, or of how it is derived, is a new entry. An
entry that cannot be read, or is not a table of names, is derived again; a cache that
cannot be written costs the derivation, never the answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

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
    path = entry(source)
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
