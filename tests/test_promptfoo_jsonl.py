"""Test sets in promptfoo's JSONL shape (``vars`` and ``assert`` per line) load as they
are through `promptbot inputs add`, each assertion a check; what promptbot does not run
is refused with its row and assertion numbers, and nothing is saved."""

import json
from pathlib import Path

from click.testing import CliRunner

from promptbot.checks import parse_check
from promptbot.cli.main import cli
from promptbot.prompts.promptfoo import flat_row, is_test_case
from storage import Store
from tests.test_e2e_checks import cli_env, support_prompt

PROMPTFOO_JSONL = Path(__file__).parent / "data" / "promptfoo_tests.jsonl"
PROMPTFOO_CSV = Path(__file__).parent / "data" / "promptfoo_tests.csv"


def add(env, path, name="golden"):
    return CliRunner().invoke(cli, ["inputs", "add", "support", str(path), "--set", name], env=env)


def test_a_promptfoo_jsonl_loads_as_it_is(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    result = add(env, PROMPTFOO_JSONL)
    assert (result.exit_code, result.output) == (0, "Saved test set 'golden' for support: 6 rows\n")
    rows = store.test_sets.get("support", "golden")
    assert all(set(row) == {"customer_message", "product"} for row in rows)
    assert rows[1]["customer_message"] == "How do I export my data to CSV?"
    assert store.test_sets.checks("support", "golden") == [
        ["icontains: refund", "not-icontains: as an AI", "max-words: 120"],
        ['contains-any: Settings,"Export, then CSV"', "latency: 8000"],
        ["not-icontains: unfortunately"],
        ['is-json: {"type": "object", "required": ["status"]}'],
        ["equals: no"],
        ["starts-with: Hi", "max-chars: 80", "regex: ^Hi\\b", "cost: 0.002"],
    ]


def test_the_jsonl_and_the_csv_say_the_same_inputs(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    assert add(env, PROMPTFOO_JSONL, "j").exit_code == 0
    assert add(env, PROMPTFOO_CSV, "c").exit_code == 0
    assert store.test_sets.get("support", "j") == store.test_sets.get("support", "c")


def test_each_assertion_becomes_the_check_it_names():
    row = flat_row(
        {
            "vars": {"x": "1"},
            "assert": [
                {"type": "is-json"},
                {"type": "contains-all", "value": ["a, b", "c"]},
                {"type": "not-contains", "value": 42},
                {"type": "json-schema", "value": {"type": "object"}},
            ],
        }
    )
    assert row == {
        "x": "1",
        "__expected1": "is-json",
        "__expected2": 'contains-all: "a, b",c',
        "__expected3": "not-contains: 42",
        "__expected4": 'json-schema: {"type": "object"}',
    }
    assert parse_check(row["__expected2"]).items == ("a, b", "c")
    # A flat row, even with a checks list, is not promptfoo's test-case shape.
    assert not is_test_case({"x": "1", "__expected": ["is-json"]})


def test_unsupported_assertions_are_refused_with_row_and_number(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    vars_ = {"customer_message": "hi", "product": "Pro"}
    lines = [
        {"vars": vars_, "assert": [{"type": "contains", "value": "hello"}]},
        {"vars": vars_, "assert": [{"type": "icontains", "value": "a"}, {"type": "llm-rubric"}]},
        {"vars": vars_, "assert": [{"type": "contians", "value": "x"}]},
        {"vars": vars_, "assert": [{"value": "no type"}]},
        {"vars": vars_, "options": {"prefix": "Be brief."}},
        {"vars": vars_, "assert": [{"type": "contains", "value": "x", "transform": "output"}]},
        {"vars": vars_, "assert": [{"type": "latency"}]},
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = add(env, bad)
    assert result.exit_code == 2
    said = result.output
    assert said.startswith("Error: 6 rows have problems: ") and said.count("\n") == 1
    assert "row 2: assert 2: 'llm-rubric' is a promptfoo check that promptbot does not run" in said
    assert "row 3: assert 1: unknown check type 'contians'" in said
    assert 'row 4: assert 1: needs a type, e.g. {"type": "contains", "value": "refund"}' in said
    assert "row 5: 'options' (promptfoo's) is not supported" in said
    assert "row 6: assert 1 (contains): 'transform' is not supported" in said
    assert said.endswith("; and 1 more\n")  # row 7's latency without a threshold
    assert store.test_sets.names("support") == []


def test_a_variable_that_is_missing_from_vars_is_named(tmp_path):
    env = cli_env(tmp_path)
    store = Store(env["PROMPTBOT_DB"])
    support_prompt(store)
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps({"vars": {"customer_message": "hi"}, "assert": []}) + "\n")
    result = add(env, short)
    assert result.exit_code == 2
    assert "no column for 'product'" in result.output
