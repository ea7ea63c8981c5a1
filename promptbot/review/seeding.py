"""The rating emoji the bot adds under each posted candidate (and the pair emoji under
each compare pair), as steps that survive a crash: a candidate posted by a process that
died before it seeded is seeded by whoever resumes the run."""

from __future__ import annotations

import logging

from promptbot.domain import PAIR_EMOJI, Run
from promptbot.errors import PublishError, SlackUnavailable
from promptbot.review.publishing import Publisher
from promptbot.review.scales import RatingScales
from storage import Store

logger = logging.getLogger(__name__)


class Seeder:
    def __init__(self, store: Store, scales: RatingScales, publisher: Publisher) -> None:
        self.store = store
        self.scales = scales
        self.publisher = publisher
        self.log = store.delivery
        self.pairs = store.pairs

    def seed(self, run: Run) -> None:
        """Add the rating emoji under every posted candidate not seeded yet. A seed
        step is recorded with the post, and again here for any candidate posted by a
        process that died before it could, so none is ever left bare."""
        known = {s.name: s for s in self.log.steps(run.id, "seed:")}
        if run.kind != "compare" and self.scales.seeded():
            for candidate in self.store.candidates(run.id):
                name = f"seed:{candidate.id}"
                if candidate.status == "posted" and candidate.error is None and name not in known:
                    self.log.add(run.id, name)
            known = {s.name: s for s in self.log.steps(run.id, "seed:")}
        for name, step in known.items():
            if step.status in ("done", "failed"):
                continue
            target = self._target(run, name)
            if target is None:
                self.log.fail(run.id, name, "the message is not recorded")
                continue
            ts, emoji = target
            self.log.begin(run.id, name)
            try:
                self.publisher.add_reactions(run.channel, ts, emoji)
            except SlackUnavailable as error:
                self.log.put_back(run.id, name, str(error))
                raise
            except PublishError as error:
                # The candidate is posted; people can still add the emoji themselves.
                logger.warning("run %s: seeding %s failed: %s", run.id, name, error)
                self.log.fail(run.id, name, str(error))
                continue
            self.log.finish(run.id, name, ts)

    def _target(self, run: Run, name: str) -> tuple[str, list[str]] | None:
        if name.startswith("seed:pair:"):
            pair_id = int(name.removeprefix("seed:pair:"))
            pair = next((p for p in self.pairs.for_run(run.id) if p.id == pair_id), None)
            return (pair.ts, list(PAIR_EMOJI)) if pair and pair.ts else None
        parts = self.log.posted_parts(int(name.removeprefix("seed:")))
        return (parts[max(parts)], self.scales.seeded()) if parts else None
