"""Behaviour `make mutate` found unpinned (issue 16): the template sandbox, escaping and
splitting, run messages. Each test pins what a user would see go wrong."""

from __future__ import annotations

import pytest

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Run, Version
from promptbot.errors import TemplateError
from promptbot.render.blocks import clip_escaped, code_block, escaped_chunks, header, truncate
from promptbot.render.messages import candidate_messages, template_diff, thread_parent
from promptbot.review.sandbox import parse_template


def _version(template="Say {{ x }}", system_prompt=None, number=1):
    return Version(number, 1, "p", number, template, system_prompt, "U1", "now")


def _run(inputs, version=None):
    return Run(1, version or _version(), "running", "C1", "1.1", None, "U1", "now", ["m1"], inputs)


def _candidate(label, input_index, slot=0, output="an answer"):
    return Candidate(1, 1, label, slot, "m1", "m1", input_index, {}, "answered", output=output)


# -- the template sandbox ------------------------------------------------------------


def test_a_missing_attribute_is_an_error_not_an_empty_string():
    template = parse_template("Summarise {{ doc.title }} for {{ who }}")
    with pytest.raises(TemplateError, match="title"):
        template.render({"doc": {"body": "text"}, "who": "me"})


def test_an_undefined_value_in_a_filter_is_an_error():
    template = parse_template("{{ items | first }}")
    with pytest.raises(TemplateError):
        template.render({"items": []})


def test_markup_characters_reach_the_model_unchanged():
    template = parse_template("Fix this: {{ code }}")
    code = "if a < b && c > d: print('<b>&amp;</b>')"
    assert template.render({"code": code}) == f"Fix this: {code}"


def test_a_templates_trailing_newline_is_kept():
    assert parse_template("Answer {{ q }}\n").render({"q": "why"}) == "Answer why\n"


def test_errors_while_rendering_become_template_errors():
    template = parse_template("{{ n // d }}")
    with pytest.raises(TemplateError, match="failed to render"):
        template.render({"n": 1, "d": 0})


# -- escaping and splitting ----------------------------------------------------------


def test_code_block_text_cannot_close_its_fence():
    fenced = code_block("before ``` after `x`")
    assert fenced.startswith("```") and fenced.endswith("```")
    assert "`" not in fenced[3:-3]
    assert "before" in fenced and "after" in fenced


def test_a_backtick_becomes_a_look_alike_of_one_character():
    assert code_block("a`b <c>") == "```a\u02cbb &lt;c&gt;```"


def test_a_long_code_block_is_shortened_at_a_line_and_says_so():
    text = "\n".join(f"line {i} <tag>" for i in range(400))
    fenced = code_block(text, limit=300)
    assert len(fenced) <= 300 + 6
    body = fenced[3:-3]
    assert body.endswith("\n… (shortened)")
    kept = body.removesuffix("\n… (shortened)").split("\n")
    assert kept[-1].startswith("line ") and kept[-1].endswith("&lt;tag&gt;")


def test_a_short_code_block_is_not_shortened():
    text = "\n".join(f"line {i}" for i in range(10))
    assert code_block(text, limit=300) == f"```{text}```"


def test_splits_prefer_a_line_break_in_the_second_half():
    text = "a" * 60 + "\n" + "b" * 20 + " " + "c" * 30
    chunks = escaped_chunks(text, limit=100)
    assert chunks[0] == "a" * 60 + "\n"
    assert "".join(chunks) == text


def test_splits_fall_back_to_a_space_then_a_hard_cut():
    spaced = "a" * 70 + " " + "b" * 60
    assert escaped_chunks(spaced, limit=100)[0] == "a" * 70 + " "
    solid = "x" * 250
    assert escaped_chunks(solid, limit=100) == ["x" * 100, "x" * 100, "x" * 50]


def test_a_break_in_the_first_half_is_not_used():
    text = "a" * 10 + "\n" + "b" * 200
    assert escaped_chunks(text, limit=100)[0] == "a" * 10 + "\n" + "b" * 89


def test_text_that_fits_is_one_chunk_and_one_character_more_is_two():
    assert escaped_chunks("a" * 100, limit=100) == ["a" * 100]
    assert escaped_chunks("a" * 101, limit=100) == ["a" * 100, "a"]
    assert escaped_chunks("", limit=100) == [""]


def test_the_smallest_limit_holds_one_entity():
    assert escaped_chunks("&&", limit=5) == ["&amp;", "&amp;"]
    with pytest.raises(ValueError, match="at least 5"):
        escaped_chunks("&&", limit=4)


def test_a_cut_before_an_entity_moves_back_to_its_start():
    # "a" * 97 then "&amp;": a cut at 100 would leave "&am"; the chunk ends before it.
    assert escaped_chunks("a" * 97 + "&b", limit=100) == ["a" * 97, "&amp;b"]
    # an entity earlier in the chunk does not hide the one being cut
    assert escaped_chunks("<" + "a" * 94 + "&b", limit=100) == ["&lt;" + "a" * 94, "&amp;b"]
    # an entity that ends exactly at the cut stays whole
    assert escaped_chunks("a" * 95 + "&b", limit=100) == ["a" * 95 + "&amp;", "b"]


def test_clipping_keeps_text_that_fits_and_never_leaves_half_an_entity():
    assert clip_escaped("abcdef", 6) == "abcdef"
    assert clip_escaped("abcdefg", 6) == "abcde…"
    assert clip_escaped("abc&amp;", 6) == "abc…"
    assert clip_escaped("&amp;x", 3) == "…"
    assert clip_escaped("abcdefghij", 8, marker="[+]") == "abcde[+]"
    # a cut one short of the ";" of "&amp;" (the entity's whole length back) moves too
    assert clip_escaped("ab&amp;cd", 7) == "ab…"
    assert escaped_chunks("a" * 96 + "&b", limit=100) == ["a" * 96, "&amp;b"]


def test_truncate_and_header_keep_to_their_lengths():
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"
    text = header("h" * 200)["text"]
    assert text == {"type": "plain_text", "text": "h" * 150, "emoji": True}


def test_code_block_at_its_limit_is_not_shortened():
    assert code_block("x" * 300, limit=300) == "```" + "x" * 300 + "```"
    assert code_block("x" * 301, limit=300) == "```" + "x" * 280 + "\n… (shortened)```"


# -- run messages --------------------------------------------------------------------


def _text(message):
    return "\n".join(
        block.get("text", {}).get("text", "")
        or " ".join(e.get("text", "") for e in block.get("elements", []))
        for block in message.blocks
    )


def test_candidates_in_a_multi_input_run_name_their_input_and_open_its_group():
    run = _run([{"city": "Oslo"}, {"city": "Lima <x>"}])
    first = candidate_messages(run, _candidate("B", 1), heading=True)[0]
    title = first.blocks[0]["text"]["text"]
    assert title == "*Input 2* — city = Lima &lt;x&gt;\n*Candidate B* · input 2"
    plain = candidate_messages(run, _candidate("C", 0))[0].blocks[0]["text"]["text"]
    assert plain == "*Candidate C* · input 1"


def test_a_single_input_candidate_title_has_no_input_note():
    run = _run([{"city": "Oslo"}])
    title = candidate_messages(run, _candidate("A", 0))[0].blocks[0]["text"]["text"]
    assert title == "*Candidate A*"


def test_the_thread_parent_shows_the_system_prompt_escaped():
    run = _run([{}], _version(system_prompt="You are <terse> & kind"))
    text = _text(thread_parent(run, AppConfig()))
    assert "*System prompt*\nYou are &lt;terse&gt; &amp; kind" in text
    assert "*System prompt*" not in _text(thread_parent(_run([{}]), AppConfig()))


def test_the_diff_says_when_only_the_system_prompt_changed():
    old = _version("Say {{ x }}", "Be brief", 1)
    assert template_diff(old, _version("Say {{ x }}", "Be long", 2)) == "(system prompt changed)"
    assert template_diff(old, _version("Say {{ x }}", "Be brief", 2)) == "(template unchanged)"
    changed = template_diff(old, _version("Say {{ y }}", "Be brief", 2))
    assert "-Say {{ x }}" in changed and "+Say {{ y }}" in changed
    assert "system prompt" not in changed
