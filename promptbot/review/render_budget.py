"""Untrusted templates render within a budget of time and output size.

Rendering runs in a small pool of worker processes (render_worker.py), started
lazily on first use. A render that runs past its time is killed with its process,
which is replaced on next use; a render past the output size is stopped by the
worker. Either way the caller gets a TemplateError and no model is called.
Answers are cached, since a run renders the same template and values several times
(cache key, cost estimate, the call itself).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import Any

from promptbot.errors import TemplateError

logger = logging.getLogger(__name__)

WORKERS = 2
START_SECONDS = 30.0
_CACHED = 256


class _RendererDown(TemplateError):
    """The worker failed, not the template: worth another try, so never cached."""


class _Worker:
    """One render process, used by one thread at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""

    def render(self, request: dict[str, Any], seconds: float) -> dict[str, Any]:
        process = self._started()
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
        except OSError:
            self.stop()
            raise _RendererDown("the template renderer stopped; try again") from None
        line = self._read_line(time.monotonic() + seconds)
        if line is None:
            self.stop()
            raise TemplateError(
                f"template took longer than {seconds:g} s to render"
                " (limits.template_render_seconds)"
            )
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._process = subprocess.Popen(
            [sys.executable, "-m", "promptbot.review.render_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self._pending = b""
        if self._read_line(time.monotonic() + START_SECONDS) is None:
            self.stop()
            raise _RendererDown("the template renderer did not start")
        return self._process

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the worker, or None at the deadline or if it died."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


class RenderBudget:
    def __init__(self, seconds: float, max_output_bytes: int, workers: int = WORKERS) -> None:
        self.seconds = seconds
        self.max_output_bytes = max_output_bytes
        self._all = [_Worker() for _ in range(workers)]
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for worker in self._all:
            self._idle.put(worker)
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, source: str, values: dict[str, Any]) -> str:
        """The rendered text, or TemplateError (over budget, refused by the sandbox,
        a missing value). Blocks while every worker is busy: never call it from
        Bolt's listener threads."""
        request = {"source": source, "values": values, "max_output_bytes": self.max_output_bytes}
        key = json.dumps(request, sort_keys=True, default=str)
        with self._lock:
            reply = self._cache.get(key)
            if reply is not None:
                self._cache.move_to_end(key)
        if reply is None:
            worker = self._idle.get()
            try:
                reply = worker.render(json.loads(key), self.seconds)
            except _RendererDown:
                raise
            except TemplateError as error:
                reply = {"error": str(error)}
            finally:
                self._idle.put(worker)
            with self._lock:
                self._cache[key] = reply
                while len(self._cache) > _CACHED:
                    self._cache.popitem(last=False)
        if "error" in reply:
            raise TemplateError(str(reply["error"]))
        return str(reply["text"])

    def close(self) -> None:
        for worker in self._all:
            worker.stop()
