"""What model calls cost, and which calls may be answered from the cache.

A cached answer is reused only for an identical call: same model id and endpoint,
same messages, same sampling parameters. Only models that cache (temperature 0, or
``cache: true``) use it, since a sampled answer is one draw among many.
"""

from __future__ import annotations

import hashlib
import json

from promptbot.config.settings import ModelConfig
from promptbot.review.providers import Messages

# A rough count, good enough to warn before spending: about four characters a token.
CHARS_PER_TOKEN = 4


def call_cost(model: ModelConfig, tokens_in: int | None, tokens_out: int | None) -> float:
    price = model.price
    return (
        (tokens_in or 0) * price.input_per_million + (tokens_out or 0) * price.output_per_million
    ) / 1_000_000


def estimated_cost(model: ModelConfig, messages: Messages) -> float:
    """The most one call may cost: its prompt, and an answer as long as max_tokens."""
    chars = sum(len(m["content"]) for m in messages)
    return call_cost(model, chars // CHARS_PER_TOKEN + 1, model.params.max_tokens)


def cache_key(model: ModelConfig, base_url: str | None, messages: Messages) -> str:
    identity = {
        "model": model.model,
        "endpoint": base_url,
        "messages": messages,
        "temperature": model.params.temperature,
        "max_tokens": model.params.max_tokens,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
