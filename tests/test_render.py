from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Run, Version, blind_label
from promptbot.render.blocks import escape, escaped_chunks
from promptbot.render.messages import candidate_messages, thread_parent
from promptbot.standins.blockkit import check_blocks


def make_run(template="Say {{ x }}", name="p", inputs=None):
    version = Version(1, 1, name, 1, template, None, "U1", "now")
    return Run(1, version, "running", "C1", "1.1", None, "U1", "now", ["m1"], inputs or [{}])


def make_candidate(output, error=None):
    return Candidate(1, 1, "A", 0, "m1", "m1", 0, {}, "answered", output=output, error=error)


def test_escape_order():
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert escape("&amp;") == "&amp;amp;"


def test_chunks_never_split_entities_and_fit():
    text = ("a&b<c> " * 3000).strip()
    chunks = escaped_chunks(text, limit=500)
    assert all(len(c) <= 500 for c in chunks)
    unescaped = "".join(chunks).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == text


def test_blind_labels():
    assert [blind_label(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


def test_long_output_splits_within_block_kit_limits():
    messages = candidate_messages(make_run(), make_candidate("word " * 60_000))
    assert len(messages) > 1
    for message in messages:
        assert check_blocks(message.blocks, "message") == []
        assert len(message.text) < 40_000
    assert "(part 1/" in messages[0].blocks[0]["text"]["text"]


def test_hostile_output_is_escaped_and_model_hidden():
    messages = candidate_messages(make_run(), make_candidate("<!channel> <@U123> <https://x|y>"))
    body = str(messages[0].blocks)
    assert "<!channel>" not in body and "<@U123>" not in body and "<https://x" not in body
    assert "m1" not in body
    assert "&lt;!channel&gt;" in body


def test_error_candidate():
    (message,) = candidate_messages(make_run(), make_candidate(None, error="timed out after 5 s"))
    assert "No answer: timed out after 5 s" in message.blocks[0]["text"]["text"]


def test_parent_within_limits_with_hostile_name_and_big_template():
    run = make_run(template="<!here> " * 2000, name="x<@U1>", inputs=[{"k": "<!channel>"}] * 80)
    message = thread_parent(run, AppConfig())
    assert check_blocks(message.blocks, "message") == []
    assert "<!here>" not in str(message.blocks) and "<!channel>" not in str(message.blocks)
