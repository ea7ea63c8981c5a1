"""Log lines made safe: tokens and secrets masked, and every line clipped.

Installed on the log handlers by ``configure_logging``, so it also covers what
libraries log (Bolt logs request bodies, which carry Slack's verification token).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

MAX_LINE = 2000
MASK = "[redacted]"

_SECRETS = re.compile(
    r"\b(?:xox[abposr]|xapp|xoxe(?:\.xox[bp])?)-[A-Za-z0-9-]+"  # Slack tokens
    r"|\bsk-[A-Za-z0-9_-]{8,}"  # OpenAI-style API keys
)
# token=…, "token": "…", client_secret=… and the like, in form and JSON bodies.
_NAMED = re.compile(
    r"""((?:token|secret|api_key|password|authorization)["']?\s*[:=]\s*["']?)[^&"'\s,}]+""",
    re.IGNORECASE,
)


def redact(text: str, limit: int = MAX_LINE) -> str:
    text = _NAMED.sub(lambda m: m.group(1) + MASK, _SECRETS.sub(MASK, text))
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters not logged]"
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """The process's logging: one handler, every record redacted and clipped."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
