"""An OpenAI-compatible chat completions server on 127.0.0.1, for tests and shell mode.

Point the real client at it: ``openai.OpenAI(base_url=standin.base_url, api_key="x")``.
By default a model answers ``f"[{model}] {last user message}"``; ``set_behaviour`` adds
latency, error statuses (with ``Retry-After``) or a custom reply, per model. Every request
is recorded, and the stand-in tracks how many requests per model were in flight at once.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from promptbot.standins.server import HTTPReply, HTTPRequest, LoopbackServer

JSONDict = dict[str, Any]
Reply = str | Callable[[JSONDict], str]

ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class ModelRequest:
    """One chat completion request: ``params`` holds everything but model and messages."""

    model: str
    messages: list[JSONDict]
    params: JSONDict
    headers: dict[str, str]
    time: float


@dataclass
class Behaviour:
    latency: float = 0.0
    status: int | None = None
    times: int | None = None  # how many more requests get ``status``; None means all
    retry_after: float | None = None
    reply: Reply | None = None
    finish_reason: str = "stop"


@dataclass
class _Answer:
    behaviour: Behaviour
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def content_text(content: object) -> str:
    """A message's ``content`` as text: a string, or the text parts of a list."""
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(str(p) for p in parts)
    return "" if content is None else str(content)


def count_tokens(text: str) -> int:
    """The stand-in's tokenizer: words."""
    return len(text.split())


def error_body(status: int, message: str) -> JSONDict:
    kind, code = ERROR_KINDS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class OpenAIStandIn(LoopbackServer):
    def __init__(self, *, api_key: str | None = None, models: Iterable[str] = ()) -> None:
        super().__init__()
        self.api_key = api_key  # when set, other keys get 401
        self._configured = list(models)
        self.reset()

    def reset(self) -> None:
        """Forget requests, counters and behaviours."""
        with self._lock:
            self._requests: list[ModelRequest] = []
            self._behaviours: dict[str, Behaviour] = {}
            self._in_flight: dict[str, int] = {}
            self._max_in_flight: dict[str, int] = {}
            self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: pass as ``OpenAI(base_url=...)``."""
        return f"{self.root_url}/v1"

    def set_behaviour(
        self,
        model: str,
        *,
        latency: float = 0.0,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        reply: Reply | None = None,
        finish_reason: str = "stop",
    ) -> None:
        """How ``model`` answers from now on. ``status`` is answered instead of a completion
        for the next ``times`` requests (None: all), with ``Retry-After`` if given;
        ``latency`` applies to every request; ``reply`` is a string or ``f(request) -> str``."""
        with self._lock:
            self._behaviours[model] = Behaviour(
                latency, status, times, retry_after, reply, finish_reason
            )

    def clear_behaviour(self, model: str | None = None) -> None:
        with self._lock:
            if model is None:
                self._behaviours.clear()
            else:
                self._behaviours.pop(model, None)

    @property
    def requests(self) -> list[ModelRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, model: str) -> list[ModelRequest]:
        return [r for r in self.requests if r.model == model]

    @property
    def max_in_flight(self) -> dict[str, int]:
        """The most requests per model that were being answered at the same moment."""
        with self._lock:
            return dict(self._max_in_flight)

    def in_flight(self, model: str) -> int:
        with self._lock:
            return self._in_flight.get(model, 0)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ModelRequest]:
        """Wait until at least ``count`` requests arrived (any model); return them all."""

        def enough() -> list[ModelRequest] | None:
            found = self.requests
            return found if len(found) >= count else None

        return self.wait_for(enough, timeout, what=f"{count} model request(s)")

    def _summary(self) -> str:
        return f"{len(self.requests)} request(s) so far"

    # -- HTTP

    def handle(self, request: HTTPRequest) -> HTTPReply:
        expected = f"Bearer {self.api_key}"
        if self.api_key is not None and request.headers.get("authorization") != expected:
            return HTTPReply.of_json(error_body(401, "Incorrect API key provided."), 401)
        if request.method == "GET" and request.path == "/v1/models":
            return HTTPReply.of_json({"object": "list", "data": self._models()})
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._chat_completion(request)
        return HTTPReply.of_json(error_body(404, f"Unknown path {request.path}"), 404)

    def _models(self) -> list[JSONDict]:
        with self._lock:
            seen = [*self._configured, *self._behaviours, *(r.model for r in self._requests)]
        names = sorted(set(seen))
        return [{"id": n, "object": "model", "created": 0, "owned_by": "standin"} for n in names]

    def _chat_completion(self, request: HTTPRequest) -> HTTPReply:
        try:
            body = json.loads(request.body)
            model, messages = str(body["model"]), list(body["messages"])
        except (ValueError, KeyError, TypeError):
            message = "The body must be JSON with model and messages."
            return HTTPReply.of_json(error_body(400, message), 400)
        if body.get("stream"):
            return HTTPReply.of_json(error_body(400, "The stand-in does not stream."), 400)
        answer = self._arrive(model, messages, body, request.headers)
        try:
            if self._closing.wait(answer.behaviour.latency):
                return HTTPReply.of_json(error_body(503, "The stand-in is closing."), 503)
            if answer.status is not None:
                message = f"Stand-in error {answer.status} for {model}."
                return HTTPReply.of_json(
                    error_body(answer.status, message), answer.status, answer.headers
                )
            return HTTPReply.of_json(self._completion(model, messages, body, answer.behaviour))
        finally:
            with self._lock:
                self._in_flight[model] -= 1

    def _arrive(
        self, model: str, messages: list[JSONDict], body: JSONDict, headers: dict[str, str]
    ) -> _Answer:
        """Record the request, count it in flight, and decide now whether it fails."""
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        with self._lock:
            self._requests.append(ModelRequest(model, messages, params, headers, time.time()))
            self._in_flight[model] = self._in_flight.get(model, 0) + 1
            peak = max(self._max_in_flight.get(model, 0), self._in_flight[model])
            self._max_in_flight[model] = peak
            behaviour = self._behaviours.get(model, Behaviour())
            answer = _Answer(behaviour)
            if behaviour.status is not None and behaviour.times != 0:
                answer.status = behaviour.status
                if behaviour.times is not None:
                    behaviour.times -= 1
                if behaviour.retry_after is not None:
                    answer.headers["Retry-After"] = f"{behaviour.retry_after:g}"
            return answer

    def _completion(
        self, model: str, messages: list[JSONDict], body: JSONDict, behaviour: Behaviour
    ) -> JSONDict:
        if callable(behaviour.reply):
            text = behaviour.reply(body)
        elif behaviour.reply is not None:
            text = behaviour.reply
        else:
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            text = f"[{model}] {content_text(users[-1].get('content')) if users else ''}"
        prompt_tokens = sum(
            count_tokens(content_text(m.get("content"))) for m in messages if isinstance(m, dict)
        )
        completion_tokens = count_tokens(text)
        with self._lock:
            number = next(self._ids)
        return {
            "id": f"chatcmpl-standin-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": behaviour.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
