"""Checks end to end: a promptfoo CSV loaded as it is, checks from the test set, the form
and app.yaml run on each answer as it is stored, hidden while voting is open, then shown
on reveal, on close, in /prompt show and in the export; and the faults around storing
them with the answer."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from promptbot.config.loading import parse_config
from promptbot.digest.service import DigestService
from promptbot.errors import ConfigError, StorageUnavailable
from promptbot.prompts.export import build_export
from promptbot.prompts.test_sets import add_test_set
from promptbot.render.terminal import blocks_to_text
from promptbot.verdicts.intervals import wilson_interval
from storage import Store
from tests.harness import bot_config, wait_until
from tests.test_test_sets import make_prompt

PROMPTFOO_CSV = Path(__file__).parent / "data" / "promptfoo_tests.csv"
TEMPLATE = "Answer {{ customer_message }} about {{ product }}"


def support_prompt(store):
    return make_prompt(store, "support", TEMPLATE)


def cli_env(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    return {"PROMPTBOT_CONFIG": str(config), "PROMPTBOT_DB": str(tmp_path / "p.db")}


# -- test sets in promptfoo's format ---------------------------------------------------


def test_a_promptfoo_csv_loads_as_it_is(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    result = CliRunner().invoke(
        cli, ["inputs", "add", "support", str(PROMPTFOO_CSV), "--set", "golden"], env=env
    )
    assert (result.exit_code, result.output) == (
        0,
        "Saved test set 'golden' for support: 6 rows\n",
    )
    rows = store.test_sets.get("support", "golden")
    assert all(set(row) == {"customer_message", "product"} for row in rows)
    assert rows[1]["customer_message"] == "How do I export my data to CSV?"
    assert store.test_sets.checks("support", "golden") == [
        ["icontains: refund", "not-icontains: as an AI", "max-words: 120"],
        ["contains-any: Settings, Export", "latency: 8000"],
        ["not-icontains: unfortunately"],
        ["is-json: {type: object, required: [status]}"],
        ["equals: no"],
        ["starts-with: Hi", "max-chars: 80", "regex: ^Hi\\b"],
    ]


def test_bad_checks_are_refused_with_their_row_numbers_and_nothing_is_saved(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "customer_message,product,__expected\n"
        "hi,Pro,contains: hello\n"
        "hi,Pro,contians: hello\n"
        'hi,Pro,"is-json; regex: (oops"\n'
    )
    result = CliRunner().invoke(cli, ["inputs", "add", "support", str(bad)], env=env)
    assert result.exit_code == 2
    assert result.output == (
        "Error: 2 rows have problems: row 3: __expected: unknown check type 'contians'"
        " (known: equals, contains, icontains, starts-with, regex, contains-any, contains-all,"
        " icontains-any, icontains-all, is-json, contains-json, json-schema, max-chars,"
        " max-words, latency, cost); for an exact answer write 'equals: …'; row 4:"
        " __expected: bad regex '(oops': missing ) at position 5\n"
    )
    assert store.test_sets.names("support") == []
    prefixed = tmp_path / "prefix.csv"
    prefixed.write_text("customer_message,product,__prefix\nhi,Pro,Be brief.\n")
    result = CliRunner().invoke(cli, ["inputs", "add", "support", str(prefixed)], env=env)
    assert result.exit_code == 2
    assert "the '__prefix' column (promptfoo's) is not supported" in result.output


def test_jsonl_rows_carry_checks_as_a_string_or_a_list(store):
    support_prompt(store)
    text = "\n".join(
        json.dumps(row)
        for row in (
            {"customer_message": "a", "product": "b", "__expected": "contains: x; max-words: 9"},
            {"customer_message": "c", "product": "d", "__expected": ["is-json", "cost: 0.01"]},
            {"customer_message": "e", "product": "f"},
        )
    )
    config = parse_config({})
    saved = add_test_set(
        store, config, prompt="support", name="j", text=text, filename="j.jsonl", by="U1"
    )
    assert saved.rows == 3
    assert store.test_sets.checks("support", "j") == [
        ["contains: x", "max-words: 9"],
        ["is-json", "cost: 0.01"],
        [],
    ]


# -- running, hiding, showing ----------------------------------------------------------


def answer_by_model(request):
    """alpha helps; beta apologises, at length."""
    if request["model"] == "alpha-id":
        return "Hi! We will refund you: see Settings > Export."
    return "Unfortunately, as an AI I cannot help. " * 5


def checked_run(bot, models):
    models.set_behaviour("alpha-id", reply=answer_by_model)
    models.set_behaviour("beta-id", reply=answer_by_model)
    bot.command(
        f"propose support --models alpha,beta\n{TEMPLATE}\n---\ncustomer_message: hi\nproduct: x"
    )
    bot.wait_run(1)
    add_test_set(
        bot.store,
        bot.bot.config,
        prompt="support",
        name="golden",
        text=PROMPTFOO_CSV.read_text(),
        filename="golden.csv",
        by="U1",
    )
    bot.command("rerun support --set golden", user="UPROP")
    return bot.wait_run(2)


def test_checks_run_on_each_answer_and_stay_hidden_until_voting_closes(bot, slack, models):
    run = checked_run(bot, models)
    candidates = bot.store.candidates(run.id)
    results = bot.store.checks.results(c.id for c in candidates)
    first = {c.model_name: results[c.id] for c in candidates if c.input_index == 0}
    assert [(r.check, r.passed) for r in first["alpha"]] == [
        ("icontains: refund", True),
        ("not-icontains: as an AI", True),
        ("max-words: 120", True),
    ]
    assert [(r.check, r.passed) for r in first["beta"]] == [
        ("icontains: refund", False),
        ("not-icontains: as an AI", False),
        ("max-words: 120", True),
    ]
    # Open: nothing anywhere says how the answers fared.
    posted = json.dumps([m.get("blocks") for m in slack.thread("C1", run.thread_ts)])
    assert ":white_check_mark:" not in posted and ":x:" not in posted
    data = json.loads(build_export(bot.store, "support", "json", _now()).content)
    assert data["checks"] == []
    assert {c["checks_passed"] for c in data["candidates"]} == {None}
    show = bot.bot.service  # the use case behind /prompt show
    from promptbot.prompts.lifecycle import Lifecycle

    lifecycle = Lifecycle(bot.store, bot.bot.config, show)
    text = blocks_to_text(lifecycle.show("support").blocks)
    assert "Checks" not in text and "passed" not in text

    digest = blocks_to_text(DigestService(bot.store, bot.bot.config).preview().blocks)
    assert "Checks" not in digest

    bot.command(f"reveal {run.id}", user="UPROP")
    wait_until(lambda: bot.store.get_run(run.id).revealed_at, what="the reveal")
    edits = {c.params["ts"]: json.dumps(c.params["blocks"]) for c in slack.calls_to("chat.update")}
    for candidate in candidates:
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        passed = all(r.passed for r in results[candidate.id])
        assert (":white_check_mark: Checks" in edits[ts]) is passed
        assert (":x: Checks" in edits[ts]) is not passed
    data = json.loads(build_export(bot.store, "support", "json", _now()).content)
    assert len(data["checks"]) == sum(len(r) for r in results.values())
    exported = {c["candidate_id"]: c for c in data["candidates"]}
    beta = next(c for c in candidates if c.model_name == "beta" and c.input_index == 0)
    assert exported[beta.id]["checks_passed"] is False
    assert exported[beta.id]["checks_failed"] == "icontains: refund; not-icontains: as an AI"
    text = blocks_to_text(lifecycle.show("support").blocks)
    passing = sum(all(r.passed for r in rs) for rs in results.values())
    assert f"{passing} of {len(results)} answers passed every check" in text
    # The digest: the pass rate of v1's answers in closed runs, with its interval.
    low, high = wilson_interval(passing, len(results))
    digest = blocks_to_text(DigestService(bot.store, bot.bot.config).preview().blocks)
    assert (
        f"support v1: {passing} of {len(results)} answers, {passing / len(results):.0%}"
        f" [{low:.0%}–{high:.0%}] · most failed:"
    ) in digest


def test_a_close_without_reveal_lists_each_label_and_its_checks(bot, slack, models):
    run = checked_run(bot, models)
    bot.command(f"close {run.id}", user="UPROP")
    notice = slack.wait_for(
        lambda: [m for m in slack.thread("C1", run.thread_ts) if "Checks on each" in m["text"]]
    )[0]
    for candidate in bot.store.candidates(run.id):
        assert f"• {candidate.label}: " in notice["text"]
    assert "alpha" not in notice["text"] and "beta" not in notice["text"]  # still blind


def test_the_form_sets_a_versions_checks_and_refuses_bad_ones_on_the_field(bot, slack, models):
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    view = call.params["view"]
    assert any(b["block_id"] == "checks" for b in view["blocks"])

    def submit(checks):
        return bot.submit_view(
            view,
            {
                "name": {"name": {"type": "plain_text_input", "value": "formed"}},
                "template": {"template": {"type": "plain_text_input", "value": "Say hi"}},
                "models": {
                    "models": {
                        "type": "multi_static_select",
                        "selected_options": [{"value": "alpha"}],
                    }
                },
                "checks": {"checks": {"type": "plain_text_input", "value": checks}},
            },
        )

    _, reply = submit("contains: hi\nmax-words: many")
    assert reply["response_action"] == "errors"
    assert reply["errors"] == {
        "checks": "'max-words' needs a whole number of at least 0, e.g. max-words: 80"
    }
    status, reply = submit("contains: Say; max-words: 50\nnot-contains: bye")
    assert status == 200 and not reply
    run = bot.wait_run(1)
    assert bot.store.checks.version_checks(run.version.id) == [
        "contains: Say",
        "max-words: 50",
        "not-contains: bye",
    ]
    (candidate,) = bot.store.candidates(run.id)
    assert [r.passed for r in bot.store.checks.results([candidate.id])[candidate.id]] == [
        True,
        True,
        True,
    ]
    bot.command("revise formed")
    revised = slack.wait_for(
        lambda: [
            c for c in slack.calls_to("views.open") if c.params["view"]["callback_id"] == "revise"
        ]
    )[0].params["view"]
    checks = next(b for b in revised["blocks"] if b["block_id"] == "checks")
    assert checks["element"]["initial_value"] == "contains: Say\nmax-words: 50\nnot-contains: bye"


def test_app_yaml_checks_apply_to_every_answer_of_the_prompt(running, models):
    config = bot_config(
        models, prompts={"greet": {"checks": ["starts-with: [alpha-id]; max-chars: 5"]}}
    )
    bot = running(config)
    bot.command("propose greet --models alpha\nHello")
    run = bot.wait_run(1)
    (candidate,) = bot.store.candidates(run.id)
    results = bot.store.checks.results([candidate.id])[candidate.id]
    assert [(r.check, r.passed) for r in results] == [
        ("starts-with: [alpha-id]", True),
        ("max-chars: 5", False),
    ]
    bot.command("propose other --models alpha\nHello")
    other = bot.wait_run(2)
    assert bot.store.checks.results(c.id for c in bot.store.candidates(other.id)) == {}


def test_a_bad_check_in_app_yaml_is_refused_at_start_naming_the_setting(models):
    with pytest.raises(ConfigError) as caught:
        parse_config(bot_config(models, prompts={"greet": {"checks": ["regex: ("]}}))
    assert "prompts.greet.checks" in str(caught.value)
    assert "bad regex '('" in str(caught.value)


# -- faults ----------------------------------------------------------------------------


def test_results_are_stored_with_the_answer_or_not_at_all(running, models, monkeypatch):
    """A write that fails while storing the results takes the answer with it, and the
    retry stores both: never an answer whose checks were silently lost."""
    bot = running(bot_config(models, prompts={"flaky": {"checks": ["contains: alpha"]}}))
    real = bot.store.checks.record
    attempts = []

    def failing_once(candidate_id, results):
        attempts.append(bot.store.get_candidate(candidate_id).status)
        if len(attempts) == 1:
            raise StorageUnavailable("the disk is full")
        real(candidate_id, results)

    monkeypatch.setattr(bot.store.checks, "record", failing_once)
    bot.command("propose flaky --models alpha\nHi")
    run = bot.wait_run(1)
    (candidate,) = bot.store.candidates(run.id)
    # Inside the transaction both attempts saw the answer written; the first was undone.
    assert attempts == ["answered", "answered"]
    assert candidate.output is not None
    assert [r.passed for r in bot.store.checks.results([candidate.id])[candidate.id]] == [True]


def test_a_check_that_crashes_costs_no_answer(running, models, monkeypatch):
    bot = running(bot_config(models, prompts={"fragile": {"checks": ["contains: x"]}}))

    def crash(*args, **kwargs):
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr("promptbot.review.checking.run_checks", crash)
    bot.command("propose fragile --models alpha\nHi")
    run = bot.wait_run(1)
    (candidate,) = bot.store.candidates(run.id)
    assert candidate.status == "posted" and candidate.output
    assert bot.store.checks.results([candidate.id]) == {}


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_test_sets_saved_before_checks_existed_still_load(tmp_path):
    from sqlite_utils import Database

    from storage.migrations import migrations

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="0011_checks")
    old.execute(
        "INSERT INTO prompts (id, name, created_by, created_at) VALUES (1, 'kept', 'U1', 'then')"
    )
    old.execute(
        "INSERT INTO test_sets (prompt_id, name, rows, created_by, created_at)"
        """ VALUES (1, 'golden', '[{"x": "1"}, {"x": "2"}]', 'U1', 'then')"""
    )
    old.conn.commit()
    old.close()
    store = Store(path)
    assert store.test_sets.get("kept", "golden") == [{"x": "1"}, {"x": "2"}]
    assert store.test_sets.checks("kept", "golden") == [[], []]


def test_a_compare_reveal_shows_each_sides_checks(running, models, slack):
    bot = running(bot_config(models, prompts={"tone": {"checks": ["contains: Blunt"]}}))
    models.set_behaviour("alpha-id", reply=lambda request: request["messages"][-1]["content"])
    bot.command("propose tone --models alpha\nPolite: {{ x }}\n---\nx: one", user="UPROP")
    bot.wait_run(1)
    bot.command("propose tone --models alpha\nBlunt: {{ x }}\n---\nx: one", user="UPROP")
    bot.wait_run(2)
    bot.command("compare tone@v1 tone@v2 --models alpha", user="UPROP")
    run = bot.wait_run(3)
    (pair,) = bot.store.pairs.for_run(run.id)
    posted = json.dumps(slack.find_message("C1", pair.ts)["blocks"])
    assert "Checks" not in posted  # open: hidden
    bot.command(f"reveal {run.id}", user="UPROP")
    wait_until(lambda: bot.store.get_run(run.id).revealed_at, what="the reveal")
    edit = next(c for c in slack.calls_to("chat.update") if c.params["ts"] == pair.ts)
    text = edit.params["blocks"][-1]["elements"][0]["text"]
    blunt_left = bot.store.get_candidate(pair.left_id).output.startswith("Blunt")
    passed, failed = ":white_check_mark: Checks", ":x: Checks"
    assert text.splitlines() == [
        f"Left: {passed if blunt_left else failed}"
        + (": 1 check, all passed" if blunt_left else ": 1 of 1 failed")
        + ("" if blunt_left else ": `contains: Blunt` (does not contain 'Blunt')"),
        f"Right: {failed if blunt_left else passed}"
        + (": 1 of 1 failed" if blunt_left else ": 1 check, all passed")
        + (": `contains: Blunt` (does not contain 'Blunt')" if blunt_left else ""),
    ]
