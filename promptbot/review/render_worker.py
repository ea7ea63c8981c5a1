"""A process that renders templates, one JSON line in, one JSON line out.

Pure-Python loops in Jinja cannot be interrupted from another thread, so untrusted
templates render here, where the parent can kill a render that runs past its budget
(render_budget.py). The process also caps its own memory and runs at a lower
priority, so a runaway template slows the bot's own threads as little as it can.

Request: ``{"source": str, "values": {...}, "max_output_bytes": int}``.
Answer: ``{"text": str}`` or ``{"error": str}``. The first line out is ``{"ready": true}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

MEMORY_LIMIT_BYTES = 768 * 1024 * 1024


def _limit_resources() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the parent's time budget still applies
    with contextlib.suppress(OSError):
        os.nice(10)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    from promptbot.errors import TemplateError
    from promptbot.review.sandbox import parse_template

    try:
        template = parse_template(request["source"], max_bytes=len(request["source"]) * 4 + 1)
        text = template.render(request["values"], max_output_bytes=request["max_output_bytes"])
    except TemplateError as error:
        return {"error": str(error)}
    except MemoryError:
        return {"error": "template needs too much memory to render"}
    return {"text": text}


def main() -> None:
    _limit_resources()
    from promptbot.review import sandbox

    sandbox.prepare()  # before "ready": Jinja2's loading is start-up, not the first render

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except Exception as error:  # a malformed request must not end the worker
            reply = {"error": f"template failed to render: {type(error).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
