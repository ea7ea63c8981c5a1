"""A light start-up: the statistics stack and the model client load when first needed.

numpy, scipy, choix and krippendorff are for the digest and standings; openai is for
model calls; Jinja2 for templates; APScheduler for the scheduled jobs, which `promptbot
run` starts once it is serving. A bot that starts, serves /healthz and stores ratings
needs none of them, and `promptbot --help` needs not even the settings models. Each check runs in a fresh
interpreter, since this test process has long loaded them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Store

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["numpy", "scipy", "choix", "krippendorff", "sklearn", "openai"]
# Loaded by the first template, and by the jobs `promptbot run` starts after it serves.
LATER = ["jinja2", "apscheduler"]

_REPORT = "import json, sys; print(json.dumps(sorted(set(sys.modules) & set(sys.argv[1:]))))"


def loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``code``."""
    result = subprocess.run(
        [sys.executable, "-c", code + "\n" + _REPORT, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_the_app_factory_loads_no_statistics_or_model_client() -> None:
    assert loaded_after("import promptbot.app, handlers.wsgi", [*HEAVY, *LATER]) == []


def run_cli(args: list[str], expect: str) -> str:
    """Code that runs ``promptbot ARGS`` in-process and checks its output holds ``expect``
    (``sys.argv`` is given back after: it carries the modules to report on)."""
    return (
        "import sys, contextlib, io\n"
        f"asked, sys.argv = sys.argv, ['promptbot', *{args!r}]\n"
        "from promptbot.cli.main import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    cli()\n"
        "sys.argv = asked\n"
        f"assert {expect!r} in out.getvalue(), out.getvalue()\n"
    )


def test_help_loads_neither_statistics_nor_settings() -> None:
    # Nor the records, nor logging: each subcommand imports what it needs when it runs.
    unwanted = [*HEAVY, "pydantic", "slack_bolt", "sqlite_utils", "yaml", "promptbot.domain"]
    assert loaded_after(run_cli(["--help"], "Usage"), [*unwanted, "logging"]) == []


def test_a_digest_preview_loads_no_slack_no_model_client_and_few_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`promptbot digest --print` reads the database and prints: the Slack and model
    clients, the web server, the Store's other subjects and APScheduler (the period is
    found by config.crontab.wall_times) stay unloaded."""
    Store(tmp_path / "empty.db").close()
    (tmp_path / "app.yaml").write_text("models: [{name: a, model: a}]\n", encoding="utf-8")
    monkeypatch.setenv("PROMPTBOT_DB", str(tmp_path / "empty.db"))
    monkeypatch.setenv("PROMPTBOT_CONFIG", str(tmp_path / "app.yaml"))
    code = run_cli(["digest", "--print"], "Prompt digest")
    unwanted = ["slack_bolt", "slack_sdk", "openai", "waitress", "handlers", "apscheduler"]
    stores = ["storage.admin", "storage.delivery", "storage.inbox", "storage.test_sets"]
    assert loaded_after(code, [*unwanted, *stores]) == []


def test_a_digest_preview_starts_no_blas_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its matrix products run on one thread (resampling.one_blas_thread): OpenBLAS is
    told so before numpy loads, so it starts no spinning threads of its own."""
    Store(tmp_path / "empty.db").close()
    (tmp_path / "app.yaml").write_text("models: [{name: a, model: a}]\n", encoding="utf-8")
    monkeypatch.setenv("PROMPTBOT_DB", str(tmp_path / "empty.db"))
    monkeypatch.setenv("PROMPTBOT_CONFIG", str(tmp_path / "app.yaml"))
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    code = run_cli(["digest", "--print"], "Prompt digest") + (
        "import threadpoolctl\n"
        "found = [i['num_threads'] for i in threadpoolctl.threadpool_info()"
        " if i['internal_api'] == 'openblas']\n"
        "assert found == [1], found\n"
    )
    assert loaded_after(code, ["numpy"]) == ["numpy"]


_SERVE_AND_RATE = """
import tempfile
from pathlib import Path
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from tests.factories import posted_run
from tests.harness import TOKEN, start_bot, wait_until

with SlackStandIn(bot_token=TOKEN) as slack, OpenAIStandIn() as models:
    bot = start_bot(Path(tempfile.mkdtemp()), slack, models)
    run = posted_run(bot.store, channel="C1", labels="AB")
    candidate = bot.store.candidates(run.id)[0]
    bot.store.mark_posted(candidate.id, "C1", ["1700000000.000100"])
    assert bot.react("1700000000.000100", "+1", "U2") == 200
    wait_until(lambda: bot.store.ratings(run.id), what="the rating")
    {after}
    bot.close()
"""


def test_a_serving_bot_stores_ratings_without_them() -> None:
    assert loaded_after(_SERVE_AND_RATE.format(after="pass"), [*HEAVY, *LATER]) == []


def test_templates_and_jobs_load_them_when_asked() -> None:
    """The other side: Jinja2 with the first template, APScheduler with the jobs."""
    code = _SERVE_AND_RATE.format(
        after="from promptbot.review.sandbox import parse_template\n"
        "    assert parse_template('{{ x }}').render({'x': 1}) == '1'\n"
        "    bot.bot.start_jobs()"
    )
    assert loaded_after(code, LATER) == sorted(LATER)


def test_the_digest_loads_the_statistics_when_asked() -> None:
    """The other side: they are deferred, not gone."""
    code = _SERVE_AND_RATE.format(after="assert bot.bot.digests.preview().blocks")
    # ... and even a digest leaves out scipy and choix (the tests' references only), and
    # krippendorff unless there is a judge to calibrate (the team's own α is numpy's).
    loaded = loaded_after(code, ["numpy", "krippendorff", "scipy", "choix"])
    assert sorted(loaded) == ["numpy"]


_DIGEST_WITH_A_JUDGE = """
import contextlib, io, os, sys, tempfile
from pathlib import Path
from storage import Store
from tests.judged_runs import Judged, judged_run

folder = Path(tempfile.mkdtemp())
store = Store(folder / "t.db")
rows = [Judged(1.0, 5, ["+1"] * 3, [5, 4, 5]), Judged(0.0, 2, ["-1"] * 3, [1, 2, 2])]
rows += [Judged(1.0, 4, ["+1", "+1", "-1"], [4, 4, 3]), Judged(0.0, 1, ["+1"] * 3, [3, 3, 3])]
judged_run(store, "greet", rows)
store.close()
(folder / "app.yaml").write_text(
    "models: [{name: judge, model: j}]\\njudge: {model: judge}\\n", encoding="utf-8"
)
os.environ.update(PROMPTBOT_DB=str(folder / "t.db"), PROMPTBOT_CONFIG=str(folder / "app.yaml"))
asked, sys.argv = sys.argv, ["promptbot", "digest", "--print"]
from promptbot.cli.main import cli
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:
    cli()
sys.argv = asked
assert "κ" in out.getvalue() and "weighted" in out.getvalue(), out.getvalue()
"""


def test_a_digest_with_a_judge_computes_kappa_without_scikit_learn_or_scipy() -> None:
    loaded = loaded_after(_DIGEST_WITH_A_JUDGE, ["numpy", "krippendorff", "scipy", "sklearn"])
    assert sorted(loaded) == ["krippendorff", "numpy"]


def test_a_render_worker_loads_jinja2_before_it_says_ready() -> None:
    """So that a worker's first render is timed against its budget without Jinja2's
    loading (promptbot/review/render_budget.py counts from the request, after "ready")."""
    code = (
        "import io, sys\n"
        "from promptbot.review import render_worker\n"
        "sys.stdin, sys.stdout = io.StringIO(''), io.StringIO()\n"
        "render_worker.main()\n"
        "assert sys.stdout.getvalue() == '{\"ready\": true}\\n'\n"
        "sys.stdout = sys.__stdout__\n"
    )
    assert loaded_after(code, ["jinja2.sandbox"]) == ["jinja2.sandbox"]
