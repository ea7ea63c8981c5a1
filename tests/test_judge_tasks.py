"""The judge's task bookkeeping (unit): each task sent once per run, and a finished run
settled exactly once, after its last task ended, however that task ended."""

import pytest

from promptbot.judge.tasks import RunTasks, Stopped


class Pool:
    """Holds submitted tasks until the test runs them; refuses once shut down."""

    def __init__(self):
        self.waiting = []
        self.shut = False

    def submit(self, task):
        if self.shut:
            raise RuntimeError("cannot schedule new futures after shutdown")
        self.waiting.append(task)

    def run_all(self):
        while self.waiting:
            self.waiting.pop(0)()


def tracker():
    pool, settled = Pool(), []
    return pool, settled, RunTasks(pool.submit, settled.append)


def test_a_task_is_sent_once_however_often_it_is_asked_for():
    pool, _, tasks = tracker()
    ran = []
    tasks.send(1, [((10,), lambda: ran.append(10)), ((10, 11), lambda: ran.append("pair"))])
    tasks.send(1, [((10,), lambda: ran.append("again")), ((11,), lambda: ran.append(11))])
    pool.run_all()
    assert ran == [10, "pair", 11]
    tasks.send(2, [((10,), lambda: ran.append("run 2"))])  # another run's keys are its own
    pool.run_all()
    assert ran[-1] == "run 2"


def test_a_finished_run_settles_once_after_its_last_task_ends():
    pool, settled, tasks = tracker()
    tasks.send(1, [((10,), lambda: None), ((11,), lambda: None)])
    pool.run_all()
    assert settled == []  # its tasks ended, but the run has not finished
    tasks.send(1, [((12,), lambda: None)])
    tasks.finished(1)
    assert settled == []  # one task still out
    pool.run_all()
    assert settled == [1]
    tasks.finished(1)  # told again with nothing out: settled again (the judge re-checks)
    assert settled == [1, 1]


@pytest.mark.parametrize("ending", [Stopped, ValueError])
def test_a_task_that_crashes_or_is_stopped_still_ends(ending):
    pool, settled, tasks = tracker()

    def crash():
        raise ending("no verdict")

    tasks.send(1, [((10,), crash)])
    tasks.finished(1)
    pool.run_all()
    assert settled == [1]
    # Settled runs forget what they sent: a later start may send what is still missing.
    tasks.send(1, [((10,), lambda: None)])
    assert len(pool.waiting) == 1


def test_a_pool_shutting_down_does_not_leave_the_run_waiting_forever():
    pool, settled, tasks = tracker()
    pool.shut = True
    tasks.send(1, [((10,), lambda: None), ((11,), lambda: None)])
    tasks.finished(1)
    assert settled == [1]
