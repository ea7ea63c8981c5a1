"""Run messages as a reviewer reads them (issue 16): a revision's parent, a compare, the
cost question, reveals, pairs and the run list, with their counts and notes."""

from __future__ import annotations

from promptbot.config.settings import AppConfig
from promptbot.domain import Candidate, Run, RunSummary, Version
from promptbot.render.messages import (
    candidate_messages,
    compare_parent,
    held_run,
    opens_input_group,
    pair_message,
    rating_help,
    run_list,
    thread_parent,
)
from promptbot.standins.blockkit import check_blocks


def version(template="Say {{ x }}", number=1, note=None, name="p", system_prompt=None):
    return Version(number, 1, name, number, template, system_prompt, "U1", "now", note)


def run(inputs, of=None, run_id=1, permalink=None, models=("m1", "m2")):
    return Run(
        run_id,
        of or version(),
        "running",
        "C1",
        "1.1",
        permalink,
        "U1",
        "now",
        list(models),
        inputs,
    )


def candidate(label="A", slot=0, input_index=0, **fields):
    fields.setdefault("output", "an answer")
    return Candidate(1, 1, label, slot, "m1", "m1", input_index, {}, "answered", **fields)


def texts(message):
    out = []
    for block in message.blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [element["text"] for element in block.get("elements", []) if "text" in element]
        out += [field["text"] for field in block.get("fields", [])]
    return out


def test_the_rating_help_lists_every_scale_and_its_emoji():
    assert rating_help(AppConfig()) == (
        "Rate each candidate with emoji — *approval*: :+1: :-1:;"
        " *stars*: :one: :two: :three: :four: :five:. Discuss in this thread."
    )


def test_a_revisions_parent_shows_its_base_the_diff_and_the_inputs():
    revision = version("Say {{ y }}", 2, note="shorter <please>")
    message = thread_parent(
        run([{"a": 1}] * 22, revision), AppConfig(), parent=version(), parent_link="https://x/y"
    )
    assert check_blocks(message.blocks, "message") == []
    assert message.text == "Prompt review: p v2 (run #1)"
    shown = texts(message)
    assert message.blocks[0]["text"]["text"] == "Prompt review: p v2"
    # 2 models x 22 inputs x 2 versions (the base runs blind beside the revision)
    assert shown[1] == "Run #1 · proposed by <@U1> · models: m1, m2 · 88 blind candidates"
    assert shown[2] == (
        "*Revision of v1* (<https://x/y|its thread>). v1's answers are among the candidates,"
        " blind, so this thread is a head-to-head.\nChange note: shorter &lt;please&gt;"
    )
    assert shown[3] == "*Diff*\n```--- v1\n+++ v2\n@@ -1 +1 @@\n-Say {{ x }}\n+Say {{ y }}```"
    assert shown[4] == "*Template*\nSay {{ y }}"
    assert shown[5:25] == [f"Input {n}: a = 1" for n in range(1, 21)]
    assert shown[25] == "…and 2 more inputs"
    assert shown[26] == rating_help(AppConfig())


def test_a_first_versions_parent_has_no_revision_section():
    message = thread_parent(run([{}], models=("m1",)), AppConfig())
    shown = texts(message)
    assert shown[1].endswith("models: m1 · 1 blind candidate")
    assert not any("Revision" in text or "Diff" in text or "Input" in text for text in shown)
    no_link = thread_parent(run([{}], version("B", 2)), AppConfig(), parent=version())
    assert texts(no_link)[2].startswith("*Revision of v1*. v1's answers")


def test_a_long_template_is_shortened_in_the_parent_and_says_so():
    message = thread_parent(run([{}], version("x" * 5000)), AppConfig())
    shown = texts(message)
    assert "(template shortened here; 5000 chars in all)" in shown
    short = thread_parent(run([{}], version("x" * 2900)), AppConfig())
    assert not any("shortened" in text for text in texts(short))


def test_a_compare_parent_shows_both_templates():
    message = compare_parent(run([{}]), [version(), version("B <{{ x }}>", 2)])
    assert message.text == "Compare: p v1 vs p v2 (run #1)"
    assert texts(message) == [
        "Compare: p v1 vs p v2",
        "Run #1 · by <@U1> · models: m1, m2 · for each input, the two versions' answers side"
        " by side, sides at random",
        "*p v1*\n```Say {{ x }}```",
        "*p v2*\n```B &lt;{{ x }}&gt;```",
        "Vote :a: left is better · :b: right is better · :handshake: tie · :-1: both bad",
    ]


def test_the_cost_question_names_the_run_and_offers_both_answers():
    message = held_run(run([{}], run_id=7), 1.234, 1.0)
    text = "Run #7 (p v1) may cost up to $1.23, over the $1.00 ceiling. Run it anyway?"
    assert message.text == text and message.blocks[0]["text"]["text"] == text
    confirm, cancel = message.blocks[1]["elements"]
    assert (confirm["action_id"], confirm["value"], confirm["style"]) == (
        "run_confirm",
        "7",
        "primary",
    )
    assert (cancel["action_id"], cancel["value"]) == ("run_cancel", "7")
    assert "style" not in cancel
    # what the proposer reads and clicks: two buttons
    assert [(b["type"], b["text"]["text"]) for b in (confirm, cancel)] == [
        ("button", "Run it"),
        ("button", "Cancel"),
    ]


def test_an_input_heading_lists_each_variable():
    from promptbot.render.messages import input_heading

    two = run([{"city": "Oslo", "day": "Mon & Tue"}])
    assert input_heading(two, 0) == "*Input 1* — city = Oslo, day = Mon &amp; Tue"


def test_a_reveal_names_the_model_its_provider_id_and_the_notes():
    shown = candidate(output="hi", finish_reason="length", cached=True)
    revealed = Candidate(**{**shown.__dict__, "model_id": "m1-2024"})
    (message,) = candidate_messages(run([{}]), revealed, reveal=True)
    assert texts(message) == [
        "*Candidate A* — m1, p v1 (`m1-2024`)",
        "hi",
        "_The model stopped at its max_tokens limit._",
        "_Reused from the cache: an identical earlier call; no cost, no wait._",
    ]
    (same_id,) = candidate_messages(run([{}]), candidate(), reveal=True)
    assert texts(same_id)[0] == "*Candidate A* — m1, p v1"
    (blind,) = candidate_messages(run([{}]), shown)
    assert texts(blind)[0] == "*Candidate A*"


def test_an_empty_answer_says_so():
    (message,) = candidate_messages(run([{}]), candidate(output="  \n"))
    assert texts(message) == ["*Candidate A*", "_(empty answer)_"]


def test_a_long_answer_is_numbered_in_parts_and_the_notes_close_the_last():
    long = candidate(output="word " * 30_000, finish_reason="length")
    messages = candidate_messages(run([{}]), long)
    assert len(messages) > 1
    count = len(messages)
    for number, message in enumerate(messages, start=1):
        assert texts(message)[0] == f"*Candidate A* (part {number}/{count})"
        assert message.text.startswith(f"Candidate A (part {number}/{count}): word word")
    assert texts(messages[-1])[-1] == "_The model stopped at its max_tokens limit._"
    assert all("max_tokens" not in str(m.blocks) for m in messages[:-1])


def test_the_first_candidate_of_each_input_opens_its_group():
    group = [candidate("A", 0, 0), candidate("B", 1, 1), candidate("C", 2, 0), candidate("D", 3, 1)]
    two_inputs = run([{"k": 1}, {"k": 2}])
    assert [opens_input_group(two_inputs, c, group) for c in group] == [True, True, False, False]
    one_input = run([{"k": 1}])
    assert not any(opens_input_group(one_input, c, group[:1]) for c in group[:1])


def test_a_pair_shows_both_sides_and_a_reveal_names_them():
    left = candidate("A", 0, 1, output="left <b>")
    right = Candidate(2, 1, "B", 1, "m2", "m2", 1, {}, "failed", error="boom")
    two_inputs = run([{"a": 1}, {"a": 2}])
    blind = pair_message(two_inputs, 3, left, right)
    assert blind.text == "Pair 3: which answer is better?"
    assert texts(blind) == [
        "*Pair 3* · input 2",
        "*Left*\nleft &lt;b&gt;",
        "*Right*\n:warning: No answer: boom",
        "Vote :a: left is better · :b: right is better · :handshake: tie · :-1: both bad",
    ]
    revealed = texts(pair_message(two_inputs, 3, left, right, reveal=True))
    assert revealed[1].startswith("*Left — m1, p v1*\n")
    assert revealed[2].startswith("*Right — m2, p v1*\n")
    assert texts(pair_message(run([{}]), 1, left, left))[0] == "*Pair 1*"


def test_a_pair_side_is_shortened_past_its_field_and_says_so():
    fits = texts(pair_message(run([{}]), 1, candidate(output="x" * 1900), candidate()))[1]
    assert fits == "*Left*\n" + "x" * 1900
    long = texts(pair_message(run([{}]), 1, candidate(output="x" * 1901), candidate()))[1]
    assert long.endswith("\n_(shortened here; the export has it all)_")
    assert long.startswith("*Left*\n" + "x" * 1000)
    empty = texts(pair_message(run([{}]), 1, candidate(output=" "), candidate()))[1]
    assert empty == "*Left*\n_(empty answer)_"


def test_the_run_list_links_threads_and_counts_in_words():
    summaries = [
        RunSummary(run([{}], permalink="https://s/p"), 2, 1, 0),
        RunSummary(run([{}], version(name="q<x>"), run_id=2), 1, 0, 3),
    ]
    message = run_list(summaries)
    assert message.text == "Recent proposals"
    assert texts(message) == [
        "*Recent proposals*",
        "• <https://s/p|p v1> — run #1, running, by <@U1>, 2 candidates, 1 rating, 0 comments\n"
        "• q&lt;x&gt; v1 — run #2, running, by <@U1>, 1 candidate, 0 ratings, 3 comments",
    ]
    empty = run_list([])
    assert (empty.text, texts(empty)) == (
        "No proposals yet.",
        ["No proposals yet. Try `/prompt new`."],
    )
