"""The model answer cache: identical calls reuse a stored answer."""

from __future__ import annotations

from promptbot.domain import Completion
from storage.base import StoreBase, utcnow


class AnswerCache:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def get(self, key: str) -> Completion | None:
        rows = self.store.query(
            "SELECT output, tokens_in, tokens_out, finish_reason FROM model_cache"
            " WHERE cache_key = ?",
            [key],
        )
        if not rows:
            return None
        row = rows[0]
        return Completion(
            output=row["output"],
            error=None,
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            latency_ms=0,
            finish_reason=row["finish_reason"],
            cached=True,
        )

    def put(self, key: str, model_id: str, result: Completion) -> None:
        if result.output is None:
            return  # failures are never cached
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO model_cache (cache_key, model_id, output, tokens_in,"
                " tokens_out, finish_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    key,
                    model_id,
                    result.output,
                    result.tokens_in,
                    result.tokens_out,
                    result.finish_reason,
                    utcnow(),
                ],
            )
