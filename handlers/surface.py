"""What the app registers with Slack, recorded as it is registered, so the
manifest is generated from the listeners themselves and cannot drift from them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from slack_bolt import App

Listener = Callable[..., Any]
Pool = TypeVar("Pool", bound=Executor)


@dataclass
class SlashCommand:
    name: str
    description: str
    usage_hint: str


@dataclass
class Surface:
    commands: list[SlashCommand] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    scopes: set[str] = field(default_factory=set)
    # The thread pools listeners run on. The bot shuts them down as it closes, so that
    # their idle threads end with it, and the database connections those threads hold.
    pools: list[Executor] = field(default_factory=list)

    def owns(self, pool: Pool) -> Pool:
        """A pool that listeners run on, to be shut down with the bot."""
        self.pools.append(pool)
        return pool

    def shut_down(self) -> None:
        """Not waited for: a listener still at work finishes; the idle threads end now,
        and with them the database connections they hold."""
        for pool in self.pools:
            pool.shutdown(wait=False)

    def needs(self, *scopes: str) -> None:
        """A feature's Web API scopes beyond posting (e.g. files:write for export)."""
        self.scopes.update(scopes)

    def command(
        self, app: App, name: str, description: str, usage_hint: str
    ) -> Callable[[Listener], Listener]:
        self.commands.append(SlashCommand(name, description, usage_hint))
        return cast(Callable[[Listener], Listener], app.command(name))

    def event(self, app: App, name: str) -> Callable[[Listener], Listener]:
        self.events.append(name)
        return cast(Callable[[Listener], Listener], app.event(name))

    def view(self, app: App, callback_id: str) -> Callable[[Listener], Listener]:
        self.views.append(callback_id)
        return cast(Callable[[Listener], Listener], app.view(callback_id))

    def action(self, app: App, action_id: str) -> Callable[[Listener], Listener]:
        self.actions.append(action_id)
        return cast(Callable[[Listener], Listener], app.action(action_id))

    @property
    def interactive(self) -> bool:
        return bool(self.views or self.actions)
