"""Process-wide state a test can leave changed for the tests after it, whatever order
they run in: conftest fails a test that does (process_left_as_found)."""

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

# Set by pytest (the test and its phase) and by threadpoolctl as it is first imported.
_SET_FROM_OUTSIDE = frozenset({"PYTEST_CURRENT_TEST", "KMP_DUPLICATE_LIB_OK"})


def process_state() -> dict[str, object]:
    """What a test can change for every test after it, in whatever order they run."""
    root = logging.getLogger()
    loggers = logging.Logger.manager.loggerDict.items()
    return {
        "environment": {k: v for k, v in os.environ.items() if k not in _SET_FROM_OUTSIDE},
        "working directory": os.getcwd(),
        # pytest's own capture handlers come and go with each phase of a test.
        "root logger": (
            root.level,
            [h for h in root.handlers if not type(h).__module__.startswith("_pytest")],
            list(root.filters),
        ),
        # Bolt gives its own loggers the root's level as it builds an app (slack_bolt.*,
        # and promptbot.bolt:<listener> after the app's name): theirs, not ours to keep.
        "logger levels": {
            name: logger.level
            for name, logger in loggers
            if isinstance(logger, logging.Logger)
            and not name.startswith(("slack_bolt.", "promptbot.bolt"))
        },
        # Frozen objects leave the count as they die: whether any are frozen is what counts.
        "collector": (gc.isenabled(), gc.get_freeze_count() > 0),
    }


def process_changes(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    """What differs between two ``process_state()``s."""
    changed: dict[str, object] = {}
    for what, was in before.items():
        now = after[what]
        if isinstance(was, dict) and isinstance(now, dict):
            # A logger first made in between counts as changed only with a level set.
            unset = logging.NOTSET if what == "logger levels" else None
            diff = {
                k: (was.get(k, unset), now.get(k, unset))
                for k in set(was) | set(now)
                if was.get(k, unset) != now.get(k, unset)
            }
            if diff:
                changed[what] = diff
        elif was != now:
            changed[what] = (was, now)
    return changed


@contextmanager
def process_restored() -> Iterator[None]:
    """Puts back the environment, the root logger, the levels of loggers and the collector's
    frozen objects as they were: for code that sets up the process as a whole."""
    environment = dict(os.environ)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = _levels()
    frozen = gc.get_freeze_count()
    try:
        yield
    finally:
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)
        for handler in list(root.handlers):
            if handler not in handlers and not type(handler).__module__.startswith("_pytest"):
                root.removeHandler(handler)
        root.setLevel(level)
        for name, logger in _loggers():
            logger.setLevel(levels.get(name, logging.NOTSET))
        if not frozen:
            gc.unfreeze()


def _loggers() -> list[tuple[str, logging.Logger]]:
    return [
        (name, logger)
        for name, logger in list(logging.Logger.manager.loggerDict.items())
        if isinstance(logger, logging.Logger)
    ]


def _levels() -> dict[str, int]:
    return {name: logger.level for name, logger in _loggers()}
