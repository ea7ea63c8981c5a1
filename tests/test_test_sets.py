"""Test sets: parsing and validation (unit), storage, the /prompt inputs modal over HTTP
(pasted rows and a file served by the Slack stand-in), and `promptbot inputs`."""

import json

import pytest
from click.testing import CliRunner

from handlers.slack_download import on_slack_site
from handlers.slack_gateway import SlackGateway
from promptbot.cli.main import cli
from promptbot.domain import check_set_name
from promptbot.errors import NotFound, UsageError
from promptbot.prompts.test_sets import MAX_FILE_BYTES, MAX_REPORTED, detect_format, parse_test_set
from promptbot.standins.blockkit import check_blocks
from storage import Store
from tests.harness import TOKEN, wait_until

VARS = ("lang", "text")


def parse(text, filename=None, variables=VARS, max_rows=200):
    return parse_test_set(text, filename, variables, max_rows=max_rows)


def problem(text, filename=None, **kwargs):
    with pytest.raises(UsageError) as caught:
        parse(text, filename, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- parsing ---------------------------------------------------------------------------


def test_csv_with_header_bom_quoted_newlines_and_blank_lines():
    text = '\ufefftext,lang\r\n"line one\nline two, with comma",en\r\n\r\nBonjour,fr\r\n'
    assert parse(text, "golden.csv") == [
        {"lang": "en", "text": "line one\nline two, with comma"},
        {"lang": "fr", "text": "Bonjour"},
    ]


def test_jsonl_converts_numbers_and_booleans():
    text = (
        '{"text": "hi", "lang": "en"}\n\n{"text": 42, "lang": true}\n{"text": 2.5, "lang": "x"}\n'
    )
    assert parse(text, "set.jsonl") == [
        {"lang": "en", "text": "hi"},
        {"lang": "true", "text": "42"},
        {"lang": "x", "text": "2.5"},
    ]


def test_format_by_extension_then_by_content():
    assert detect_format("{}", "a.CSV") == "csv"
    assert detect_format("a,b", "a.ndjson") == "jsonl"
    assert detect_format('  {"a": 1}', "a.txt") == "jsonl"
    assert detect_format("a,b", None) == "csv"
    # Pasted JSONL (no filename) is recognised by its first brace.
    assert parse('{"text": "t", "lang": "l"}') == [{"lang": "l", "text": "t"}]


def test_bad_rows_are_reported_together_by_row_number():
    # The header is row 1, as a spreadsheet numbers it; the quoted newline is one row.
    text = 'text,lang\n"two\nlines",en\n,en\nok,fr\nx,\nok,de,extra\n'
    assert problem(text, "s.csv") == (
        "3 rows have problems: row 3: missing value for 'text'; row 5: missing value for"
        " 'lang'; row 6: 3 values for 2 columns"
    )
    text = '{"text": "a", "lang": "b"}\n[1, 2]\n{"text": {"x": 1}, "lang": "b"}\n{oops\n{"text": null, "lang": "b"}\n'
    assert problem(text, "s.jsonl") == (
        "4 rows have problems: row 2: not a JSON object; row 3: 'text': not a string,"
        " number or true/false; row 4: not valid JSON (Expecting property name enclosed in"
        " double quotes); row 5: missing value for 'text'"
    )


def test_long_lists_of_bad_rows_are_capped():
    text = "text,lang\n" + "".join(f"t{i},\n" for i in range(12))
    message = problem(text, "s.csv")
    assert message.startswith("12 rows have problems: row 2: missing value for 'lang'; row 3:")
    assert message.count("row ") == MAX_REPORTED
    assert message.endswith(f"; and {12 - MAX_REPORTED} more")


def test_columns_must_match_the_variables():
    assert problem("text\nhi\n", "s.csv") == (
        "no column for 'lang' (the template's variables are 'lang', 'text')"
    )
    assert problem('{"text": "a", "lang": "b", "tone": "c", "x": 1}', "s.jsonl") == (
        "unknown column 'tone', 'x' (the template's variables are 'lang', 'text')"
    )
    assert problem("txt,lang\na,b\n", "s.csv").startswith(
        "no column for 'text'; unknown column 'txt'"
    )
    assert problem("text,,lang\na,,b\n", "s.csv") == "the CSV header has no name for column 2"
    assert problem("text,lang,text\na,b,c\n", "s.csv") == "the CSV header repeats 'text'"


def test_empty_oversized_and_variable_free_sets_are_refused():
    assert "empty" in problem("  \n\n")
    assert problem("text,lang\n", "s.csv") == "the test set has a header but no rows"
    too_many = "text,lang\n" + "a,b\n" * 4
    assert problem(too_many, "s.csv", max_rows=3) == (
        "the test set has 4 rows; the limit is 3 (limits.test_set_max_rows)"
    )
    assert "no variables" in problem("a\nb\n", variables=())


def test_set_names_follow_prompt_name_rules():
    assert check_set_name("golden-1.v2") == "golden-1.v2"
    with pytest.raises(UsageError, match="not a usable test set name"):
        check_set_name("has space")


def test_file_urls_get_the_token_onlyon_slack_site():
    api = "https://slack.com/api/"
    assert on_slack_site("https://files.slack.com/files-pri/T1-F1/download/a.csv", api)
    assert not on_slack_site("https://evil.example/files-pri/T1-F1/a.csv", api)
    assert not on_slack_site("https://notslack.com/a.csv", api)
    assert not on_slack_site("http://files.slack.com/a.csv", api)


# -- storage ---------------------------------------------------------------------------


def make_prompt(store, name="summary", template="Say {{ text }} in {{ lang }}"):
    from promptbot.domain import PlannedCandidate

    return store.create_run(
        prompt_name=name,
        template=template,
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["m"],
        inputs=[{}],
        candidates=[PlannedCandidate("A", 0, "m", "m", 0)],
    )


def test_store_saves_replaces_lists_and_explains_what_is_missing(tmp_path):
    store = Store(tmp_path / "p.db")
    sets = store.test_sets
    with pytest.raises(NotFound, match="no prompt named 'summary'"):
        sets.save("summary", "golden", [{"text": "a"}], "U1")
    make_prompt(store)
    with pytest.raises(NotFound, match="has no test set 'golden'; it has none yet"):
        sets.get("summary", "golden")
    sets.save("summary", "golden", [{"text": "a", "lang": "en"}], "U1")
    sets.save("summary", "edge", [{"text": "b", "lang": "fr"}], "U1")
    sets.save("summary", "golden", [{"text": "c", "lang": "de"}], "U2")  # replaces
    assert sets.names("summary") == ["edge", "golden"]
    assert sets.get("summary", "golden") == [{"text": "c", "lang": "de"}]
    with pytest.raises(NotFound, match="it has edge, golden"):
        sets.get("summary", "nope")


# -- Slack: /prompt inputs ---------------------------------------------------------------


def open_modal(bot, slack, prompt="summary"):
    status, reply = bot.command(f"inputs {prompt}")
    assert status == 200 and reply is None
    (call,) = slack.wait_for_calls("views.open")
    view = call.params["view"]
    assert view["callback_id"] == "test_set"
    assert check_blocks(view["blocks"], "modal") == []
    return view


def submit(bot, view, name, *, pasted=None, file=None):
    values = {
        "set_name": {"set_name": {"type": "plain_text_input", "value": name}},
        "rows": {"rows": {"type": "plain_text_input", "value": pasted}},
        "file": {"file": {"type": "file_input", "files": [file] if file else []}},
    }
    return bot.submit_view(view, values, user="U2")


def proposed(bot):
    bot.command(
        "propose summary --models alpha\nSay {{ text }} in {{ lang }}\n---\ntext: hi\nlang: en"
    )
    bot.wait_run(1)


def test_pasted_rows_are_saved_and_confirmed(bot, slack):
    proposed(bot)
    view = open_modal(bot, slack)
    assert "`lang`, `text`" in view["blocks"][0]["text"]["text"]
    status, reply = submit(bot, view, "golden", pasted="text,lang\nhello,en\nsalut,fr\n")
    assert status == 200 and reply is None
    assert bot.store.test_sets.get("summary", "golden") == [
        {"lang": "en", "text": "hello"},
        {"lang": "fr", "text": "salut"},
    ]
    (confirmation,) = wait_until(lambda: slack.ephemerals("C1", "U2"), what="the confirmation")
    assert confirmation["text"] == "Saved test set 'golden' for summary: 2 rows"


def test_uploaded_file_is_downloaded_with_the_bot_token(bot, slack):
    proposed(bot)
    view = open_modal(bot, slack)
    content = '{"text": "hi", "lang": "en"}\n{"text": "hola", "lang": "es"}\n'
    file = slack.add_user_file("golden.jsonl", ("\ufeff" + content).encode(), user="U2")
    status, reply = submit(bot, view, "golden", file=file)
    assert status == 200 and reply is None, reply
    assert bot.store.test_sets.get("summary", "golden")[1] == {"lang": "es", "text": "hola"}
    assert "files:read" in bot.bot.surface.scopes


def test_problems_go_back_onto_the_fields(bot, slack):
    proposed(bot)
    view = open_modal(bot, slack)
    _, reply = submit(bot, view, "golden", pasted="text,lang\nhi,\n")
    assert reply == {
        "response_action": "errors",
        "errors": {"rows": "1 row has a problem: row 2: missing value for 'lang'"},
    }
    _, reply = submit(bot, view, "bad name", pasted="text,lang\nhi,en\n")
    assert "not a usable test set name" in reply["errors"]["set_name"]
    _, reply = submit(bot, view, "golden")
    assert reply["errors"] == {"file": "Attach a CSV or JSONL file, or paste rows below."}
    bad = slack.add_user_file("bad.csv", b"text\nhi\n")
    _, reply = submit(bot, view, "golden", file=bad)
    assert reply["errors"]["file"].startswith("no column for 'lang'")
    # A file whose address is not Slack's never receives the token.
    elsewhere = dict(bad, url_private_download="https://evil.example/bad.csv")
    _, reply = submit(bot, view, "golden", file=elsewhere)
    assert reply["errors"] == {"file": "that file is not stored on Slack; attach it again"}
    assert bot.store.test_sets.names("summary") == []


def test_stand_in_serves_files_only_to_the_bot_token(slack):
    import urllib.request

    file = slack.add_user_file("a.csv", b"x\n1\n")
    request = urllib.request.Request(file["url_private_download"])
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/html")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == b"x\n1\n"


def test_a_refused_download_is_explained(slack):
    from slack_sdk import WebClient

    file = slack.add_user_file("a.csv", b"x\n1\n")
    client = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(UsageError, match="Slack did not hand over the file"):
        SlackGateway(client).download(file, MAX_FILE_BYTES, 2.0)
    with pytest.raises(UsageError, match="over 5 MB"):
        SlackGateway(client).download(dict(file, size=MAX_FILE_BYTES + 1), MAX_FILE_BYTES, 2.0)
    assert (
        SlackGateway(WebClient(token=TOKEN, base_url=slack.api_url)).download(
            file, MAX_FILE_BYTES, 2.0
        )
        == b"x\n1\n"
    )


def test_unknown_prompt_or_missing_name_is_the_command_reply(bot):
    _, reply = bot.command("inputs nope")
    assert reply["text"] == ":warning: no prompt named 'nope'"
    _, reply = bot.command("inputs")
    assert reply["text"] == ":warning: usage: /prompt inputs NAME"


# -- CLI -------------------------------------------------------------------------------


def cli_env(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("limits:\n  test_set_max_rows: 3\n")
    return {"PROMPTBOT_CONFIG": str(config), "PROMPTBOT_DB": str(tmp_path / "p.db")}


def test_cli_adds_and_lists_sets(tmp_path):
    env = cli_env(tmp_path)
    make_prompt(Store(env["PROMPTBOT_DB"]))
    golden = tmp_path / "golden.csv"
    golden.write_text("text,lang\nhi,en\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["inputs", "add", "summary", str(golden)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "Saved test set 'golden' for summary: 1 row\n"
    edge = tmp_path / "rows.jsonl"
    edge.write_text(json.dumps({"text": "a", "lang": "b"}) + "\n")
    result = CliRunner().invoke(
        cli, ["inputs", "add", "summary", str(edge), "--set", "edge"], env=env
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["inputs", "list", "summary"], env=env)
    assert result.output == "edge\t1 row\ngolden\t1 row\n"


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    env = cli_env(tmp_path)
    make_prompt(Store(env["PROMPTBOT_DB"]))
    big = tmp_path / "big.csv"
    big.write_text("text,lang\n" + "a,b\n" * 4)
    result = CliRunner().invoke(cli, ["inputs", "add", "summary", str(big)], env=env)
    assert result.exit_code == 2
    assert result.output == (
        "Error: the test set has 4 rows; the limit is 3 (limits.test_set_max_rows)\n"
    )
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"text,lang\n\xff\xfe,b\n")
    result = CliRunner().invoke(cli, ["inputs", "add", "summary", str(binary)], env=env)
    assert (result.exit_code, result.output) == (
        2,
        "Error: x.csv is not UTF-8 text (byte 11); save it as UTF-8\n",
    )
    result = CliRunner().invoke(cli, ["inputs", "add", "other", str(big)], env=env)
    assert (result.exit_code, result.output) == (2, "Error: no prompt named 'other'\n")
