"""The answer cache and cost: identical calls are reused, free and instant."""

from tests.harness import bot_config


def cached_config(models, **overrides):
    config = bot_config(models, **overrides)
    for model in config["models"]:
        model["params"] = {"temperature": 0, "max_tokens": 100}
        model["price"] = {"input_per_million": 1000, "output_per_million": 2000}
    return config


def test_rerun_hits_the_cache_and_costs_nothing(running, models, slack):
    bot = running(cached_config(models))
    bot.command("propose cached --models alpha,beta\nSay {{ x }}\n---\nx: 1\n---\nx: 2")
    first = bot.wait_run(1)
    calls = len(models.requests)
    assert calls == 4
    cold = bot.store.candidates(first.id)
    assert all(c.cost and c.cost > 0 and not c.cached for c in cold)

    _, reply = bot.command("rerun cached")
    assert "run #2" in reply["text"]
    second = bot.wait_run(2)
    assert len(models.requests) == calls  # the model stand-in received nothing
    warm = bot.store.candidates(second.id)
    assert all(c.cached and c.cost == 0 and c.latency_ms == 0 for c in warm)
    assert sorted(c.output for c in warm) == sorted(c.output for c in cold)
    posts = bot.candidate_posts(second.id)
    assert all("Reused from the cache" in str(p["blocks"]) for p in posts)

    bot.command("rerun cached --fresh")
    bot.wait_run(3)
    assert len(models.requests) == calls + 4


def test_sampled_models_do_not_cache(bot, models):
    bot.command("propose sampled --models alpha\nHi")
    bot.wait_run(1)
    bot.command("rerun sampled")
    bot.wait_run(2)
    assert len(models.requests) == 2
    assert not any(c.cached for c in bot.store.candidates(2))


def test_failures_are_not_cached(running, models):
    bot = running(cached_config(models))
    models.set_behaviour("alpha-id", status=500, times=3)
    bot.command("propose flaky --models alpha\nHi")
    assert bot.wait_run(1) and bot.store.candidates(1)[0].error
    bot.command("rerun flaky")
    run = bot.wait_run(2)
    (candidate,) = bot.store.candidates(run.id)
    assert candidate.output and not candidate.cached
