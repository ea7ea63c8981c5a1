"""Model output made safe to store and post: what a model answers is untrusted bytes.

A lone surrogate cannot be encoded as UTF-8 (SQLite and Slack both refuse it), NUL
truncates text in C consumers, and other control characters garble terminals and
exports. Each is replaced by U+FFFD, so the answer keeps its length and shape and a
reader can see that something was there.
"""

from __future__ import annotations

import re
from dataclasses import replace

from promptbot.domain import Completion

REPLACEMENT = "\ufffd"
# C0 controls except tab, line feed and carriage return; DEL; C1 controls; surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_model_text(text: str) -> str:
    return _UNSAFE.sub(REPLACEMENT, text)


def clean_completion(result: Completion) -> Completion:
    return replace(
        result,
        output=None if result.output is None else clean_model_text(result.output),
        error=None if result.error is None else clean_model_text(result.error),
        finish_reason=None
        if result.finish_reason is None
        else clean_model_text(result.finish_reason),
    )
