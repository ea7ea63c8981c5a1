"""Render a digest (or a leaderboard) to Block Kit through Jinja2 templates.

Templates live in ``promptbot/digest/templates/``; a team may override any of them from
``digest.template_dir`` (searched first). Overrides can also extend the built-in ones as
``builtin/<name>``. Templates write mrkdwn text and mark where each block starts with
``{{ header() }}``, ``{{ section() }}``, ``{{ context() }}`` or ``{{ divider() }}``;
``{{ fallback() }}`` starts the notification text instead of a block.

Escaping: the environment is a plain (non-HTML) one whose ``finalize`` hook passes every
``{{ expression }}`` through :func:`promptbot.render.blocks.escape`, so a prompt named
``<!channel>`` arrives as ``&lt;!channel&gt;``. Text the template itself writes is left
alone, and so are :class:`Trusted` values: the block markers, and links the ``link``
filter builds from stored permalinks. Whatever a template produces, the message is cut
to fit Slack: at most 50 blocks, 3,000 characters a section, 150 a header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
)

from promptbot.config.settings import DigestSettings
from promptbot.digest import compiled_templates
from promptbot.digest.assembly import Digest
from promptbot.digest.judge_section import JudgeSection
from promptbot.errors import ConfigError
from promptbot.render.blocks import (
    BLOCKS_PER_MESSAGE,
    SECTION_TEXT_LIMIT,
    Block,
    Message,
    context,
    escape,
    header,
    section,
)
from promptbot.render.words import count, format_cost
from promptbot.verdicts.rankings import Rankings

TEMPLATE_DIR = Path(__file__).with_name("templates")
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
_MARK = "\x1e"  # ASCII record separator: starts a block marker; stripped from all values
_MARKER = re.compile(f"{_MARK}([a-z]+){_MARK}")
_SAFE_URL = re.compile(r"https://[^\s<>|]+")
_CUT_NOTE = "\n…(cut to fit Slack)"


class Trusted(str):
    """Text the bot wrote itself, passed through ``finalize`` unescaped. Use only for
    values built from trusted parts (see the ``link`` filter); never for names or text
    a user or a model wrote."""


def _clean(value: object) -> str:
    """Untrusted text on one line, with no block markers, escaped for mrkdwn."""
    text = str(value).replace(_MARK, "").replace("\r", " ").replace("\n", " ")
    return escape(text)


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return value
    return _clean(value)


def _link(url: object, label: object = "thread") -> Trusted:
    """``<url|label>`` for an https permalink; anything else shows the label only."""
    text = _clean(label)
    if isinstance(url, str) and _SAFE_URL.fullmatch(url):
        return Trusted(f"<{url.replace('&', '&amp;')}|{text}>")
    return Trusted(text)


def _marker(kind: str) -> Callable[[], Trusted]:
    return lambda: Trusted(f"{_MARK}{kind}{_MARK}")


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def _thousands(value: int) -> str:
    return f"{value:,}"


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Trimmed:
    """The first ``max_items`` of a sequence, and how many were left out."""

    items: tuple[Any, ...]
    more: int

    @property
    def more_line(self) -> str:
        return f"…and {self.more} more" if self.more else ""


def _taker(max_items: int) -> Callable[[Sequence[Any]], Trimmed]:
    def take(rows: Sequence[Any]) -> Trimmed:
        return Trimmed(tuple(rows[:max_items]), max(0, len(rows) - max_items))

    return take


@lru_cache(maxsize=8)
def _environment(template_dir: str | None) -> Environment:
    builtin = FileSystemLoader(TEMPLATE_DIR)
    loaders: list[Any] = [builtin, PrefixLoader({"builtin": builtin})]
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise ConfigError(f"digest.template_dir: {template_dir} is not a directory")
        loaders.insert(0, FileSystemLoader(template_dir))
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
        # A team's own templates are compiled afresh: they are few, and each directory
        # would leave its own entries behind (tests make thousands of directories).
        bytecode_cache=compiled_templates.cache(Path(__file__)) if template_dir is None else None,
    )
    environment.filters.update(
        link=_link,
        trusted=Trusted,
        pct=_pct,
        num=_num,
        signed=_signed,
        ms=_ms,
        day=_day,
        thousands=_thousands,
        cost=format_cost,
        count=count,
    )
    environment.globals.update(
        {kind: _marker(kind) for kind in ("header", "section", "context", "divider", "fallback")}
    )
    return environment


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _where(error: BaseException, name: str) -> str:
    """The template file and line a rendering error came from, from its traceback."""
    found = name
    trace = error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename} line {trace.tb_lineno}"
        trace = trace.tb_next
    return found


def render_template(
    name: str, settings: DigestSettings, /, **values: Any
) -> tuple[str, list[Block]]:
    """Render one template to (fallback text, blocks), both within Slack's limits.

    A template that does not parse, or fails while rendering, is a ConfigError naming
    the file and line (overrides come from the team's ``template_dir``).
    """
    environment = _environment(settings.template_dir)
    try:
        template = environment.get_template(name)
        output = template.render(
            settings=settings,
            max_items=settings.max_items,
            take=_taker(settings.max_items),
            **values,
        )
    except TemplateSyntaxError as error:
        where = error.filename or error.name or name
        raise ConfigError(
            f"digest template {where} line {error.lineno}: {_one_line(error.message or '')}"
        ) from None
    except (TemplateError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(
            f"digest template {_where(error, name)}: {_one_line(str(error))}"
        ) from error
    return _to_blocks(output)


def _to_blocks(output: str) -> tuple[str, list[Block]]:
    parts = _MARKER.split(output)
    pieces = [("section", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
    fallback = ""
    blocks: list[Block] = []
    for kind, raw in pieces:
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in raw.split("\n")))
        body = body.strip()
        if kind == "divider":
            blocks.append({"type": "divider"})
        elif not body:
            continue
        elif kind == "fallback":
            fallback = body
        elif kind == "header":
            blocks.append(header(fit_text(" ".join(body.split()), HEADER_LIMIT, note="…")))
        elif kind == "context":
            blocks.append(context(fit_text(body, SECTION_TEXT_LIMIT)))
        else:
            blocks.append(section(fit_text(body, SECTION_TEXT_LIMIT)))
    if len(blocks) > BLOCKS_PER_MESSAGE:
        left_out = len(blocks) - BLOCKS_PER_MESSAGE + 1
        blocks = blocks[: BLOCKS_PER_MESSAGE - 1]
        blocks.append(context(f"…and {count(left_out, 'more section')}, left out to fit Slack."))
    if not fallback:
        fallback = next(
            (b["text"]["text"] for b in blocks if b["type"] in ("header", "section")), "Digest"
        )
    return fit_text(" ".join(fallback.split()), FALLBACK_LIMIT, note="…"), blocks


def fit_text(text: str, limit: int, note: str = _CUT_NOTE) -> str:
    """``text`` cut to ``limit`` characters, at a line break when one is near, and never
    inside an entity (``&amp;``) or a link (``<url|label>``)."""
    if len(text) <= limit:
        return text
    budget = limit - len(note)
    cut = text.rfind("\n", 0, budget + 1)
    if cut < budget // 2:
        cut = budget
        entity = text.rfind("&", 0, cut)
        if entity != -1 and text.find(";", entity, cut) == -1:
            cut = entity
        opening = text.rfind("<", 0, cut)
        if opening != -1 and text.find(">", opening, cut) == -1:
            cut = opening
    return text[:cut].rstrip() + note


def render_digest(
    digest: Digest, settings: DigestSettings, judge: JudgeSection | None = None
) -> Message:
    """The digest as one Slack message (``digest.j2``); ``judge``: its Judge section."""
    text, blocks = render_template("digest.j2", settings, digest=digest, judge=judge)
    return Message(text=text, blocks=blocks)


def render_leaderboard(
    digest_or_rankings: Digest | Rankings,
    kind: Literal["prompts", "models"],
    settings: DigestSettings | None = None,
) -> Message:
    """The prompt leaderboard or the model ranking on its own (``leaderboard.j2``)."""
    if kind not in ("prompts", "models"):
        raise ValueError(f"kind must be 'prompts' or 'models', got {kind!r}")
    rankings = (
        digest_or_rankings.rankings
        if isinstance(digest_or_rankings, Digest)
        else digest_or_rankings
    )
    text, blocks = render_template(
        "leaderboard.j2", settings or DigestSettings(), rankings=rankings, kind=kind
    )
    return Message(text=text, blocks=blocks)
