"""Store-level builders shared by the unit tests: a posted run, and a rating on it."""

from promptbot.domain import PlannedCandidate

APPROVAL = {"+1": 1.0, "-1": 0.0}


def posted_run(store, name="p", author="UPROP", channel="C1", *, model="m", labels="A"):
    """A finished run whose thread is posted, with one candidate per label."""
    run = store.create_run(
        prompt_name=name,
        template="Hi",
        system_prompt=None,
        author=author,
        channel=channel,
        models=[model],
        inputs=[{}],
        candidates=[
            PlannedCandidate(label, i, model, f"{model}-id", 0) for i, label in enumerate(labels)
        ],
    )
    link = f"https://standin.slack.test/archives/{channel}/p{run.id}?thread_ts=1&cid={channel}"
    store.set_thread(run.id, channel, f"{run.id}.000001", link)
    store.set_run_status(run.id, "done")
    return run


def rate(store, run, user, emoji="+1"):
    """``user`` rates the run's first candidate on the approval scale."""
    candidate = store.candidates(run.id)[0]
    store.apply_reaction(
        event_id=f"{run.id}-{user}-{emoji}",
        channel=run.channel,
        ts=f"{run.id}.000002",
        candidate_id=candidate.id,
        user_id=user,
        emoji=emoji,
        scale="approval",
        present=True,
        event_ts="1.000001",
        scale_emoji=APPROVAL,
    )
