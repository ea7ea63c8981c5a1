"""The App Home tab: runs waiting for your vote, your proposals with their standing, the
top of the leaderboard, and buttons for a new prompt and a digest preview.

Standings come from the same evidence and functions as the digest (read as columns,
as the digest reads them), but without its head-to-head bootstrap. At a million ratings
they still take a second or more to work out, so every view reuses the last ones
worked out while they are young compared with that cost (:class:`HomeStandings`):
however many people open the tab, the standings cost at most a twentieth of one core.
Every list is trimmed, so the view stays far below the Home tab's 100 blocks however
busy the workspace is.

Runs waiting for you are limited to channels where you reviewed or proposed, plus the
configured review channel: a run in a private channel you never took part in is not
shown, not even by name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from promptbot.config.settings import AppConfig
from promptbot.domain import AuthoredVersion
from promptbot.jobs.reminders import run_line, thread_link, waiting_for
from promptbot.render.blocks import Block, Message, context, escape, header, section, truncate
from promptbot.render.words import count
from promptbot.review.scales import RatingScales
from storage import Store

if TYPE_CHECKING:
    from promptbot.verdicts.version_standings import LeaderboardRow, VersionStanding

    Standings = dict[tuple[str, int], VersionStanding]

HOME_NEW_PROMPT = "home_new_prompt"
HOME_DIGEST_PREVIEW = "home_digest_preview"
MAX_WAITING = 15
MAX_PROPOSALS = 15
LEADERBOARD_TOP = 5
HOME_BLOCKS = 100
MODAL_BLOCKS = 100
# Standings are reused while younger than this many times what they took to work out.
REUSE_FOR_COST_TIMES = 20
T = TypeVar("T")


@dataclass(frozen=True)
class Board:
    """Every version's standing, and the leaderboard they make."""

    table: Standings
    rows: tuple[LeaderboardRow, ...]

    @property
    def ranks(self) -> dict[tuple[str, int], int]:
        return {(row.standing.prompt, row.standing.version): row.rank for row in self.rows}


def work_out_board(store: Store, config: AppConfig, now: datetime) -> Board:
    """Every counted rating before ``now``, as standings and the leaderboard."""
    # Deferred: the statistics stack (numpy, scipy) loads when the tab is first
    # opened, not at start-up (tests/test_startup.py).
    from promptbot.verdicts.version_standings import leaderboard, standings
    from storage.digest_inputs import load_digest_inputs

    # A period of one microsecond at ``now``: its judgements are every rating before it.
    inputs = load_digest_inputs(
        store, RatingScales(config.scales), now, now + timedelta(microseconds=1)
    )
    table = standings(inputs.judged, inputs.runs, inputs.scales, min_votes=config.digest.min_votes)
    return Board(table, leaderboard(table.values(), inputs.archived))


class Reused(Generic[T]):
    """A value worked out again only once the last one is older than
    ``REUSE_FOR_COST_TIMES`` times what it cost: at once in a small workspace (a few
    milliseconds), after about half a minute at a million ratings. One caller works it
    out while the others wait for it, rather than each working out its own."""

    def __init__(self, work_out: Callable[[], T], clock: Callable[[], float]) -> None:
        self.work_out, self.clock = work_out, clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._fresh_until = 0.0

    def get(self) -> T:
        with self._lock:
            if self._value is None or self.clock() >= self._fresh_until:
                started = self.clock()
                self._value = self.work_out()
                finished = self.clock()
                self._fresh_until = finished + REUSE_FOR_COST_TIMES * (finished - started)
            return self._value


class HomeStandings:
    """What every Home view shows that reads every rating: the board, and who took part
    in each channel (which decides whose runs are listed as waiting for you)."""

    def __init__(
        self, store: Store, config: AppConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._board = Reused(lambda: work_out_board(store, config, datetime.now(UTC)), clock)
        self._reviewers = Reused(store.reminders.reviewers, clock)

    def board(self) -> Board:
        return self._board.get()

    def reviewers(self) -> dict[str, set[str]]:
        """Channel -> people who rated, voted or commented on a review thread there."""
        return self._reviewers.get()


def _divider() -> Block:
    return {"type": "divider"}


def _button(action_id: str, text: str, value: str, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def standing_words(standing: VersionStanding | None, rank: int | None, min_votes: int) -> str:
    if standing is None or (standing.approval is None and standing.mean is None):
        return "no votes yet"
    parts = []
    if rank is not None:
        parts.append(f"#{rank} on the leaderboard")
    if standing.approval is not None:
        a = standing.approval
        parts.append(f"approval {_pct(a.value)} [{_pct(a.low)}–{_pct(a.high)}], n = {a.n}")
    if standing.mean is not None:
        m = standing.mean
        parts.append(f"mean {m.value:.1f} [{m.low:.1f}–{m.high:.1f}], n = {m.n}")
    if standing.ranked_by is None:
        parts.append(f"needs {count(min_votes, 'vote')} to be ranked")
    return " · ".join(parts)


def _more(count: int) -> list[Block]:
    return [context(f"…and {count} more")] if count > 0 else []


def _waiting_blocks(
    store: Store, config: AppConfig, user_id: str, standings: HomeStandings
) -> list[Block]:
    reminders = store.reminders
    took_part = {c for c, users in standings.reviewers().items() if user_id in users}
    channels = took_part | reminders.proposed_in(user_id)
    if config.review_channel:
        channels.add(config.review_channel)
    open_runs = reminders.open_runs()
    # Read now, not reused: a run you just voted on leaves the list at once.
    voters = reminders.voters(run.id for run in open_runs)
    runs = waiting_for(user_id, open_runs, voters, channels)
    runs.sort(key=lambda r: r.id, reverse=True)
    # Runs in channels this person never took part in are counted, never named: one of
    # them may be a private channel they cannot see.
    elsewhere = len(waiting_for(user_id, open_runs, voters, {r.channel for r in open_runs}))
    elsewhere -= len(runs)
    blocks = [section("*Waiting for your vote*")]
    counted = "Counted: open runs in channels where you proposed or reviewed" + (
        ", and the review channel." if config.review_channel else "."
    )
    if elsewhere:
        counted += (
            f" Not listed: {count(elsewhere, 'open run')} in other channels; rate one there"
            " and its channel joins this list."
        )
    if not runs:
        nothing = (
            "Nothing right now: every open run counted here has your vote."
            if open_runs
            else "Nothing right now: no run is open for votes."
        )
        return [*blocks, context(nothing), context(counted)]
    blocks += [section(run_line(run)) for run in runs[:MAX_WAITING]]
    return blocks + _more(len(runs) - MAX_WAITING) + [context(counted)]


def _proposal_line(
    proposal: AuthoredVersion, table: Standings, ranks: dict[tuple[str, int], int], min_votes: int
) -> str:
    key = (proposal.prompt, proposal.version)
    title = thread_link(proposal.permalink, f"{truncate(proposal.prompt, 80)} v{proposal.version}")
    if proposal.archived:
        words = "archived"
    elif proposal.runs == 0:
        words = "no runs"
    else:
        words = standing_words(table.get(key), ranks.get(key), min_votes)
    return f"• *{title}* — {words}"


def home_view(
    store: Store,
    config: AppConfig,
    user_id: str,
    *,
    new_prompt_channel: str | None = None,
    standings: HomeStandings | None = None,
) -> dict[str, Any]:
    """The Home view for ``user_id``. ``new_prompt_channel`` rides on the New prompt
    button, so the click can open the form at once, within its trigger's 3 seconds.
    ``standings``: where the board comes from (worked out afresh without one)."""
    min_votes = config.digest.min_votes
    standings = standings or HomeStandings(store, config)
    worked_out = standings.board()
    table, board, ranks = worked_out.table, worked_out.rows, worked_out.ranks

    blocks: list[Block] = [
        header("promptbot"),
        {
            "type": "actions",
            "block_id": "home_buttons",
            "elements": [
                _button(HOME_NEW_PROMPT, "New prompt", new_prompt_channel or "", primary=True),
                _button(HOME_DIGEST_PREVIEW, "Digest preview", "preview"),
            ],
        },
        _divider(),
        *_waiting_blocks(store, config, user_id, standings),
        _divider(),
        section("*Your proposals*"),
    ]
    proposals = store.reminders.proposals_by(user_id)
    if not proposals:
        blocks.append(context("None yet: press *New prompt* or type `/prompt new`."))
    blocks += [
        section(_proposal_line(p, table, ranks, min_votes)) for p in proposals[:MAX_PROPOSALS]
    ]
    blocks += _more(len(proposals) - MAX_PROPOSALS)
    blocks += [_divider(), section("*Leaderboard*")]
    if not board:
        blocks.append(context(f"No version has {count(min_votes, 'vote')} yet."))
    for row in board[:LEADERBOARD_TOP]:
        standing = row.standing
        name = f"{escape(truncate(standing.prompt, 80))} v{standing.version}"
        words = standing_words(standing, None, min_votes)
        blocks.append(section(f"{row.rank}. *{name}* — {words}"))
    blocks += _more(len(board) - LEADERBOARD_TOP)
    blocks.append(
        context("`/prompt leaderboard` shows the whole ranking; `/prompt help` every command.")
    )
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS]}


def digest_preview_modal(message: Message | None) -> dict[str, Any]:
    """A modal for the digest preview; ``None`` while it is being worked out."""
    if message is None:
        blocks = [section("Working out the digest so far…")]
    else:
        blocks = message.blocks[:MODAL_BLOCKS] or [section(message.text)]
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Digest preview"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }
