"""Every payload shape in tests/slack_payloads/, replayed against the real app twice: signed
over HTTP and as a Socket Mode envelope. Each is answered 200 (acked), has its effect in
the database, and makes the Slack calls it should and no others.

The fixtures are written from Slack's documented payload shapes (each names its source);
``$CHANNEL``, ``$THREAD_TS``, ``$CANDIDATE_TS``… point them at a posted run.
"""

from __future__ import annotations

import json
import pathlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from promptbot.app import Bot, create_bot
from promptbot.config.environment import Environment
from promptbot.config.loading import parse_config
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from tests.factories import posted_run
from tests.harness import TOKEN, bot_config, start_bot, wait_until
from tests.socket_standin import SocketModeStandIn

FIXTURES = pathlib.Path(__file__).parent / "slack_payloads"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
APP_TOKEN = "xapp-test"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Scene:
    """The run a fixture points at, and the values that replace its placeholders."""

    run_id: int | None = None
    values: dict[str, str] | None = None

    def fill(self, payload: Any) -> Any:
        text = json.dumps(payload)
        for key, value in sorted((self.values or {}).items(), key=lambda kv: -len(kv[0])):
            text = text.replace(f"${key}", value)
        return json.loads(text)


def prepare(bot: Bot, slack: Any, given: list[str], deliver_event: Any) -> Scene:
    scene = Scene(values={"RESPONSE_URL": slack.response_url("fx")})
    if "run" not in given:
        scene.values.update(NEW_TS=payloads.new_ts())  # type: ignore[union-attr]
        return scene
    # A new prompt name each time: the module's bot keeps every earlier fixture's run.
    name = f"p{len(bot.store.recent_runs(50)) + 1}"
    run = bot.store.get_run(posted_run(bot.store, name=name, labels="AB").id)
    candidates = bot.store.candidates(run.id)
    for number, candidate in enumerate(candidates, start=2):
        bot.store.mark_posted(candidate.id, run.channel, [f"{run.id}.00000{number}"])
    assert run.thread_ts is not None
    scene.run_id = run.id
    scene.values.update(  # type: ignore[union-attr]
        CHANNEL=run.channel,
        THREAD_TS=run.thread_ts,
        CANDIDATE_TS=f"{run.id}.000002",
        REPLY_TS=payloads.new_ts(),
        RUN_ID=str(run.id),
    )
    if "reply" in given:
        values = scene.values or {}
        first = payloads.message_event(
            user="U2",
            text="first words",
            channel=values["CHANNEL"],
            ts=values["REPLY_TS"],
            thread_ts=values["THREAD_TS"],
        )
        deliver_event(json.loads(payloads.event_body(first)))
        wait_until(lambda: bot.store.comments(run.id), what="the first reply")
    scene.values.update(NEW_TS=payloads.new_ts())  # after the reply, as an edit is
    return scene


def settle(bot: Bot) -> None:
    executor = bot.app.listener_runner.listener_executor  # type: ignore[attr-defined]
    executor.submit(lambda: None).result(timeout=5)
    time.sleep(0.05)


# -- the two ways Slack delivers ------------------------------------------------------


def http_body(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    if kind in ("events_api", "url_verification"):
        return json.dumps(payload), "application/json"
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    return urlencode(payload), "application/x-www-form-urlencoded"  # commands, ssl_check


@dataclass
class Delivery:
    bot: Bot
    mode: str
    send: Any  # (kind, payload) -> (status, answer)
    slack: Any


@contextmanager
def over_http(tmp_path: pathlib.Path, slack: Any, models: Any) -> Iterator[Delivery]:
    running = start_bot(tmp_path, slack, models)

    def send(kind: str, payload: dict[str, Any]) -> tuple[int, Any]:
        body, content_type = http_body(kind, payload)
        status, text = running.post(body, content_type)
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, {"text": text}

    try:
        yield Delivery(running.bot, "http", send, slack)
    finally:
        running.close()


@contextmanager
def over_socket(tmp_path: pathlib.Path, slack: Any, models: Any) -> Iterator[Delivery]:
    slack.app_token = APP_TOKEN
    environment = Environment.capture(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "PROMPTBOT_DB": str(tmp_path / "promptbot.db"),
        }
    )
    bot = create_bot(parse_config(bot_config(models)), environment, socket_mode=True)
    socket = SocketModeStandIn().start()
    slack.socket_url = socket.url
    handler = SocketModeHandler(bot.app, APP_TOKEN)
    handler.connect()  # type: ignore[no-untyped-call]
    socket.wait_connected()

    def send(kind: str, payload: dict[str, Any]) -> tuple[int, Any]:
        envelope = socket.send_envelope(kind, payload)
        # Bolt acks only what it answered 200; no ack within the wait is a failure.
        ack = socket.wait_for_ack(envelope)
        return 200, ack.get("payload")

    try:
        yield Delivery(bot, "socket", send, slack)
    finally:
        handler.client.auto_reconnect_enabled = False
        socket.close()
        handler.close()  # type: ignore[no-untyped-call]
        bot.close()


# -- the replay ------------------------------------------------------------------------


def comment_rows(bot: Bot, run_id: int) -> list[dict[str, Any]]:
    return [
        {
            "user_id": c["user_id"],
            "text": c["text"],
            "files": json.loads(c["files"]) if c["files"] else None,
        }
        for c in bot.store.comments(run_id)
    ]


def ratings(bot: Bot, run_id: int | None) -> list[list[Any]]:
    if run_id is None:
        return []
    return [[r.user_id, r.scale, r.emoji, r.score] for r in bot.store.ratings(run_id)]


def check(delivery: Delivery, slack: Any, fixture: dict[str, Any], scene: Scene, reply: Any):
    bot, expect = delivery.bot, fixture["expect"]
    if "ratings" in expect:
        if expect["ratings"]:
            wait_until(lambda: ratings(bot, scene.run_id), what="the rating")
        settle(bot)
        assert ratings(bot, scene.run_id) == expect["ratings"]
    if "comments" in expect:
        assert scene.run_id is not None
        run_id = scene.run_id
        if expect["comments"]:
            wait_until(lambda: comment_rows(bot, run_id) == expect["comments"], what="comments")
        elif expect.get("deleted"):
            wait_until(lambda: not comment_rows(bot, run_id), what="the deletion")
        settle(bot)
        assert comment_rows(bot, run_id) == expect["comments"]
        (summary,) = [s for s in bot.store.recent_runs(50) if s.run.id == run_id]
        assert summary.comments == len(expect["comments"])
    if "earlier_texts" in expect:
        values = scene.values or {}
        edits = bot.store.comment_edits(values["CHANNEL"], values["REPLY_TS"])
        assert [e["text"] for e in edits] == expect["earlier_texts"]
    if "install_revoked" in expect:
        wanted = expect["install_revoked"]
        if wanted:
            wait_until(lambda: bot.store.install.revoked_reason(), what="the revocation")
        settle(bot)
        assert bot.store.install.revoked_reason() == wanted
    if "runs" in expect:
        names = {name for name, _ in expect["runs"]}

        def runs() -> list[list[str]]:
            found = [s.run for s in bot.store.recent_runs(50)]
            return [
                [r.version.prompt_name, r.created_by]
                for r in found
                if r.version.prompt_name in names
            ]

        wait_until(runs, what="the run")
        assert runs() == expect["runs"]
        # Posted in full before the next fixture counts its own Slack calls.
        wait_until(
            lambda: all(
                s.run.status in ("done", "failed")
                for s in bot.store.recent_runs(50)
                if s.run.version.prompt_name in names
            ),
            what="the run posted",
        )
    if expect.get("run_deleted"):
        assert scene.run_id is not None
        run_id = scene.run_id
        wait_until(lambda: bot.store.get_run(run_id).deleted_at, what="the run deleted")
    for text in expect.get("responses", []):
        wait_until(
            lambda text=text: [r for r in slack.responses if text in json.dumps(r.body)],
            what=f"a response with {text}",
        )
    if "ack_text" in expect:
        assert expect["ack_text"] in json.dumps(reply)
    if "http_body" in expect and delivery.mode == "http":
        assert reply == expect["http_body"]


@pytest.fixture(scope="module", params=["http", "socket"])
def delivery(request, tmp_path_factory):
    """One bot per way of delivery for the whole module (a Socket Mode connection takes
    a second to open and close), each with its own stand-ins; each fixture gets its own
    run, and the checks look at that run, the calls it caused, and an install made live
    again before each."""
    opener = over_http if request.param == "http" else over_socket
    folder = tmp_path_factory.mktemp(request.param)
    with (
        SlackStandIn(bot_token=TOKEN) as slack,
        OpenAIStandIn() as models,
        opener(folder, slack, models) as opened,
    ):
        yield opened


@pytest.fixture
def slack(delivery):
    return delivery.slack


@pytest.mark.parametrize("name", NAMES)
def test_payload_is_answered_and_has_its_effect(name, delivery, slack):
    fixture = load(name)
    if delivery.mode == "socket" and fixture.get("http_only"):
        pytest.skip(fixture["http_only"])

    delivery.bot.store.install.restore()
    scene = prepare(
        delivery.bot,
        slack,
        fixture.get("given", []),
        lambda payload: delivery.send("events_api", payload),
    )
    before = len(slack.calls)
    status, reply = delivery.send(fixture["kind"], scene.fill(fixture["payload"]))

    assert status == 200, reply
    check(delivery, slack, fixture, scene, reply)
    expected_calls = fixture["expect"].get("slack", {})
    for method, count in expected_calls.items():
        if count:
            wait_until(
                lambda m=method, n=count: [c.method for c in slack.calls[before:]].count(m) >= n,
                what=method,
            )
    settle(delivery.bot)
    made = [c.method for c in slack.calls[before:]]
    for method, count in expected_calls.items():
        assert made.count(method) == count, made
    if fixture["expect"].get("slack") == {}:
        assert made == [], made


def test_every_fixture_names_its_source_and_shape():
    kinds = {"events_api", "interactive", "slash_commands", "url_verification", "ssl_check"}
    for name in NAMES:
        fixture = load(name)
        assert fixture["about"] and fixture["source"], name
        assert fixture["kind"] in kinds, name
        assert fixture["expect"] is not None, name
