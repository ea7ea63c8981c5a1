"""Pre-screening against the real ``promptbot run``: 200 inputs × 2 models, screened and
unscreened, with a judge stand-in that agrees with a simulated team 85% of the time.

Each answer is good or bad (drawn once per input and model); the test set's checks
(``__expected``: ``not-contains: [bad]``) see that, the judge stand-in sees it with
exactly 15% of its verdicts flipped (a shuffled assignment of which answers it gets
wrong, so "agrees 85% of the time" holds exactly rather than on average; the same flip
in both orders of a pair, so it is consistent), and three simulated reviewers vote on
each posted answer, each right 90% of the time. ``--seed`` changes which answers are
good and which the judge gets wrong; promptbot's own audit draw is seeded by the run.

So the share posted should be the judge's errors (15%, where it and the checks
disagree) plus the audit (10%) less their overlap: 23.5% expected, 25% at most. It
prints that share with a breakdown by reason, the calibration of the judge on the audit
sample (Cohen's κ against the reviewers' majority, with the bootstrap interval promptbot
computes), and the wall time of the screened run (command to summary posted) against
the unscreened one (command to last candidate posted).

Every model, the judge included, answers after ``--latency`` seconds (0.2 by default;
at 0 the wall time measures only promptbot's own work, on a shared machine mostly CPU).
The judge makes two calls per candidate (a verdict, and its half of a pair asked both
ways) on one pool of 16, where the answers have two: its work, not waiting, is what a
screened run adds, and scoring each answer as it arrives overlaps it with the answers.

    python bench/bench_screen.py [--inputs 200] [--agreement 0.85] [--seed 0] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.processes import SECRET, TOKEN, promptbot_command, start_promptbot
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from tests.harness import wait_until

MODELS = ("alpha", "beta")
CHANNEL = "CSCREEN"
PROMPT = "screened"


def unit(*parts: object) -> float:
    """A fixed pseudo-random number in [0, 1) for ``parts``: the same in every run."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# When the model stand-in last answered, per kind of call ("answer" or "judge"), and
# how many calls of each kind it had.
LAST_CALL: dict[str, float] = {}
CALLS: dict[str, int] = {"answer": 0, "judge": 0}


def answering(model: str, seed: int) -> Callable[[dict[str, Any]], str]:
    def reply(body: dict[str, Any]) -> str:
        LAST_CALL["answer"] = time.monotonic()
        CALLS["answer"] += 1
        text = str(body["messages"][-1]["content"])
        item = re.search(r"item-\d+", text)
        key = item.group(0) if item else text
        good = unit("truth", key, model, seed) < 0.6
        return f"{model} on {key}: {'a fine answer [good]' if good else 'a weak answer [bad]'}"

    return reply


def judge_errors(inputs: int, agreement: float, seed: int) -> set[tuple[str, str]]:
    """Which answers (model, item) the judge gets wrong: exactly ``1 - agreement`` of them."""
    answers = [(model, f"item-{n}") for n in range(inputs) for model in MODELS]
    random.Random(seed).shuffle(answers)
    return set(answers[: round(len(answers) * (1 - agreement))])


def judging(wrong: set[tuple[str, str]]) -> Callable[[dict[str, Any]], str]:
    def says_good(answer: str) -> bool:
        good = "[good]" in answer
        who = re.match(r"(\w+) on (item-\d+)", answer)
        return not good if who and (who[1], who[2]) in wrong else good

    def reply(body: dict[str, Any]) -> str:
        LAST_CALL["judge"] = time.monotonic()
        CALLS["judge"] += 1
        text = str(body["messages"][-1]["content"])
        answers = re.findall(r"<answer>\n(.*?)\n</answer>", text, re.S)
        if "Answer 1" in text and len(answers) >= 2:
            first, second = says_good(answers[0]), says_good(answers[1])
            better = "tie" if first == second else ("1" if first else "2")
            return f"BETTER: {better}\nREASON: simulated"
        good = says_good(answers[-1] if answers else text)
        return f"APPROVE: {'yes' if good else 'no'}\nSTARS: {4 if good else 2}\nREASON: simulated"

    return reply


def write_config(directory: Path, models_url: str) -> Path:
    data = {
        "models": [
            {"name": name, "model": f"{name}-id", "base_url": models_url, "max_concurrency": 16}
            for name in (*MODELS, "judge")
        ],
        "default_models": list(MODELS),
        "judge": {"model": "judge", "audit_share": 0.1},
        "slack": {"posts_per_second": 0, "timeout": 10},
        "review": {"close_after_days": None},
    }
    path = directory / "app.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def command(url: str, text: str) -> None:
    body = payloads.slash_command_body(text, user_id="UBENCH", channel_id=CHANNEL)
    status, reply = payloads.post_signed(
        url + "/slack/events", body, SECRET, content_type="application/x-www-form-urlencoded"
    )
    assert status == 200, (status, reply)


def react(url: str, channel: str, ts: str, emoji: str, user: str) -> None:
    event = payloads.reaction_event(
        "reaction_added", user=user, reaction=emoji, channel=channel, ts=ts
    )
    status, _ = payloads.post_signed(
        url + "/slack/events", payloads.event_body(event), SECRET, content_type="application/json"
    )
    assert status == 200


def thread_of(slack: SlackStandIn, run_id: int) -> list[dict[str, Any]]:
    parents = [
        m
        for m in slack.messages(CHANNEL)
        if f"run #{run_id}" in (m.get("text") or "") and not m.get("thread_ts")
    ]
    if not parents:
        return []
    return slack.thread(CHANNEL, parents[0]["ts"])


def candidates_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m for m in messages if (m.get("metadata") or {}).get("event_type") == "promptbot_candidate"
    ]


def wait(what: str, check: Callable[[], Any]) -> Any:
    return wait_until(check, timeout=150.0, what=what)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--agreement", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    total = args.inputs * len(MODELS)

    with (
        tempfile.TemporaryDirectory() as tmp,
        SlackStandIn(bot_token=TOKEN) as slack,
        OpenAIStandIn() as models,
    ):
        directory = Path(tmp)
        for name in MODELS:
            models.set_behaviour(
                f"{name}-id", reply=answering(name, args.seed), latency=args.latency
            )
        wrong = judge_errors(args.inputs, args.agreement, args.seed)
        models.set_behaviour("judge-id", reply=judging(wrong), latency=args.latency)
        config = write_config(directory, models.base_url)
        db = directory / "bench.db"
        bot = start_promptbot(directory, db, slack.api_url, config=config)
        from storage import Store

        store = Store(db)
        try:
            command(bot.url, f"propose {PROMPT}\nAnswer {{{{ x }}}}\n---\nx: item-0")
            wait("the first run", lambda: store.get_run(1).status == "done")
            rows = "x,__expected\n" + "".join(
                f"item-{n},not-contains: [bad]\n" for n in range(args.inputs)
            )
            (directory / "big.csv").write_text(rows)
            env = {"PROMPTBOT_DB": str(db), "PROMPTBOT_CONFIG": str(config)}
            subprocess.run(
                [*promptbot_command(), "inputs", "add", PROMPT, str(directory / "big.csv")],
                env=env,
                check=True,
                capture_output=True,
            )

            began = time.monotonic()
            command(bot.url, f"rerun {PROMPT} --set big --fresh")
            wait("the unscreened thread", lambda: len(candidates_in(thread_of(slack, 2))) == total)
            unscreened = time.monotonic() - began
            # The judge scores the unscreened run once it is posted: let it finish, so
            # that the screened run starts, as the unscreened one did, on an idle bot.
            answered = [c.id for c in store.candidates(2)]
            wait(
                "the judge on the unscreened run",
                lambda: (
                    len(store.judge.verdicts(answered)) == total and not store.judge.is_queued(2)
                ),
            )

            began = time.monotonic()
            before = dict(CALLS)
            command(bot.url, f"rerun {PROMPT} --set big --fresh --screen --force")
            summary = wait(
                "the screening summary",
                lambda: [m for m in thread_of(slack, 3) if "Screening done" in m["text"]],
            )
            screened = time.monotonic() - began
            last_answer, last_judged = LAST_CALL["answer"] - began, LAST_CALL["judge"] - began
            calls = {kind: CALLS[kind] - before[kind] for kind in CALLS}
            posted = candidates_in(thread_of(slack, 3))
            decision = store.screening.reasons(3)
            audited = [cid for cid, why in decision.items() if "audit sample" in why]

            votes = vote_on(bot.url, store, posted)
            wait("the team's votes", lambda: len(store.ratings(3)) >= votes)
            command(bot.url, "reveal 3")
            wait("the reveal", lambda: store.get_run(3).revealed_at)
            calibration = audit_calibration(store, db, config, audited)
            agreement = judge_truth_agreement(store, audited)
        except SystemExit:
            kept = Path(tempfile.gettempdir()) / "bench_screen.log"
            kept.write_bytes((directory / "bot.log").read_bytes())
            print(f"the bot's log: {kept}")
            raise
        finally:
            bot.stop()

    held = total - len(posted)
    print(f"inputs: {args.inputs} x {len(MODELS)} models = {total} candidates")
    print(
        f"judge agrees with the simulated team: {args.agreement:.0%} of verdicts"
        f" ({len(wrong)} of {total} wrong; seed {args.seed}); models answer in"
        f" {args.latency:g} s"
    )
    print(
        f"posted for humans: {len(posted)} of {total} ({len(posted) / total:.1%},"
        f" target <= 25%); held: {held}; {summary[0]['text']}"
    )
    print(f"posted, by reason: {breakdown(decision)}")
    print(f"calibration on the audit sample ({len(audited)} candidates): {calibration}")
    print(f"judge agrees with the simulated truth on the audit sample: {agreement:.0%}")
    print(
        f"wall time: screened {screened:.1f} s (to the summary) vs unscreened"
        f" {unscreened:.1f} s (to the last candidate): {screened / unscreened:.2f}x"
    )
    print(
        f"screened run: last answer asked for at {last_answer:.1f} s, the judge's last call"
        f" at {last_judged:.1f} s, summary posted at {screened:.1f} s;"
        f" {calls['answer']} answers and {calls['judge']} judge calls asked for"
    )


def breakdown(decision: dict[int, list[str]]) -> str:
    """How many posted candidates each reason flagged (a candidate may have several), and
    how many the audit drew that another reason had flagged already (the overlap)."""
    from promptbot.verdicts.screening import REASONS

    posted = [why for why in decision.values() if why]
    counts = [f"{sum(r in why for why in posted)} {r}" for r in (*REASONS, "no answer")]
    audit = [why for why in posted if "audit sample" in why]
    overlap = sum(len(why) > 1 for why in audit)
    flagged = sum(any(r != "audit sample" for r in why) for why in posted)
    return (
        " · ".join(counts)
        + f"; flagged by a rule: {flagged}, audit only: {len(audit) - overlap},"
        + f" audit overlapping a rule: {overlap}"
    )


def vote_on(url: str, store: Any, posted: list[dict[str, Any]]) -> int:
    """Three reviewers on each posted answer, each right 90% of the time."""
    count = 0
    for message in posted:
        good = "[good]" in message["text"]
        for reviewer in ("UR1", "UR2", "UR3"):
            right = unit("team", message["ts"], reviewer) < 0.9
            emoji = "+1" if good == right else "-1"
            react(url, CHANNEL, message["ts"], emoji, reviewer)
            count += 1
    return count


def judge_truth_agreement(store: Any, audited: list[int]) -> float:
    verdicts = store.judge.verdicts(audited)
    outputs = {c.id: c.output or "" for c in store.candidates(3)}
    agreed = [(verdicts[cid].approval > 0.5) == ("[good]" in outputs[cid]) for cid in verdicts]
    return sum(agreed) / len(agreed) if agreed else 0.0


def audit_calibration(store: Any, db: Path, config: Path, audited: list[int]) -> str:
    """κ between the judge and the reviewers' majority on the audit sample alone (the
    posted answers the judge was sure of, drawn at random), as promptbot computes it."""
    from promptbot.config.loading import load_config
    from promptbot.prompts.screening import describe_trust
    from promptbot.verdicts.calibration import calibrate_for

    wanted = set(audited)
    rows = [c for c in store.judge.judged_candidates(PROMPT) if c.candidate_id in wanted]
    return describe_trust(calibrate_for(load_config(config), rows, [], PROMPT))


if __name__ == "__main__":
    main()
