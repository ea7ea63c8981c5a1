"""Whether each configured model can work, asked before anyone proposes: its key
variable is set and its endpoint takes connections (a warning per model at start-up,
off the start-up path), and it answers a one-token call (`promptbot doctor`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from promptbot.config.environment import Environment
from promptbot.config.settings import AppConfig, ModelConfig
from promptbot.domain import Completion
from promptbot.review.providers import build_messages, openai_factory

CONNECT_SECONDS = 2.0
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def host_and_port(endpoint: str) -> tuple[str, int] | None:
    """``https://api.openai.com/v1`` → (``api.openai.com``, 443); None if unreadable."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return None
    where = rest.split("/", 1)[0].rpartition("@")[2]
    if where.startswith("["):  # [::1]:8080
        host, _, port = where[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = where.partition(":")
    default = 443 if scheme.lower() == "https" else 80
    if not host or (port and not port.isdigit()):
        return None
    return host, int(port) if port else default


def missing_key(model: ModelConfig, environment: Environment) -> str | None:
    """The unset variable a model needs a key from: a hosted OpenAI endpoint, or any
    model whose ``api_key_env`` was named on purpose. Local servers need none."""
    if environment.get(model.api_key_env):
        return None
    where = host_and_port(model.resolved_base_url(environment.values) or "https://x")
    hosted = model.provider == "openai" and (where is None or where[0] not in _LOCAL_HOSTS)
    named = model.api_key_env != ModelConfig.model_fields["api_key_env"].default
    return model.api_key_env if hosted or named else None


def refused(endpoint: str | None, timeout: float = CONNECT_SECONDS) -> str | None:
    """Why nothing takes a TCP connection at the endpoint, or None if something does."""
    where = host_and_port(endpoint or "")
    if where is None:
        return f"'{endpoint}' is not a URL"
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError as error:
        return error.strerror or type(error).__name__.lower()
    return None


def model_warnings(config: AppConfig, environment: Environment) -> list[str]:
    """One line per model that cannot work as configured; the endpoints are tried
    concurrently, each once."""
    lines: dict[str, str] = {}
    for model in config.models:
        if variable := missing_key(model, environment):
            lines[model.name] = f"model {model.name}: {variable} is not set; its calls will fail"
    # A model already warned about is not dialled: no connection to a host it cannot use.
    endpoints = {
        m.name: m.resolved_base_url(environment.values)
        for m in config.models
        if m.name not in lines
    }
    distinct = sorted({e for e in endpoints.values() if e})
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(distinct)))) as pool:
        problems = dict(zip(distinct, pool.map(refused, distinct), strict=True))
    for name, endpoint in endpoints.items():
        problem = problems.get(endpoint) if endpoint else "no endpoint"
        if problem:
            lines[name] = f"model {name}: nothing answers at {endpoint} ({problem})"
    return [lines[m.name] for m in config.models if m.name in lines]


def warn_in_background(
    config: AppConfig, environment: Environment, warn: Callable[[str], None]
) -> threading.Thread:
    """Start-up must not wait for slow or unreachable endpoints: the warnings come from
    a daemon thread, when they are known."""

    def check() -> None:
        for line in model_warnings(config, environment):
            warn(line)

    thread = threading.Thread(target=check, name="model-preflight", daemon=True)
    thread.start()
    return thread


def one_token_call(model: ModelConfig, environment: Environment) -> Completion:
    """The model asked for one token, without retries: does it answer, and how fast."""
    params = model.params.model_copy(update={"max_tokens": 1})
    tiny = model.model_copy(update={"params": params, "max_retries": 0})
    return openai_factory(environment)(tiny).complete(build_messages("Say OK.", None))
