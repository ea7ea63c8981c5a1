"""Which models the shell's bot asks.

With an API key or base URL in the environment, the team's own ``app.yaml`` is used,
as ``promptbot run`` would. Without, the built-in configuration below points at the
local model. The same configuration serves the tests, pointed at the model stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping

from promptbot.config.loading import parse_config
from promptbot.config.settings import AppConfig
from promptbot.shell.local_model import INSTALL

# One small model, sampled two ways, so a proposal has two blind candidates to compare.
BUILTIN_MODELS: tuple[tuple[str, float], ...] = (
    ("smollm2-precise", 0.0),  # deterministic, so a rerun shows the cache at work
    ("smollm2-creative", 1.0),
)
# The judge: the same small model, deterministic (so its verdicts are cached), asked
# after each run is posted. A 135M model will rarely agree with a team well enough to be
# trusted; the digest's Judge section says so once runs are revealed.
JUDGE_MODEL = "smollm2-judge"
# Short answers keep a laptop CPU at well under a second per candidate.
MAX_TOKENS = 64
# A shell session has a handful of reviewers: three votes are enough to be ranked.
MIN_VOTES = 3

NO_MODEL = (
    "no model to ask: set OPENAI_API_KEY (or OPENAI_BASE_URL for Ollama, vLLM…), or install"
    f" the local one: {INSTALL}"
)


def builtin_config(base_url: str) -> AppConfig:
    return parse_config(
        {
            "models": [
                {
                    "name": name,
                    "model": name,  # llama.cpp serves its one model under any name
                    "provider": "llamacpp",
                    "base_url": base_url,
                    "params": {"temperature": temperature, "max_tokens": MAX_TOKENS},
                    "timeout": 60,
                    "max_retries": 1,
                    "max_concurrency": 2,
                }
                for name, temperature in (*BUILTIN_MODELS, (JUDGE_MODEL, 0.0))
            ],
            "default_models": [name for name, _ in BUILTIN_MODELS],
            "judge": {"model": JUDGE_MODEL, "min_human_votes": MIN_VOTES},
            "digest": {"min_votes": MIN_VOTES},
        },
        source="the shell's built-in configuration",
    )


def has_configured_models(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("OPENAI_API_KEY") or environ.get("OPENAI_BASE_URL"))
