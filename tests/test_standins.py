"""The stand-ins, driven by the real slack_sdk, slack_bolt and openai clients over HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import openai
import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from promptbot.standins import OpenAIStandIn, SlackStandIn, check_blocks, check_view
from promptbot.standins.payloads import (
    block_actions_body,
    event_body,
    message_event,
    post_signed,
    reaction_event,
    sign,
    slash_command_body,
    view_submission_body,
)
from tests.socket_standin import SocketModeStandIn

TOKEN = "xoxb-standin"
SECRET = "shhh-signing-secret"


@pytest.fixture
def slack():
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def client(slack):
    return WebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
def model_api():
    with OpenAIStandIn() as standin:
        yield standin


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# ---------------------------------------------------------------- Slack Web API


def test_auth_test_and_bad_token(slack, client):
    assert client.auth_test()["user_id"] == "UBOT"
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as info:
        bad.auth_test()
    assert info.value.response["error"] == "invalid_auth"


def test_post_thread_replies_and_permalink(slack, client):
    parent = client.chat_postMessage(channel="C1", text="parent", blocks=[section("*hi*")])
    assert parent["message"]["blocks"][0]["text"]["text"] == "*hi*"
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent["ts"])
    client.chat_postMessage(channel="C1", text="reply to reply", thread_ts=reply["ts"])

    replies = client.conversations_replies(channel="C1", ts=parent["ts"])["messages"]
    assert [m["text"] for m in replies] == ["parent", "reply", "reply to reply"]
    assert replies[0]["reply_count"] == 2
    assert all(m["bot_id"] == "BBOT" and m["user"] == "UBOT" for m in replies)
    assert [m["text"] for m in slack.thread("C1", parent["ts"])] == ["reply", "reply to reply"]
    assert slack.find_message("C1", reply["ts"])["thread_ts"] == parent["ts"]

    link = client.chat_getPermalink(channel="C1", message_ts=reply["ts"])["permalink"]
    expected = f"/archives/C1/p{reply['ts'].replace('.', '')}?thread_ts={parent['ts']}&cid=C1"
    assert link.endswith(expected)


def test_history_and_replies_page_with_cursors_as_slack_does(slack, client):
    stamps = [client.chat_postMessage(channel="C1", text=f"{n}")["ts"] for n in range(5)]
    for n in range(4):
        client.chat_postMessage(channel="C1", text=f"r{n}", thread_ts=stamps[0])
    slack.paging(2)  # Slack may answer fewer than `limit` before the end

    def every_page(method, **params):
        pages, cursor = [], None
        while True:
            page = getattr(client, method)(channel="C1", limit=200, cursor=cursor, **params)
            pages.append([m["text"] for m in page["messages"]])
            cursor = page["response_metadata"]["next_cursor"]
            assert page["has_more"] is bool(cursor)
            if not cursor:
                return pages

    assert every_page("conversations_history") == [["4", "3"], ["2", "1"], ["0"]]
    thread = every_page("conversations_replies", ts=stamps[0])
    assert thread == [["0", "r0"], ["r1", "r2"], ["r3"]]
    newest = client.conversations_history(channel="C1", limit=1)["messages"]
    assert [m["text"] for m in newest] == ["4"]
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel="C1", cursor="not a cursor")
    assert info.value.response["error"] == "invalid_cursor"


def test_ts_values_are_unique_and_increasing_under_concurrency(slack, client):
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda i: client.chat_postMessage(channel="C1", text=f"{i}"), range(40))
        )
    stamps = [m["ts"] for m in slack.messages("C1")]
    assert len(set(stamps)) == 40 == len({a["ts"] for a in answers})
    assert stamps == sorted(stamps, key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_update_delete_ephemeral_and_errors(slack, client):
    posted = client.chat_postMessage(
        channel="C1", text="v1", metadata={"event_type": "e", "event_payload": {"a": 1}}
    )
    client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    message = slack.find_message("C1", posted["ts"])
    assert message["text"] == "v2" and message["metadata"]["event_payload"] == {"a": 1}
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert slack.ephemerals(user="U1")[0]["text"] == "psst"
    client.chat_delete(channel="C1", ts=posted["ts"])
    assert slack.messages("C1") == []
    for call, error in [
        (lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x"), "message_not_found"),
        (lambda: client.chat_postMessage(channel="C1", text="x" * 40_001), "msg_too_long"),
        (lambda: client.api_call("chat.postMessage", json={"channel": "C1"}), "invalid_arguments"),
        (lambda: client.api_call("chat.unheardOf"), "unknown_method"),
    ]:
        with pytest.raises(SlackApiError) as info:
            call()
        assert info.value.response["error"] == error


def test_rate_limit_is_retried_and_changes_state_once(slack):
    slack.fail_next("chat.postMessage", retry_after=0)
    retrying = WebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )
    retrying.chat_postMessage(channel="C1", text="once")
    assert [m["text"] for m in slack.messages("C1")] == ["once"]
    calls = slack.calls_to("chat.postMessage")
    assert [c.rate_limited for c in calls] == [True, False]


def test_rate_limit_without_retry_handler_and_injected_error(slack, client):
    slack.fail_next("reactions.add", retry_after=7)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    posted = None
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C404", text="x")
    assert info.value.response["error"] == "channel_not_found"
    posted = client.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as info:
        client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert slack.find_message("C1", posted["ts"])["reactions"] == {}


def test_invalid_blocks_on_51_blocks(slack, client):
    client.chat_postMessage(channel="C1", text="fifty", blocks=[section("x")] * 50)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="too many", blocks=[section("x")] * 51)
    assert info.value.response["error"] == "invalid_blocks"
    assert any("51 blocks" in e for e in info.value.response["errors"])
    assert len(slack.messages("C1")) == 1


def test_blockkit_limits():
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}
    problems = check_blocks(
        [
            {"type": "header", "text": {"type": "mrkdwn", "text": "h" * 151}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
            {"type": "actions", "elements": [button]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": ""}]},
            {
                "type": "input",
                "block_id": "i" * 256,
                "label": {"type": "plain_text", "text": "L"},
                "element": {"type": "plain_text_input", "action_id": "t", "max_length": 3001},
            },
        ]
    )
    joined = "\n".join(problems)
    for fragment in [
        "/blocks/0/text/type",
        "/blocks/0/text/text: 151",
        "/blocks/1/text/text: 3001",
        "/blocks/2/fields: needs 0 to 10",
        "/blocks/3/elements/0/text/text: 76",
        "/blocks/4/elements/0/text: must be a non-empty",
        "/blocks/5/block_id",
        "/blocks/5/element/max_length",
    ]:
        assert fragment in joined
    assert check_blocks([section("fine")] * 100, "modal") == []
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 25},
        "private_metadata": "m" * 3001,
        "blocks": [],
    }
    assert len(check_view(view)) == 2


def test_reactions(slack, client):
    ts = client.chat_postMessage(channel="C1", text="rate me")["ts"]
    client.reactions_add(channel="C1", timestamp=ts, name="one")
    with pytest.raises(SlackApiError) as info:
        client.reactions_add(channel="C1", timestamp=ts, name="one")
    assert info.value.response["error"] == "already_reacted"
    slack.add_user_reaction("C1", ts, "one", "U1")
    assert slack.find_message("C1", ts)["reactions"] == {"one": ["UBOT", "U1"]}
    got = client.reactions_get(channel="C1", timestamp=ts)["message"]["reactions"]
    assert got == [{"name": "one", "users": ["UBOT", "U1"], "count": 2}]
    client.reactions_remove(channel="C1", timestamp=ts, name="one")
    with pytest.raises(SlackApiError) as info:
        client.reactions_add(channel="C1", timestamp="1.000000", name="one")
    assert info.value.response["error"] == "message_not_found"


def test_views_users_and_dms(slack, client):
    modal = {
        "type": "modal",
        "callback_id": "propose",
        "title": {"type": "plain_text", "text": "Propose"},
        "blocks": [section("x")],
    }
    opened = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "propose"
    updated = client.views_update(view_id=opened["id"], view=modal | {"blocks": []})["view"]
    assert updated["id"] == opened["id"] and slack.view(opened["id"])["blocks"] == []
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id="Vnope", view=modal)
    assert info.value.response["error"] == "not_found"
    with pytest.raises(SlackApiError) as info:
        client.views_open(
            trigger_id="1.2.abc", view=modal | {"title": {"type": "plain_text", "text": "x" * 25}}
        )
    assert info.value.response["error"] == "invalid_arguments"
    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("home")]})[
        "view"
    ]
    again = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert home["id"] == again["id"] and slack.home_view("U1")["blocks"] == []

    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert dm.startswith("D") and dm == client.conversations_open(users=["U1"])["channel"]["id"]
    client.chat_postMessage(channel="U1", text="reminder")
    assert slack.messages(dm)[0]["text"] == "reminder"
    slack.add_user("U2", "ada", real_name="Ada L", display_name="ada")
    assert client.users_info(user="U2")["user"]["profile"]["display_name"] == "ada"


def test_files_upload_v2_round_trips_bytes(slack, client):
    data = b"name,score\nsummary,0.9\n\x00\xff"
    result = client.files_upload_v2(
        content=data, filename="export.csv", title="Export", channel="C1", initial_comment="here"
    )
    (uploaded,) = slack.files()
    assert uploaded.content == data and uploaded.completed and uploaded.channel_id == "C1"
    assert result["file"]["id"] == uploaded.id and uploaded.title == "Export"


def test_response_url_and_wait_helpers(slack):
    WebhookClient(slack.response_url("cmd1")).send(text="working on it", response_type="ephemeral")
    post = slack.responses[0]
    assert post.name == "cmd1" and post.body["text"] == "working on it"
    threading.Timer(0.05, lambda: slack.add_user_message("C9", "late", user="U1")).start()
    assert slack.wait_for(lambda: slack.messages("C9"), timeout=2)[0]["text"] == "late"
    with pytest.raises(TimeoutError, match="calls so far"):
        slack.wait_for_calls("chat.postMessage", 1, timeout=0.05)


# ---------------------------------------------------------------- payloads and signing


def test_signatures_verify_with_slack_sdk():
    body = slash_command_body("list", user_id="U1", channel_id="C1")
    headers = sign(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign(SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)


def test_post_signed_reaches_the_server(slack):
    status, text = post_signed(
        slack.response_url("signed"),
        json.dumps({"text": "hi"}),
        SECRET,
        content_type="application/json",
    )
    assert (status, text) == (200, "ok")
    post = slack.responses[0]
    assert SignatureVerifier(SECRET).is_valid_request(json.dumps({"text": "hi"}), post.headers)
    assert (
        post_signed(slack.root_url + "/nowhere", "x", SECRET, content_type="text/plain")[0] == 404
    )


def test_payload_shapes():
    form = parse_qs(slash_command_body("propose x", user_id="U1", channel_id="C1"))
    assert form["command"] == ["/prompt"] and form["trigger_id"][0]
    view = {"type": "modal", "callback_id": "propose", "private_metadata": "meta"}
    payload = json.loads(
        parse_qs(view_submission_body(view, {"b": {"a": "typed"}}, user_id="U1"))["payload"][0]
    )
    assert payload["view"]["state"]["values"]["b"]["a"]["value"] == "typed"
    assert payload["view"]["private_metadata"] == "meta" and payload["view"]["id"]
    action = json.loads(
        parse_qs(block_actions_body("vote", "1", user_id="U1", channel_id="C1", message_ts="1.2"))[
            "payload"
        ][0]
    )
    assert (
        action["actions"][0]["action_id"] == "vote" and action["container"]["message_ts"] == "1.2"
    )
    event = reaction_event("reaction_added", user="U1", reaction="one", channel="C1", ts="1.2")
    first, second = json.loads(event_body(event)), json.loads(event_body(event))
    assert first["event_id"] != second["event_id"] and first["event"]["item"]["ts"] == "1.2"
    assert (
        message_event(user="U1", text="t", channel="C1", ts="2.0", thread_ts="1.0")["thread_ts"]
        == "1.0"
    )


def test_bolt_app_accepts_signed_command(slack, monkeypatch):
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    app = App(
        client=WebClient(token=TOKEN, base_url=slack.api_url),
        signing_secret=SECRET,
        # Without a logger of its own, Bolt gives the loggers it makes the root's level
        # of the moment, and keeps them at it for the tests after this one.
        logger=logging.getLogger("tests.standins.bolt"),
    )

    @app.command("/prompt")
    def on_prompt(ack, command, respond, client):
        ack()
        client.chat_postMessage(channel=command["channel_id"], text=f"got {command['text']}")
        respond("done")

    body = slash_command_body(
        "list", user_id="U1", channel_id="C1", response_url=slack.response_url()
    )
    headers = {**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
    assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 200
    assert slack.wait_for(lambda: slack.messages("C1"))[0]["text"] == "got list"
    assert slack.wait_for(lambda: slack.responses)[0].body["text"] == "done"
    forged = {**sign("wrong", body), "Content-Type": "application/x-www-form-urlencoded"}
    assert app.dispatch(BoltRequest(body=body, headers=forged)).status == 401


# ---------------------------------------------------------------- model API


def make_openai(standin: OpenAIStandIn, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=standin.base_url, api_key="sk-standin", **kwargs)


def test_openai_reply_and_usage(model_api):
    with make_openai(model_api, max_retries=0) as client:
        reply = client.chat.completions.create(
            model="m1",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "say hi"},
            ],
            temperature=0,
        )
    assert reply.choices[0].message.content == "[m1] say hi"
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (
        4,
        3,
        7,
    )
    (request,) = model_api.requests_for("m1")
    assert (
        request.params["temperature"] == 0
        and request.headers["authorization"] == "Bearer sk-standin"
    )


def test_openai_custom_reply_and_models(model_api):
    model_api.set_behaviour(
        "m2",
        reply=lambda request: request["messages"][-1]["content"].upper(),
        finish_reason="length",
    )
    with make_openai(model_api, max_retries=0) as client:
        reply = client.chat.completions.create(
            model="m2", messages=[{"role": "user", "content": "loud"}]
        )
        assert [m.id for m in client.models.list()] == ["m2"]
    assert reply.choices[0].message.content == "LOUD" and reply.choices[0].finish_reason == "length"


def test_openai_429_is_retried(model_api):
    model_api.set_behaviour("m1", status=429, times=1, retry_after=0)
    with make_openai(model_api, max_retries=2) as client:
        reply = client.chat.completions.create(
            model="m1", messages=[{"role": "user", "content": "again"}]
        )
    assert reply.choices[0].message.content == "[m1] again"
    assert len(model_api.requests_for("m1")) == 2


def test_openai_error_status_without_retries(model_api):
    model_api.set_behaviour("m1", status=500)
    with make_openai(model_api, max_retries=0) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "x"}])


def test_openai_latency_beyond_timeout(model_api):
    model_api.set_behaviour("slow", latency=2.0)
    with (
        make_openai(model_api, timeout=0.2, max_retries=0) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="slow", messages=[{"role": "user", "content": "x"}])


def test_openai_in_flight_is_tracked(model_api):
    model_api.set_behaviour("m1", latency=0.2)
    with make_openai(model_api, max_retries=0) as client, ThreadPoolExecutor(3) as pool:

        def ask(i):
            return client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": str(i)}]
            )

        replies = list(pool.map(ask, range(3)))
    assert sorted(r.choices[0].message.content for r in replies) == ["[m1] 0", "[m1] 1", "[m1] 2"]
    assert model_api.max_in_flight["m1"] == 3 and model_api.in_flight("m1") == 0


def test_openai_close_does_not_wait_for_latency():
    standin = OpenAIStandIn().start()
    standin.set_behaviour("m1", latency=30)
    client = make_openai(standin, max_retries=0, timeout=5)
    worker = ThreadPoolExecutor(1)
    future = worker.submit(
        client.chat.completions.create, model="m1", messages=[{"role": "user", "content": "x"}]
    )
    standin.wait_for_requests(1)
    started = time.monotonic()
    standin.close()
    assert time.monotonic() - started < 1
    with pytest.raises(openai.APIStatusError):
        future.result(timeout=5)
    worker.shutdown()
    client.close()


# ---------------------------------------------------------------- Socket Mode


def test_socket_mode_envelope_is_acked(slack):
    received = []

    def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ok"})
        )

    with SocketModeStandIn() as socket_standin:
        slack.socket_url = socket_standin.url
        client = SocketModeClient(
            app_token="xapp-standin", web_client=WebClient(base_url=slack.api_url)
        )
        client.socket_mode_request_listeners.append(listener)
        try:
            client.connect()
            socket_standin.wait_connected()
            payload = {"command": "/prompt", "text": "list", "user_id": "U1", "channel_id": "C1"}
            envelope_id = socket_standin.send_envelope("slash_commands", payload)
            ack = socket_standin.wait_for_ack(envelope_id)
        finally:
            # The client's close() blocks until its 3 s socket read times out, unless the
            # server hangs up first; stop it reconnecting, then close the server first.
            client.auto_reconnect_enabled = False
            socket_standin.close()
            client.close()
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "ok"}}
    assert received[0].payload["text"] == "list"
    assert slack.calls_to("apps.connections.open")
