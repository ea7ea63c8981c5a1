"""`promptbot run` answers once it can serve; what a previous process left (unfinished
runs, the judge's queue, screened runs) and the scheduled jobs start after, on a thread
of their own. /healthz stays honest: 200 only while the database and the event inbox
would take a write, and 503 once a start-up job has failed."""

from __future__ import annotations

import gc
import json
import threading
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli, long_lived
from promptbot.errors import StorageUnavailable
from promptbot.jobs.scheduler import DigestScheduler
from tests.harness import wait_until


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
            assert json.loads(answer.read()) == {"ok": True}
            return int(answer.status)
    except urllib.error.HTTPError as error:
        assert json.loads(error.read()) == {"ok": False}
        return int(error.code)


def test_a_bot_answers_healthz_while_its_start_up_jobs_are_still_starting(running, monkeypatch):
    bot = running(resume=False)
    bot.bot.inbox.start()
    release, resuming = threading.Event(), threading.Event()
    resume_unfinished = bot.bot.runner.resume_unfinished

    def slow_resume():  # as a large database's would be
        resuming.set()
        assert release.wait(15)
        return resume_unfinished()

    monkeypatch.setattr(bot.bot.runner, "resume_unfinished", slow_resume)
    starting = bot.bot.start_in_background()
    assert resuming.wait(15)
    assert health(bot.url) == 200
    assert bot.bot.scheduler is None  # the jobs start after the take-over
    release.set()
    starting.join(15)
    assert bot.bot.scheduler is not None
    assert bot.bot.scheduler.scheduler.get_job("close-runs") is not None
    assert health(bot.url) == 200


@pytest.mark.parametrize("failing", ["take_over", "start_jobs"])
def test_a_start_up_job_that_fails_turns_healthz_to_503(running, monkeypatch, caplog, failing):
    bot = running(resume=False)

    def fail(*_):
        raise StorageUnavailable("the disk failed to write")

    if failing == "take_over":
        monkeypatch.setattr(bot.bot.runner, "resume_unfinished", fail)
    else:
        monkeypatch.setattr(DigestScheduler, "start", fail)
    assert health(bot.url) == 200
    bot.bot.start_in_background().join(15)
    assert health(bot.url) == 503
    assert "start-up jobs failed" in caplog.text
    assert "the disk failed to write" in caplog.text


def test_close_waits_for_the_start_up_thread_so_the_jobs_it_starts_are_stopped(running):
    bot = running(resume=False)
    thread = bot.bot.start_in_background()
    bot.close()
    assert not thread.is_alive()
    assert bot.bot.scheduler is not None and not bot.bot.scheduler.scheduler.running


def test_close_ends_the_threads_listeners_ran_on_and_their_connections_with_them(running):
    """Idle, a pool's threads would wait for work for ever, each holding the database
    connections it opened, until the process ends."""
    bot = running(resume=False)
    status, _ = bot.command("help")  # a listener runs on the Bolt pool, and reads
    assert status == 200
    threads = [thread for pool in bot.bot.surface.pools for thread in pool._threads]  # type: ignore[attr-defined]
    assert threads
    bot.close()
    wait_until(lambda: not any(t.is_alive() for t in threads), what="the pools' threads to end")


@pytest.fixture
def collector():
    """gc as the test found it (long_lived freezes this test process's objects)."""
    yield
    gc.unfreeze()
    gc.enable()


def test_what_start_up_makes_is_made_without_the_collector_and_frozen_after(collector):
    frozen = gc.get_freeze_count()
    with long_lived():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)


def test_a_start_up_that_fails_turns_the_collector_back_on(
    collector, cli_in_process, tmp_path, monkeypatch
):
    monkeypatch.setenv("PROMPTBOT_CONFIG", str(tmp_path / "missing.yaml"))
    result = CliRunner().invoke(cli, ["run", "--port", "0"])
    assert result.exit_code == 2 and "config file not found" in result.output
    assert gc.isenabled()
