"""Check results in words, for the thread (after voting closes), `/prompt show` and the
digest. Check texts are written by people and details may name their values, so both
are escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from promptbot.domain import CheckResult, CheckTally
from promptbot.render.blocks import Block, clip_escaped, escape, section, truncate
from promptbot.render.words import count, join_within

PASSED = ":white_check_mark:"
FAILED = ":x:"
_FAILURES_NAMED = 3


def check_line(results: Sequence[CheckResult]) -> str:
    """One line for one answer: ✅ all N passed, or ❌ which failed and why."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return f"{PASSED} Checks: {count(len(results), 'check')}, all passed"
    named = "; ".join(
        f"`{escape(truncate(r.check, 80))}`" + (f" ({escape(r.detail)})" if r.detail else "")
        for r in failed[:_FAILURES_NAMED]
    )
    more = f"; and {len(failed) - _FAILURES_NAMED} more" if len(failed) > _FAILURES_NAMED else ""
    return f"{FAILED} Checks: {len(failed)} of {len(results)} failed: {named}{more}"


def run_check_summary(labels: Mapping[str, Sequence[CheckResult]], budget: int = 2800) -> str:
    """One ✅/❌ line per candidate label, for a thread closed without reveal; lines
    stop before ``budget`` characters (one Block Kit text), the rest are counted."""
    lines = [f"• {escape(label)}: {check_line(results)}" for label, results in labels.items()]
    return join_within(
        lines, budget - 80, "\n", lambda n: f"…and {count(n, 'more candidate')} (see the export)"
    )


def describe_tallies(tallies: Sequence[CheckTally]) -> str:
    """A version's pass rates, overall and per check, for `/prompt show`."""
    overall = [t for t in tallies if t.check is None]
    if not overall:
        return "no checked answers in closed runs yet"
    total = overall[0]
    lines = [
        f"{total.passed} of {count(total.answers, 'answer')} passed every check"
        f" ({total.passed / total.answers:.0%})"
    ]
    lines += [
        f"• `{escape(truncate(t.check or '', 80))}`: {t.passed}/{t.answers}"
        for t in tallies
        if t.check is not None
    ][:15]
    return "\n".join(lines)


def checks_block(written: Sequence[str], tallies: Sequence[CheckTally]) -> Block | None:
    """`/prompt show`'s Checks section: the checks a version runs on every answer and
    their pass rates over its closed runs (open runs' results stay hidden)."""
    if not (written or tallies):
        return None
    named = ", ".join(f"`{escape(truncate(c, 80))}`" for c in written[:10])
    text = "*Checks*\n" + (f"{named}\n" if named else "") + describe_tallies(tallies)
    return section(clip_escaped(text, 2900))
