"""kill -9 of the real ``promptbot run`` at each step of a run, then a restart: the run
ends with one parent, every answered candidate posted exactly once and seeded, and
nothing unfinished. The kill is aimed by holding Slack's (or the model's) answer at
the chosen step, so the process dies while it waits for it."""

import pytest

from storage import Store
from tests.delivery import assert_delivered, candidate_posts, parents
from tests.harness import wait_until
from tests.live_bot import launch, write_config


@pytest.fixture
def live(tmp_path, slack, models):
    config = write_config(tmp_path, models.base_url)
    db = tmp_path / "promptbot.db"
    started = []

    def start(name="bot"):
        bot = launch(tmp_path, db, config, slack.api_url, name)
        started.append(bot)
        return bot

    start.db = db
    yield start
    for bot in started:
        bot.stop()


def store_of(live):
    return Store(live.db)


def propose(bot):
    assert bot.command("propose crashy --models alpha,beta,gamma\nHi") == 200


def finish_after_restart(live, slack, run_id=1):
    live("restarted")
    store = store_of(live)
    wait_until(lambda: store.get_run(run_id).status == "done", 30, "the run done after restart")
    wait_until(lambda: _seeded(store, run_id), 15, "every candidate seeded")
    assert_delivered(store, slack, run_id)
    return store


def _seeded(store, run_id):
    return all(s.status == "done" for s in store.delivery.steps(run_id, "seed:"))


def test_killed_after_the_run_is_recorded(live, slack, models):
    for name in ("alpha", "beta", "gamma"):
        models.set_behaviour(f"{name}-id", latency=30)
    bot = live()
    propose(bot)
    store = store_of(live)
    wait_until(lambda: store.recent_runs(5), 10, "the run recorded")
    models.wait_for_requests(3)
    bot.kill()
    models.clear_behaviour()
    finish_after_restart(live, slack)


def test_killed_after_the_parent_post_before_it_is_recorded(live, slack):
    slack.fail_next("chat.postMessage", delay=60, apply=True)  # posted; the answer never comes
    bot = live()
    propose(bot)
    wait_until(lambda: parents(slack, "C1", 1), 10, "the parent in Slack")
    bot.kill()
    finish_after_restart(live, slack)


def test_killed_mid_candidates(live, slack):
    slack.fail_next("chat.postMessage", delay=60, apply=True, after=2)  # parent, A, then B hangs
    bot = live()
    propose(bot)
    wait_until(lambda: len(candidate_posts(slack, "C1")) == 2, 10, "two candidates in Slack")
    bot.kill()
    finish_after_restart(live, slack)


def test_killed_mid_seeding(live, slack):
    slack.fail_next("reactions.add", delay=60, apply=True, after=1)
    bot = live()
    propose(bot)
    slack.wait_for_calls("reactions.add", 2, timeout=10)
    bot.kill()
    finish_after_restart(live, slack)


def test_killed_mid_reveal(live, slack):
    bot = live()
    propose(bot)
    store = store_of(live)
    wait_until(lambda: store.get_run(1).status == "done", 15, "the run done")
    wait_until(lambda: _seeded(store, 1), 15, "seeded")
    slack.fail_next("chat.update", delay=60, apply=True, after=1)
    assert bot.command("reveal 1") == 200
    slack.wait_for_calls("chat.update", 2, timeout=10)
    bot.kill()
    live("restarted")
    wait_until(lambda: store.get_run(1).revealed_at, 30, "the reveal finished after restart")
    run = store.get_run(1)
    for candidate in store.candidates(1):
        (ts,) = store.candidate_message_ts(candidate.id)
        text = str(slack.find_message("C1", ts)["blocks"])
        assert candidate.model_name in text, "every candidate names its model once revealed"
    notices = [m for m in slack.thread("C1", run.thread_ts) if "Voting is closed" in m["text"]]
    assert len(notices) == 1
    assert_delivered(store, slack, 1)


def test_a_stalled_process_loses_its_run_to_another_and_posts_nothing(live, slack, models):
    import signal

    for name in ("alpha", "beta", "gamma"):
        models.set_behaviour(f"{name}-id", latency=6)
    first = live("first")
    propose(first)
    models.wait_for_requests(3)
    first.process.send_signal(signal.SIGSTOP)  # alive, but its heartbeat stops
    try:
        models.clear_behaviour()
        live("second")  # takes the run over once the first one's lease expires
        store = store_of(live)
        wait_until(lambda: store.get_run(1).status == "done", 30, "the run done by the second")
    finally:
        first.process.send_signal(signal.SIGCONT)
    # The first wakes up, its model calls return: it must see it lost the run.
    wait_until(lambda: len(models.requests) == 6, 15, "the first process's calls returned")
    wait_until(lambda: "lease lost" in first.log.read_text(), 15, "the first gave the run up")
    wait_until(lambda: _seeded(store, 1), 15, "seeded")
    assert_delivered(store, slack, 1)
