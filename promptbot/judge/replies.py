"""Reading the judge's replies. The format is strict (``APPROVE: yes``, ``STARS: 4``,
``BETTER: 1``) but models decorate it: case, markdown emphasis, bullets, text around
the lines. A reply that still cannot be read is a failed verdict with its reason, never
an exception that could stop a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Preference = Literal["first", "second", "tie"]

_LINE = re.compile(r"^[\s>*_`#\-•]*(?P<key>[A-Za-z]+)[\s*_`]*[:=][\s*_`]*(?P<value>.*)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)")
_APPROVALS = {
    "yes": 1.0,
    "y": 1.0,
    "approve": 1.0,
    "approved": 1.0,
    "true": 1.0,
    "pass": 1.0,
    "no": 0.0,
    "n": 0.0,
    "reject": 0.0,
    "rejected": 0.0,
    "false": 0.0,
    "fail": 0.0,
    "unsure": 0.5,
    "maybe": 0.5,
    "uncertain": 0.5,
}
_PREFERENCES: dict[str, Preference] = {
    "1": "first",
    "2": "second",
    "tie": "tie",
    "equal": "tie",
    "same": "tie",
    "neither": "tie",
    "both": "tie",
}
MAX_REASON = 300


class UnreadableReply(ValueError):
    """The reply lacks a line the format requires, or its value makes no sense."""


@dataclass(frozen=True)
class ParsedVerdict:
    approval: float
    stars: float | None
    reason: str


def reply_fields(text: str) -> dict[str, str]:
    """``KEY: value`` lines, keys upper-cased; the first line of each key counts."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            key = match["key"].upper()
            value = match["value"].strip().strip("*_`").strip()
            fields.setdefault(key, value)
    return fields


def _first_word(value: str) -> str:
    words = re.findall(r"[A-Za-z0-9.+-]+", value.lower())
    return words[0].rstrip(".") if words else ""


def parse_approval(value: str) -> float:
    said = {_APPROVALS[w] for w in re.findall(r"[a-z]+", value.lower()) if w in _APPROVALS}
    if len(said) > 1:  # "yes, no or unsure": the format echoed back, not an answer
        raise UnreadableReply(f"APPROVE gives more than one answer: '{value[:40]}'")
    word = _first_word(value)
    if word in _APPROVALS:
        return _APPROVALS[word]
    number = _NUMBER.match(word)
    if number is not None and 0 <= float(number[0]) <= 1:
        return float(number[0])
    raise UnreadableReply(f"APPROVE must be yes, no or unsure, not '{value[:40]}'")


def parse_stars(value: str, low: float, high: float) -> float:
    number = _NUMBER.match(value.strip().strip("*"))
    if number is None:
        raise UnreadableReply(f"STARS must be a number, not '{value[:40]}'")
    stars = float(number[0])
    if not low <= stars <= high:
        raise UnreadableReply(f"STARS must be from {low:g} to {high:g}, not {stars:g}")
    return stars


def parse_verdict(text: str, *, stars_range: tuple[float, float] | None) -> ParsedVerdict:
    """A verdict from a reply. Stars are read when the reply has a STARS line and the
    team has a stars scale (``stars_range``); a STARS line that is there but wrong makes
    the reply unreadable, since the rubric asked for it."""
    fields = reply_fields(text)
    if "APPROVE" not in fields:
        raise UnreadableReply("the reply has no 'APPROVE:' line")
    approval = parse_approval(fields["APPROVE"])
    stars = None
    if stars_range is not None and fields.get("STARS"):
        stars = parse_stars(fields["STARS"], *stars_range)
    return ParsedVerdict(approval, stars, fields.get("REASON", "")[:MAX_REASON])


def parse_preference(text: str) -> Preference:
    fields = reply_fields(text)
    if "BETTER" not in fields:
        raise UnreadableReply("the reply has no 'BETTER:' line")
    words = [w.rstrip(".") for w in re.findall(r"[A-Za-z0-9.]+", fields["BETTER"].lower())]
    words = [w for w in words if w not in ("answer", "#")]
    if len({_PREFERENCES[w] for w in words if w in _PREFERENCES}) > 1:
        raise UnreadableReply(f"BETTER gives more than one answer: '{fields['BETTER'][:40]}'")
    if words and words[0] in _PREFERENCES:
        return _PREFERENCES[words[0]]
    raise UnreadableReply(f"BETTER must be 1, 2 or tie, not '{fields['BETTER'][:40]}'")


def swapped(preference: Preference) -> Preference:
    """A preference given with the answers in the other order, seen from the first."""
    flip: dict[Preference, Preference] = {"first": "second", "second": "first", "tie": "tie"}
    return flip[preference]


def both_orders(forward: Preference, backward: Preference) -> tuple[Preference, bool]:
    """(outcome, consistent) of one pair asked in both orders, each answer seen from the
    same candidate (``swapped`` turns the second asking's answer round). Orders that
    disagree make a tie: the position, not the answers, decided at least one of them."""
    if forward == backward:
        return forward, True
    return "tie", False
