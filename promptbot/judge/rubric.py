"""The judge's rubrics: Jinja2 templates rendered in the same sandbox, within the same
budget, as the team's own prompt templates (promptbot/review/render_budget.py).

A rubric sees ``prompt`` (the prompt template the team wrote), ``input`` (the input's
variables, one ``name: value`` line each), ``answer``, and ``stars``: the team's stars
scale as ``stars.low`` and ``stars.high``, or none when the team has no stars scale (the
default then asks for approval alone). A pair rubric sees ``prompt``, ``input``,
``first`` and ``second``. The judge must reply in the strict line format the defaults
ask for; a team's own rubric keeps those lines. app.yaml's rubrics are checked at load
(promptbot/config/rubric_checks.py).
"""

from __future__ import annotations

from typing import Any

from promptbot.config.settings import AppConfig

DEFAULT_RUBRIC = """\
You review answers that a language model gave to a team's prompt. Judge the answer as a \
careful member of the team would: is it correct, does it do what the prompt asks, is it \
clear and of a fitting length?

The prompt:
<prompt>
{{ prompt }}
</prompt>

The input it was given:
<input>
{{ input }}
</input>

The answer:
<answer>
{{ answer }}
</answer>

Reply with exactly these {{ "three" if stars else "two" }} lines and nothing else:
APPROVE: yes, no or unsure
{% if stars %}STARS: a whole number from {{ stars.low }} (poor) to {{ stars.high }} (excellent)
{% endif %}REASON: one short sentence
"""

# Head-to-head: two answers to one input; asked twice, in both orders.
PAIR_RUBRIC = """\
You compare two answers that language models gave to a team's prompt. Judge them as a \
careful member of the team would: correctness first, then doing what the prompt asks, \
then clarity. The order of the answers means nothing.

The prompt:
<prompt>
{{ prompt }}
</prompt>

The input it was given:
<input>
{{ input }}
</input>

Answer 1:
<answer>
{{ first }}
</answer>

Answer 2:
<answer>
{{ second }}
</answer>

Reply with exactly these two lines and nothing else:
BETTER: 1, 2 or tie
REASON: one short sentence
"""


def rubric_for(config: AppConfig, prompt: str) -> str:
    """The prompt's own rubric, else the team's, else the default."""
    return config.prompt_settings(prompt).rubric or config.judge.rubric or DEFAULT_RUBRIC


def pair_rubric_for(config: AppConfig, prompt: str) -> str:
    """The prompt's own head-to-head rubric, else the team's, else the default."""
    own = config.prompt_settings(prompt).pair_rubric
    return own or config.judge.pair_rubric or PAIR_RUBRIC


def stars_scale(config: AppConfig) -> dict[str, str] | None:
    """The team's stars scale as a rubric sees it (``low``, ``high``); None without one."""
    scale = config.scales.get("stars")
    if scale is None:
        return None
    return {"low": f"{min(scale.emoji.values()):g}", "high": f"{max(scale.emoji.values()):g}"}


def input_text(variables: dict[str, Any]) -> str:
    """The input as the judge reads it: one ``name: value`` line per variable."""
    if not variables:
        return "(no variables)"
    return "\n".join(f"{name}: {value}" for name, value in variables.items())
