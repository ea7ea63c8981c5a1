"""Rendering the digest and leaderboards: Block Kit limits, escaping, team templates."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment
from jinja2.bccache import bc_magic

from promptbot.digest import compiled_templates, rendering
from promptbot.digest.assembly import Digest, build_digest
from promptbot.digest.rendering import fit_text, render_digest, render_leaderboard, render_template
from promptbot.errors import ConfigError
from promptbot.render.blocks import Message, escape
from promptbot.standins.blockkit import check_blocks
from promptbot.verdicts.evidence import Evidence
from tests.test_rankings import BEFORE, DURING, END, SCALES, START, Book, settings

HOSTILE = ["<!channel>", "<@U1>", "a & b", "<https://evil|x>", "<!here>", "<!subteam^S1>"]
PERMALINK = re.compile(r"https://team\.slack\.com/archives/C1/p\d+")


def texts(message: Message) -> list[str]:
    """Every piece of text Slack would show or parse, the fallback included."""
    found = [message.text]
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", [])]
    return found


def assert_safe(message: Message) -> None:
    """Within Block Kit limits; every ``<`` opens one of our permalinks; no bare ``&``."""
    assert check_blocks(message.blocks, "message") == []
    assert message.text and len(message.text) <= 3000
    for text in texts(message):
        for inside in re.findall(r"<([^>]*)>?", text):
            url, _, label = inside.partition("|")
            assert PERMALINK.fullmatch(url), f"unexpected link or mention: <{inside}>"
            assert label == "thread"
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text


def hostile_book(prompts: int = 500) -> Book:
    book = Book()
    for i in range(prompts):
        name = f"{i:03} {HOSTILE[i % len(HOSTILE)]}"  # sorted by number: all kinds show
        models = ("<!everyone>", "m & m") if i % 7 == 0 else ("m1", "m2")
        if i % 4 == 3:
            (lonely,) = book.run(name, 1, at=DURING)  # needs votes, with a thread link
            book.rate(lonely, "U1", 1.0)
            continue
        a, b = book.run(name, 1, models, at=BEFORE if i % 2 else DURING, comments=i % 4)
        book.duel(a, b, 4 + i % 5, 2)
        if i % 5 == 0:
            v2_a, _, v1_a, _ = book.run(name, 2, models, carry=1, at=DURING)
            book.duel(v2_a, v1_a, 6, 1)
    return book


@pytest.fixture(scope="module")
def big_digest() -> Digest:
    return build_digest(
        hostile_book().evidence(archived={f"001 {HOSTILE[1]}"}),
        start=START,
        end=END,
        settings=settings(bootstrap_rounds=20),
        now=END,
    )


@pytest.mark.parametrize("max_items", [10, 50])
def test_500_hostile_prompts_stay_within_limits_and_escaped(
    big_digest: Digest, max_items: int
) -> None:
    assert len(big_digest.leaderboard) > 100
    assert len(big_digest.needs_votes) > 100
    message = render_digest(big_digest, settings(max_items=max_items))
    assert_safe(message)
    joined = "\n".join(texts(message))
    for raw in HOSTILE:
        assert raw not in joined
        assert escape(raw) in joined  # it arrives, escaped
    assert "…and " in joined  # long sections were trimmed to max_items
    assert "<https://team.slack.com/archives/C1/p" in joined  # needs-votes thread links
    if max_items == 50:
        assert "…(cut to fit Slack)" in joined  # 50 rows overflow a section: cut, not dropped


@pytest.mark.parametrize("kind", ["prompts", "models"])
def test_leaderboards_of_hostile_prompts_stay_safe(big_digest: Digest, kind: Any) -> None:
    message = render_leaderboard(big_digest, kind)
    assert_safe(message)
    assert message.blocks[0]["type"] == "header"
    assert render_leaderboard(big_digest.rankings, kind) == message


def test_leaderboard_rows_carry_intervals_and_rank_ub() -> None:
    book = Book()
    (a,) = book.run("summary", 1)
    (b,) = book.run("triage", 1)
    book.votes(a, 90, 10)
    book.votes(b, 3, 0)
    digest = build_digest(book.evidence(), start=START, end=END, settings=settings(min_votes=3))
    section = render_leaderboard(digest, "prompts").blocks[1]["text"]["text"]
    assert "1. *summary v1* · approval 90% [83%–94%], n = 100 · Rank (UB) 1" in section
    assert "2. *triage v1* · approval 100% [44%–100%], n = 3 · Rank (UB) 1" in section
    models = render_leaderboard(digest, "models").blocks[1]["text"]["text"]
    assert "Not enough head-to-head votes to rank yet." in models
    with pytest.raises(ValueError, match="kind"):
        render_leaderboard(digest, "versions")  # type: ignore[arg-type]


def test_sections_are_trimmed_to_max_items() -> None:
    book = Book()
    for i in range(15):
        (candidate,) = book.run(f"p{i:02}", 1)
        book.votes(candidate, 5 + i, 1)
    digest = build_digest(book.evidence(), start=START, end=END, settings=settings())
    message = render_leaderboard(digest, "prompts", settings(max_items=3))
    section = message.blocks[1]["text"]["text"]
    assert section.count(" · Rank (UB) ") == 3
    assert section.endswith("…and 12 more")


def test_empty_period_renders_plainly() -> None:
    empty = Evidence([], [], [], SCALES)
    digest = build_digest(empty, start=START, end=END, settings=settings(), now=END)
    message = render_digest(digest, settings())
    assert_safe(message)
    assert "No prompts were proposed or rated this week." in message.text
    assert any(
        b["type"] == "section" and b["text"]["text"] == digest.headline for b in message.blocks
    )


def test_digest_mentions_winners_pairs_late_ratings_and_biases() -> None:
    book = Book()
    a, b = book.run("p", 1, ("m1", "m2"), at=DURING)
    book.duel(a, b, 45, 5)
    c, d = book.run("q", 1, ("m3", "m4"), at=DURING)
    book.duel(c, d, 10, 9)
    book.rate(a, "L1", 0.0, late=True)
    digest = build_digest(book.evidence(), start=START, end=END, settings=settings(), now=END)
    joined = "\n".join(texts(render_digest(digest, settings())))
    assert "• Models on p: *m1* is #1, separably ahead of every other entry" in joined
    assert "• Models on q: m3 vs m4" in joined
    assert "1 rating arrived after voting closed; it is kept but not counted." in joined
    assert "position bias" in joined.lower() and "length bias" in joined.lower()
    assert "Cost and latency this week" in joined


def test_team_template_directory_overrides_and_extends(tmp_path: Path) -> None:
    (tmp_path / "digest.j2").write_text(
        "{{ header() }}Team digest\n{{ section() }}Top: {{ digest.leaderboard[0].item }}\n"
    )
    (tmp_path / "leaderboard.j2").write_text(
        '{% extends "builtin/digest.j2" %}{% block movers %}{{ section() }}Moved!{% endblock %}'
    )
    book = Book()
    (candidate,) = book.run("<!channel> & co", 1)
    book.votes(candidate, 6, 0)
    team = settings(template_dir=str(tmp_path))
    digest = build_digest(book.evidence(), start=START, end=END, settings=team, now=END)

    message = render_digest(digest, team)
    assert [b["type"] for b in message.blocks] == ["header", "section"]
    assert message.blocks[1]["text"]["text"] == "Top: &lt;!channel&gt; &amp; co v1"

    extended = render_template("leaderboard.j2", team, digest=digest)[1]
    sections = [b["text"]["text"] for b in extended if b["type"] == "section"]
    assert "Moved!" in sections and any(s.startswith("*Leaderboard*") for s in sections)


def test_broken_team_template_is_a_one_line_config_error(tmp_path: Path) -> None:
    (tmp_path / "digest.j2").write_text("{{ section() }}\nfine line\n{% for x in %}\n")
    broken = settings(template_dir=str(tmp_path))
    digest = build_digest(Evidence([], [], [], SCALES), start=START, end=END, settings=broken)
    with pytest.raises(ConfigError) as caught:
        render_digest(digest, broken)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{tmp_path / 'digest.j2'} line 3" in message

    (tmp_path / "digest.j2").write_text("{{ section() }}\n{{ digest.no_such_field }}\n")
    with pytest.raises(ConfigError, match=r"digest\.j2 line 2: .*no_such_field"):
        render_digest(digest, broken)

    missing = settings(template_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="not a directory"):
        render_digest(digest, missing)


def test_values_are_escaped_and_only_permalinks_become_links(tmp_path: Path) -> None:
    (tmp_path / "probe.j2").write_text(
        "{{ section() }}{{ name }}\n"
        '{{ good | link("thread") }} {{ bad | link("<b>") }} {{ "<!here>" | link }}\n'
        "{{ note | trusted }}\n"
    )
    text, blocks = render_template(
        "probe.j2",
        settings(template_dir=str(tmp_path)),
        name="<!channel>\n\x1esection\x1e & <@U1>",
        good="https://team.slack.com/archives/C1/p1?thread_ts=1.2&cid=C1",
        bad="https://evil.example/x|<!channel>",
        note="*bold we wrote*",
    )
    assert len(blocks) == 1  # a newline or marker in a value cannot start a block
    assert blocks[0]["text"]["text"] == (
        "&lt;!channel&gt; section &amp; &lt;@U1&gt;\n"
        "<https://team.slack.com/archives/C1/p1?thread_ts=1.2&amp;cid=C1|thread>"
        " &lt;b&gt; thread\n"
        "*bold we wrote*"
    )
    assert text == blocks[0]["text"]["text"].replace("\n", " ")  # no fallback(): the section


def test_blocks_and_section_text_are_cut_to_slack_limits(tmp_path: Path) -> None:
    (tmp_path / "many.j2").write_text(
        "{{ header() }}{{ long }}\n{% for i in range(80) %}{{ section() }}s{{ i }}\n{% endfor %}"
    )
    (tmp_path / "long.j2").write_text("{{ section() }}{{ long }}\n{{ context() }}{{ long }}\n")
    team = settings(template_dir=str(tmp_path))
    text, blocks = render_template("many.j2", team, long="x" * 400)
    assert len(blocks) == 50 and check_blocks(blocks, "message") == []
    assert blocks[-1]["elements"][0]["text"] == "…and 32 more sections, left out to fit Slack."
    assert len(blocks[0]["text"]["text"]) <= 150
    assert text == blocks[0]["text"]["text"]  # no fallback(): the header is the text

    _, blocks = render_template("long.j2", team, long="a&b<c> " * 1000)
    assert check_blocks(blocks, "message") == []
    for block in blocks:
        body = block["text"]["text"] if "text" in block else block["elements"][0]["text"]
        assert body.endswith("…(cut to fit Slack)")
        assert not re.search(r"&(?!amp;|lt;|gt;)", body)


def test_fit_text_never_cuts_an_entity_or_a_link() -> None:
    link = "<https://team.slack.com/archives/C1/p1|thread>"
    for text in ("x" * 95 + "&amp;" * 10, "y" * 90 + link + "z" * 20):
        cut = fit_text(text, 100, note="…")
        assert len(cut) <= 100 and cut.endswith("…")
        body = cut[:-1]
        assert not re.search(r"&(?!amp;)", body) and body.count("<") == body.count(">")
    assert fit_text("short", 100) == "short"
    lines = "\n".join(f"line {i}" for i in range(1000))
    cut = fit_text(lines, 300)
    # 280 characters before the note: lines 0-9 take 7 each, lines 10-35 take 8 each.
    assert cut.split("\n")[-2:] == ["line 35", "…(cut to fit Slack)"]


@pytest.fixture
def compiled_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The built-in templates compiled into a directory of this test's own."""
    folder = tmp_path / "compiled"
    folder.mkdir()
    monkeypatch.setattr(compiled_templates, "DIRECTORY", str(folder))
    rendering._environment.cache_clear()
    yield folder
    rendering._environment.cache_clear()


def _mentions_book() -> Digest:
    book = Book()
    a, b = book.run("<!channel> & co", 1, ("m1", "m2"))
    book.duel(a, b, 6, 1)
    return build_digest(book.evidence(), start=START, end=END, settings=settings(), now=END)


def test_built_in_templates_are_compiled_once_and_reused(
    compiled_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = _mentions_book()
    first = render_digest(digest, settings())
    kept = sorted(compiled_in.iterdir())
    assert kept, "nothing was compiled into the cache"

    # A new process, as far as the templates know: nothing may be compiled again.
    rendering._environment.cache_clear()

    def no_compiling(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a built-in template was compiled again")

    monkeypatch.setattr(Environment, "compile", no_compiling)
    assert render_digest(digest, settings()) == first
    assert sorted(compiled_in.iterdir()) == kept


def test_a_damaged_or_unwritable_template_cache_costs_a_compile_not_the_digest(
    compiled_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = _mentions_book()
    expected = render_digest(digest, settings())
    for damage in (b"", b"garbage", None):
        for entry in compiled_in.iterdir():
            if damage is None:  # cut just after Jinja2's header, which its own check passes
                entry.write_bytes(entry.read_bytes()[: len(bc_magic) + 3])
            else:
                entry.write_bytes(damage)
        rendering._environment.cache_clear()
        assert render_digest(digest, settings()) == expected

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    for entry in compiled_in.iterdir():
        entry.unlink()
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", disk_full)
    rendering._environment.cache_clear()
    assert render_digest(digest, settings()) == expected
    assert list(compiled_in.iterdir()) == []

    # No private directory to be had (the temp dir is a file): nothing cached at all.
    monkeypatch.setattr(compiled_templates, "DIRECTORY", None)
    monkeypatch.setattr(tempfile, "tempdir", str(compiled_in / "not-a-dir"))
    (compiled_in / "not-a-dir").write_text("")
    rendering._environment.cache_clear()
    assert render_digest(digest, settings()) == expected
