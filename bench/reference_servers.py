"""The references the benches measure promptbot against, each its own process:

- ``bolt``: bare Bolt, the same way promptbot serves it (signature checks on, a listener
  pool of 16 threads, waitress with the same thread count), with no-op listeners for the
  events promptbot handles, and /healthz;
- ``waitress``: bare waitress answering 200 to everything, after reading the body.

Run: python bench/reference_servers.py bolt|waitress --port N [--threads 16]
Slack's Web API base URL comes from SLACK_API_URL (the stand-in), as for promptbot.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import waitress

StartResponse = Callable[..., Any]
LISTENER_THREADS = 16  # as handlers/app.py


def bare_waitress(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


def bare_bolt() -> Callable[..., Iterable[bytes]]:
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="bolt"),
    )

    @app.event("reaction_added")
    def reaction_added() -> None:
        pass

    @app.event("reaction_removed")
    def reaction_removed() -> None:
        pass

    @app.event("message")
    def message() -> None:
        pass

    bolt = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        return bolt(environ, start_response)

    return wsgi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["bolt", "waitress"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    app = bare_bolt() if args.kind == "bolt" else bare_waitress
    waitress.serve(app, host="127.0.0.1", port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
