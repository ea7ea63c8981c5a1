"""Model calls behind one small interface. HTTP lives only in here, inside the
official openai client, which any OpenAI-compatible endpoint speaks.

The openai package is imported with the first call, not with this module: it takes
about a third of a second and tens of megabytes, which a bot that is only storing
ratings should not pay at start-up (tests/test_startup.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from promptbot.config.environment import Environment
from promptbot.config.settings import ModelConfig
from promptbot.domain import Completion

if TYPE_CHECKING:
    import openai

Messages = list[dict[str, str]]


class ChatModel(Protocol):
    name: str
    endpoint: str | None  # part of the cache key: the same model id elsewhere is another model

    def complete(self, messages: Messages) -> Completion: ...


def build_messages(prompt: str, system_prompt: str | None) -> Messages:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": prompt})
    return messages


class OpenAIChatModel:
    """One configured model. The client carries the timeout and the retries; the
    openai client honours Retry-After on 429 and retries 5xx and connection errors."""

    def __init__(self, config: ModelConfig, environment: Environment) -> None:
        self.name = config.name
        self.config = config
        self.endpoint = config.resolved_base_url(environment.values)
        # Local servers (Ollama, llama.cpp…) need no key, but the client insists on one.
        self._api_key = environment.get(config.api_key_env) or "not-needed"
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()

    def _openai_client(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self._api_key,
                    base_url=self.endpoint,
                    timeout=self.config.timeout,
                    max_retries=self.config.max_retries,
                )
            return self._client

    def complete(self, messages: Messages) -> Completion:
        client = self._openai_client()
        import openai  # loaded by the client above; its errors are caught below

        started = time.monotonic()
        try:
            response = client.chat.completions.create(
                model=self.config.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.config.params.temperature,
                max_tokens=self.config.params.max_tokens,
            )
        except openai.APITimeoutError:
            return _failed(f"timed out after {self.config.timeout:g} s", started)
        except openai.RateLimitError:
            return _failed("rate limited by the model API (429), retries exhausted", started)
        except openai.APIStatusError as error:
            return _failed(f"model API answered HTTP {error.status_code}", started)
        except openai.APIConnectionError:
            return _failed("could not connect to the model API", started)
        except openai.OpenAIError as error:
            return _failed(f"model call failed: {type(error).__name__}", started)
        latency_ms = round((time.monotonic() - started) * 1000)
        if not response.choices:
            return _failed("model returned no choices", started)
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            output=choice.message.content or "",
            error=None,
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
        )


def _failed(message: str, started: float) -> Completion:
    latency_ms = round((time.monotonic() - started) * 1000)
    return Completion(None, message, None, None, latency_ms, None)


ModelFactory = Callable[[ModelConfig], ChatModel]


def openai_factory(environment: Environment) -> ModelFactory:
    def build(config: ModelConfig) -> ChatModel:
        return OpenAIChatModel(config, environment)

    return build
