"""The render budget's workers under faults (issue 16): a worker killed between or during
renders, a renderer that cannot start or never says it is ready, the output cap carried
to the worker, and no worker left behind by close()."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from promptbot.errors import TemplateError
from promptbot.review import render_budget
from promptbot.review.render_budget import RenderBudget
from tests.harness import wait_until

FOREVER = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"


def _stat(pid: int | str) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def render_workers() -> list[int]:
    """This process's live render workers, found the way an operator would: by pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(entry.name)
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat and stat[1] == os.getpid() and stat[0] != "Z" and b"render_worker" in cmdline:
            found.append(int(entry.name))
    return found


def kill_workers(spare: frozenset[int] = frozenset()) -> int:
    """Kill this process's render workers (but ``spare``) and wait until each has died
    (its state, not its command line: that reads empty while a process is still exiting)."""
    pids = [pid for pid in render_workers() if pid not in spare]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        wait_until(lambda pid=pid: _stat(pid) is None or _stat(pid)[0] in "ZX", what="death")
    return len(pids)


@pytest.fixture
def budget():
    budgets: list[RenderBudget] = []

    def make(seconds: float = 20.0, max_output_bytes: int = 65_536, workers: int = 1):
        made = RenderBudget(seconds, max_output_bytes, workers=workers)
        budgets.append(made)
        return made

    yield make
    for made in budgets:
        made.close()


def test_a_worker_killed_between_renders_is_replaced(budget):
    # an earlier test's renderer may still have a worker on its way out
    others = frozenset(render_workers())
    renderer = budget()
    assert renderer.render("Hi {{ x }}", {"x": "Ada"}) == "Hi Ada"
    assert kill_workers(spare=others) == 1
    assert renderer.render("Bye {{ x }}", {"x": "Ada"}) == "Bye Ada"
    assert len(set(render_workers()) - others) == 1


def test_a_worker_killed_mid_render_fails_that_render_and_the_next_one_works(budget):
    renderer = budget(seconds=60.0)
    assert renderer.render("warm", {}) == "warm"
    outcome: list[BaseException] = []

    def stuck() -> None:
        try:
            renderer.render(FOREVER, {})
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=stuck)
    thread.start()
    # Killed whenever it is found (a replacement too): the render must end, not hang.
    while thread.is_alive():
        kill_workers()
        thread.join(0.1)
    assert len(outcome) == 1 and isinstance(outcome[0], TemplateError)
    assert renderer.render("again {{ n }}", {"n": 2}) == "again 2"


def test_a_renderer_that_cannot_start_is_one_error_and_is_tried_again(budget, monkeypatch):
    renderer = budget()
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(TemplateError, match=r"^the template renderer did not start$"):
        renderer.render("Hi", {})
    monkeypatch.undo()
    assert renderer.render("Hi", {}) == "Hi"  # the failure was the renderer's: not cached


def test_a_renderer_that_never_says_ready_is_given_up_on(budget, monkeypatch, tmp_path):
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexec sleep 30\n")
    silent.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(silent))
    monkeypatch.setattr(render_budget, "START_SECONDS", 0.5)
    renderer = budget()
    with pytest.raises(TemplateError, match="did not start"):
        renderer.render("Hi", {})
    monkeypatch.undo()
    assert renderer.render("Hi", {}) == "Hi"


def test_the_worker_keeps_to_the_output_cap_it_is_given(budget):
    renderer = budget(max_output_bytes=100)
    assert renderer.render("{{ x }}", {"x": "y" * 100}) == "y" * 100
    with pytest.raises(TemplateError, match="renders to more than 0 KB"):
        renderer.render("{{ x }}", {"x": "y" * 101})


def test_answers_are_per_template_and_values(budget):
    renderer = budget()
    assert renderer.render("{{ x }}", {"x": 1}) == "1"
    assert renderer.render("{{ x }}", {"x": 2}) == "2"
    assert renderer.render("<{{ x }}>", {"x": 1}) == "<1>"
    assert renderer.render("{{ x }}", {"x": 1}) == "1"
    with pytest.raises(TemplateError, match="missing value for template variable: x"):
        renderer.render("{{ x }}", {})


def test_the_time_budget_is_said_in_the_error_and_ends_the_worker(budget):
    renderer = budget(seconds=0.3)
    assert renderer.render("warm", {}) == "warm"
    with pytest.raises(TemplateError) as caught:
        renderer.render(FOREVER, {})
    assert str(caught.value) == (
        "template took longer than 0.3 s to render (limits.template_render_seconds)"
    )
    assert render_workers() == []
    assert renderer.render("next", {}) == "next"


def test_close_leaves_no_worker_behind(budget):
    renderer = budget(workers=2)
    done = []
    threads = [
        threading.Thread(target=lambda n=n: done.append(renderer.render("{{ n }}", {"n": n})))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == ["0", "1", "2", "3"]
    assert 1 <= len(render_workers()) <= 2
    renderer.close()
    assert render_workers() == []
