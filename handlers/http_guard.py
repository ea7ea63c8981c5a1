"""The trust boundary in front of Bolt: size, signature and replay checks on the raw
request, before any of it is parsed, logged or acted on.

Bolt verifies signatures too, but fails open on a non-numeric timestamp (its
``ValueError`` reaches the error handler as if the request were real) and logs the
whole body of a request that fails. Here every check fails closed, and an unverified
body is never logged beyond a short, redacted prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promptbot.redaction import redact
from storage.seen_requests import SeenRequests

logger = logging.getLogger(__name__)

# Slack's window: a request signed more than 5 minutes from now is refused.
WINDOW_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
LOGGED_PREFIX = 64
_READ_CHUNK = 65_536


@dataclass(frozen=True)
class Refusal:
    status: str
    body: bytes

    @classmethod
    def unauthorized(cls) -> Refusal:
        return cls("401 Unauthorized", b'{"error": "invalid request"}')

    @classmethod
    def too_large(cls, limit: int) -> Refusal:
        return cls("413 Content Too Large", f"request body over {limit} bytes".encode())


@dataclass(frozen=True)
class Admitted:
    body: bytes
    timestamp: int
    signature: str


@dataclass
class RequestGuard:
    signing_secret: str = field(repr=False)
    max_body_bytes: int
    seen: SeenRequests | None = None
    verify: bool = True  # off only behind `promptbot run --insecure-skip-verification`
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._key = self.signing_secret.encode()

    def admit(self, environ: dict[str, Any]) -> Admitted | Refusal:
        """The request's body if it is small enough and signed by Slack, else why not."""
        declared = _content_length(environ)
        if declared is not None and declared > self.max_body_bytes:
            logger.warning("refused a %d-byte request: over %d", declared, self.max_body_bytes)
            return Refusal.too_large(self.max_body_bytes)
        body = _read_at_most(environ["wsgi.input"], declared, self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            logger.warning("refused a request body over %d bytes", self.max_body_bytes)
            return Refusal.too_large(self.max_body_bytes)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        if not self.verify:
            return Admitted(body, 0, "")  # unsigned: nothing to tell a replay by
        reason = self._problem(body, timestamp, signature)
        if reason is not None:
            logger.warning(
                "refused an unverified request (%s): %d bytes, starting %r",
                reason,
                len(body),
                redact(body[:LOGGED_PREFIX].decode("utf-8", "replace")),
            )
            return Refusal.unauthorized()
        return Admitted(body, int(timestamp), signature)

    def _problem(self, body: bytes, timestamp: str, signature: str) -> str | None:
        if not _TIMESTAMP.fullmatch(timestamp):
            return "missing or non-integer timestamp"
        if abs(self.clock() - int(timestamp)) > WINDOW_SECONDS:
            return "timestamp outside the 5-minute window"
        if not _SIGNATURE.fullmatch(signature):
            return "missing or malformed signature"
        # hmac.digest: the one-shot form, in C (hmac.new builds an object per request).
        expected = hmac.digest(
            self._key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hex()
        if not hmac.compare_digest("v0=" + expected, signature):
            return "signature does not match"
        return None


def _content_length(environ: dict[str, Any]) -> int | None:
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or ""))
    except ValueError:
        return None


def _read_at_most(stream: Any, declared: int | None, most: int) -> bytes:
    """Read the body in chunks, stopping once ``most`` bytes are in: a body larger
    than the limit is never held whole."""
    wanted = most if declared is None else min(declared, most)
    parts: list[bytes] = []
    got = 0
    while got < wanted:
        part = stream.read(min(_READ_CHUNK, wanted - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def is_command_or_interaction(body: bytes) -> bool:
    """Slash commands and interactions are form bodies; Events API envelopes are JSON
    (deduped by event_id elsewhere)."""
    return not body.lstrip().startswith(b"{")
