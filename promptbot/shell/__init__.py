"""``promptbot shell``: the real app in a terminal, with Slack played in-process.

Like Hubot's shell adapter or Errbot's text backend: the same Bolt listeners, store,
runner, rankings and digest as in production; only Slack is local (the stand-in in
``promptbot.standins``). Like ``promptbot/app.py``, this package is a composition root,
so it may import Bolt; the core modules beside it still never do.
"""
