"""Hostile templates, over signed HTTP against the real app and the stand-ins: each
renders within its budget (time and output size) off Bolt's threads, or is refused
with a clear ephemeral and no model call; an ordinary proposal right after completes."""

import threading
import urllib.request

import pytest

from promptbot.domain import PlannedCandidate
from promptbot.errors import TemplateError
from promptbot.review.render_budget import RenderBudget
from promptbot.standins.blockkit import check_blocks
from storage import Store
from tests.harness import assert_an_ordinary_proposal_completes, bot_config, settle, wait_until

NESTED_LOOPS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
BUSTING = {
    "nested loops": (NESTED_LOOPS, "took longer than"),
    "string times 10**8": ("{{ 'x' * 10**8 }}", "repeated value of 100,000,000"),
    "list times 10**7": ("{{ [1] * 10**7 }}", "repeated value"),
    "center 10**9": ("{{ 'x'|center(10**9) }}", "'center' width"),
    "ljust method 10**9": ("{{ 'x'.ljust(10**9) }}", "'ljust' width"),
    "range 10**6 join": ("{{ range(10**6)|join }}", "Range too big"),
    "range 10**5 join": ("{{ range(100000)|join }}", "renders to more than 64 KB"),
    "recursive macro": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recurses too deeply"),
    "exponential macro": (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "took longer than",
    ),
    "huge lipsum": ("{{ lipsum(10**6) }}", "lipsum is limited"),
    "percent star width": ("{{ '%*d' % (10**9, 1) }}", "not '*'"),
    "percent width": ("{{ '%1000000000d' % 1 }}", "formatted field"),
    "format filter width": ("{{ '%1000000000s'|format('x') }}", "formatted field"),
    "brace format width": ("{{ '{:>1000000000}'.format(1) }}", "formatted field"),
    "nested brace width": ("{{ '{:>{w}}'.format(1, w=10**9) }}", "not nested"),
    "replace amplifier": ("{{ ('x' * 1000).replace('x', 'y' * 2000) }}", "replaced value"),
    "indent 10**9": ("{{ 'x'|indent(10**9) }}", "an indent"),
    "sandbox escape": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "sandbox"),
}


def fast_budget(models, seconds=0.5):
    return bot_config(models, limits={"template_render_seconds": seconds})


@pytest.mark.parametrize("case", list(BUSTING))
def test_a_budget_busting_template_is_refused_without_a_model_call(running, slack, models, case):
    bot = running(fast_budget(models))
    source, reason = BUSTING[case]
    status, reply = bot.command(f"propose bust\n{source}")
    assert status == 200 and "Started" in reply["text"]
    run = bot.wait_run(1, timeout=30)
    assert run.status == "failed" and run.thread_ts is None
    (told,) = slack.wait_for_calls("chat.postEphemeral", timeout=10)
    assert told.params["user"] == "U1"
    assert "Run #1 was not started" in told.params["text"] and reason in told.params["text"]
    assert "No model was called" in told.params["text"]
    assert models.requests == []
    assert slack.calls_to("chat.postMessage") == []
    assert {c.error.split(":")[0] for c in bot.store.candidates(1)} == {"template refused"}
    assert_an_ordinary_proposal_completes(bot)


def test_under_a_cost_ceiling_the_estimate_is_not_made_on_the_listener_thread(
    running, slack, models
):
    # Estimating renders every prompt: a busting template would hold Bolt's thread for
    # its whole budget. It is refused by the runner, never asked about, never called.
    config = fast_budget(models)
    config["limits"]["run_cost_ceiling"] = 0.000001
    bot = running(config)
    status, reply = bot.command(f"propose bust\n{NESTED_LOOPS}")
    assert status == 200 and "you will be asked first" in reply["text"]
    assert bot.wait_run(1, timeout=30).status == "failed"
    (told,) = slack.wait_for_calls("chat.postEphemeral", timeout=10)
    assert "was not started" in told.params["text"] and "took longer than" in told.params["text"]
    assert models.requests == []


def test_a_modal_proposal_over_budget_is_refused_the_same_way(running, slack, models):
    bot = running(fast_budget(models))
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    values = {
        "name": {"name": {"type": "plain_text_input", "value": "modal-bust"}},
        "template": {"template": {"type": "plain_text_input", "value": NESTED_LOOPS}},
    }
    status, _ = bot.submit_view(call.params["view"], values)
    assert status == 200
    assert bot.wait_run(1, timeout=30).status == "failed"
    wait_until(
        lambda: any("was not started" in m["text"] for m in slack.ephemerals()),
        what="the refusal",
    )
    assert models.requests == []


def test_a_line_of_three_thousand_lt_is_an_ordinary_template(bot, slack, models):
    """The template that once hung a run worker while its thread was rendered."""
    status, _ = bot.command("propose lt --models alpha\n" + "<" * 3000)
    assert status == 200
    run = bot.wait_run(1, timeout=30)
    assert run.status == "done"
    parent = slack.find_message("C1", run.thread_ts)
    assert check_blocks(parent["blocks"], "message") == []
    assert "<<" not in str(parent["blocks"])
    assert_an_ordinary_proposal_completes(bot)


def test_the_largest_output_within_budget_renders(running, models):
    bot = running(fast_budget(models, seconds=2))
    bot.command("propose big --models alpha\n{{ 'y' * 65000 }}")
    assert bot.wait_run(1, timeout=30).status == "done"
    assert models.requests[0].messages[-1]["content"] == "y" * 65000


def test_budget_kills_a_runaway_render_and_recovers():
    budget = RenderBudget(0.3, 65_536, workers=1)
    try:
        with pytest.raises(TemplateError, match=r"longer than 0\.3 s"):
            budget.render(NESTED_LOOPS, {})
        assert budget.render("Hi {{ x }}", {"x": "Ada"}) == "Hi Ada"
        with pytest.raises(TemplateError, match=r"longer than 0\.3 s"):
            budget.render(NESTED_LOOPS, {})  # refused again from the cache, at once
    finally:
        budget.close()


def get(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return response.status


def test_twenty_busting_proposals_at_once_leave_others_served(running, slack, models):
    """While 20 over-budget templates arrive together, /healthz, /prompt help and
    reactions are answered, and every reaction is stored."""
    bot = running(fast_budget(models, seconds=0.3))
    bot.command("propose target --models alpha\nHi")
    target = bot.candidate_posts(bot.wait_run(1).id)[0]["ts"]
    statuses: list[int] = []

    def bust(number):
        # Each differs (a comment), so none is refused from the cache of an earlier one.
        source = NESTED_LOOPS + "{# " + str(number) + " #}"
        statuses.append(bot.command(f"propose bust{number}\n{source}")[0])

    threads = [threading.Thread(target=bust, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    reactions = [bot.react(target, "+1", f"UR{n}") for n in range(10)]
    helps = [bot.command("help")[0] for _ in range(5)]
    health = [get(bot.url + "/healthz") for _ in range(5)]
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20 and reactions == [200] * 10
    assert helps == [200] * 5 and health == [200] * 5
    wait_until(lambda: len(bot.store.ratings(1)) == 10, what="every reaction stored")
    for run_id in range(2, 22):
        assert bot.wait_run(run_id, timeout=60).status == "failed"
    assert len(models.requests) == 1
    assert_an_ordinary_proposal_completes(bot)


def test_runs_recorded_before_a_restart_never_block_the_pool(tmp_path, running, slack, models):
    """Unfinished runs resume at start-up: a busting template and an answer of 50,000
    ``<`` (which once hung its worker for good) each settle, and new runs go on."""
    store = Store(tmp_path / "promptbot.db")

    def planned(model="alpha"):
        return [PlannedCandidate("A", 0, model, f"{model}-id", 0)]

    for number in range(4):
        store.create_run(
            prompt_name=f"stuck{number}",
            template=NESTED_LOOPS,
            system_prompt=None,
            author="U1",
            channel="C1",
            models=["alpha"],
            inputs=[{}],
            candidates=planned(),
        )
    answered = store.create_run(
        prompt_name="angles",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["alpha"],
        inputs=[{}],
        candidates=planned(),
    )
    from promptbot.domain import Completion

    candidate = store.candidates(answered.id)[0]
    store.record_answer(candidate.id, Completion("<" * 50_000, None, 1, 1, 5, "stop"))
    store.close()
    bot = running(fast_budget(models, seconds=0.3))
    for run_id in range(1, 5):
        assert bot.wait_run(run_id, timeout=30).status == "failed"
    assert bot.wait_run(answered.id, timeout=30).status == "done"
    posts = bot.candidate_posts(answered.id)
    assert (
        "".join(b["text"]["text"] for p in posts for b in p["blocks"][1:]).count("&lt;") == 50_000
    )
    settle(bot)
    assert models.requests == []
    assert_an_ordinary_proposal_completes(bot)
