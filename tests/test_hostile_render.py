"""Escaping and splitting terminate for every input and keep Block Kit's limits:
property-based, over any Unicode, entities, lone surrogates, long words and text
without a line break."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from promptbot.render.blocks import clip_escaped, code_block, escape, escaped_chunks
from promptbot.render.messages import candidate_messages, pair_message
from promptbot.standins.blockkit import check_blocks
from tests.test_render import make_candidate, make_run

# Text biased towards what broke the splitter: runs of & < >, spaces and newlines,
# plus any code point, lone surrogates included.
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("&<>&<> \n;a"),
        st.characters(codec=None, blacklist_categories=()),
    ),
    max_size=3000,
)
PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@settings(max_examples=300, deadline=None)
@given(text=hostile_text, limit=st.integers(min_value=5, max_value=400))
def test_chunks_fit_rejoin_and_never_cut_an_entity(text, limit):
    chunks = escaped_chunks(text, limit)
    assert "".join(chunks) == escape(text)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert all(chunk for chunk in chunks) or chunks == [""]
    for chunk in chunks[:-1]:
        assert not PARTIAL_ENTITY.search(chunk), chunk[-6:]
    assert unescape("".join(chunks)) == text


@settings(max_examples=50, deadline=None)
@given(char=st.sampled_from("<>&"), count=st.integers(min_value=1, max_value=60_000))
def test_a_long_run_of_one_control_character_terminates(char, count):
    """The case that hung a run worker: escaping makes the text longer than the cut."""
    chunks = escaped_chunks(char * count)
    assert "".join(chunks) == escape(char * count)
    assert max(len(chunk) for chunk in chunks) <= 2800


@settings(max_examples=100, deadline=None)
@given(text=hostile_text, limit=st.integers(min_value=10, max_value=200))
def test_clipping_never_cuts_an_entity(text, limit):
    clipped = clip_escaped(escape(text), limit)
    assert len(clipped) <= limit
    assert not PARTIAL_ENTITY.search(clipped.removesuffix("…"))


@settings(max_examples=60, deadline=None)
@given(text=hostile_text)
def test_code_block_stays_one_fence(text):
    block = code_block(text * 3, limit=500)
    assert block.startswith("```") and block.endswith("```")
    assert "`" not in block[3:-3]
    assert not PARTIAL_ENTITY.search(block[3:-3].split("\n… (shortened)")[0])


@settings(max_examples=40, deadline=None)
@given(text=hostile_text, repeat=st.integers(min_value=1, max_value=40))
def test_any_answer_renders_within_block_kit_limits(text, repeat):
    output = text * repeat
    for message in candidate_messages(make_run(), make_candidate(output)):
        assert check_blocks(message.blocks, "message") == []
    left, right = make_candidate(output), make_candidate("<" * 5000)
    assert check_blocks(pair_message(make_run(), 1, left, right).blocks, "message") == []


def test_fifty_thousand_angle_brackets_split_into_parts():
    messages = candidate_messages(make_run(), make_candidate("<" * 50_000))
    assert len(messages) == 2
    body = "".join(b["text"]["text"] for m in messages for b in m.blocks[1:])
    assert body == "&lt;" * 50_000
