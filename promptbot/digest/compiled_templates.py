"""The built-in digest templates, compiled once per machine: Jinja2's bytecode cache."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from pathlib import Path

import jinja2
from jinja2 import BytecodeCache, FileSystemBytecodeCache
from jinja2.bccache import Bucket


class CompiledTemplates(FileSystemBytecodeCache):
    """The built-in templates compiled once and kept in the user's private temp dir
    (Jinja2 makes it 0700 and checks its owner): compiling them costs more than
    rendering a digest, which `promptbot digest --print` would pay on every call.
    Entries are keyed by template path and source checksum, and the file name carries
    a hash of ``options`` (the module that sets the environment's options) and of
    Jinja2's version, which decide what the templates compile to. A cache that cannot
    be read or written costs a compile, never a digest."""

    def __init__(self, directory: str | None, options: Path) -> None:
        key = hashlib.blake2b(options.read_bytes(), digest_size=6)
        key.update(jinja2.__version__.encode())
        super().__init__(directory, f"__promptbot_digest_{key.hexdigest()}_%s.cache")

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# Where compiled templates are kept; None: Jinja2's private directory in the temp dir.
# (The tests keep theirs apart.)
DIRECTORY: str | None = None


def cache(options: Path) -> BytecodeCache | None:
    """The cache for templates compiled with the options set in ``options``, if the
    temp dir lets us keep one."""
    try:
        return CompiledTemplates(DIRECTORY, options)
    except (OSError, RuntimeError):  # no private temp dir to be had: compile every time
        return None
