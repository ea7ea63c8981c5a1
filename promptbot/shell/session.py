"""A shell session: who is typing, which thread is open, and what each line does.

Every action goes to the real app through the workspace, then the shell waits until
the app is idle and draws what changed in the Slack stand-in.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.text import Text

from promptbot.domain import Run, run_title
from promptbot.errors import PromptbotError
from promptbot.review.scales import slack_name
from promptbot.shell import commands as cmd
from promptbot.shell import files, threads
from promptbot.shell.feed import Feed
from promptbot.shell.lines import ScriptInput, TerminalInput
from promptbot.shell.modal import ask_fields, input_blocks
from promptbot.shell.render import Renderer, plain
from promptbot.shell.workspace import CHANNEL, CHANNEL_NAME, Answer, Workspace

JSONDict = dict[str, Any]
Input = ScriptInput | TerminalInput

FIRST_USER = "you"


class Session:
    def __init__(self, workspace: Workspace, renderer: Renderer, *, timeout: float) -> None:
        self.workspace = workspace
        self.store = workspace.bot.store
        self.renderer = renderer
        self.timeout = timeout
        bot_id, bot_name = workspace.bot_user
        renderer.names.users[bot_id] = bot_name
        renderer.names.channels[CHANNEL] = CHANNEL_NAME
        self.feed = Feed(workspace.slack, {CHANNEL})
        self.user = ""
        self.switch_user(FIRST_USER)
        latest = self.store.recent_runs(1)
        self.latest_run = latest[0].run.id if latest else 0
        self.run_id: int | None = self.latest_run or None
        self._last_thread: str | None = None

    @property
    def user_id(self) -> str:
        return cmd.user_id(self.user)

    def switch_user(self, name: str) -> None:
        self.user = name
        self.renderer.names.users[self.user_id] = name
        self.workspace.slack.add_user(self.user_id, name)

    def greet(self, db_path: str, models: list[str], judge: str | None = None) -> None:
        judged = f" · judge {judge}" if judge else ""
        self.renderer.note(
            f"promptbot shell · database {db_path} · models {', '.join(models)}{judged}"
            " · type help",
            style="bold",
        )
        if self.run_id is not None:
            run = self.store.get_run(self.run_id)
            self.renderer.note(
                f"Earlier runs are in the database; the thread of run #{run.id}"
                f" ({run_title(run, self.store.candidates(run.id))}) is open."
            )

    # -- the loop -------------------------------------------------------------------

    def run(self, typed: Input) -> None:
        self.show_changes(typed)  # a run resumed after a crash posts to its thread now
        while (line := typed.ask(f"{self.user}> ")) is not None:
            if cmd.continues(line):
                body = typed.ask_lines()
                line = line + ("\n" + body if body else "")
            action = cmd.parse_line(line, in_thread=self.run_id is not None)
            if isinstance(action, cmd.Quit):
                return
            try:
                self.perform(action, typed)
            except PromptbotError as error:  # e.g. open 99: one line, then carry on
                self.renderer.hint(str(error))

    def perform(self, action: cmd.Action, typed: Input) -> None:
        match action:
            case cmd.Nothing():
                return
            case cmd.Hint(message):
                self.renderer.hint(message)
                return
            case cmd.Help():
                self.renderer.table(cmd.help_lines())
                return
            case cmd.SwitchUser(name):
                self.switch_user(name)
                return
            case cmd.Slash(command, text):
                self._acked(self.workspace.command(text, self.user_id, command))
            case cmd.React(label, emoji, added):
                self.react(label, emoji, added)
            case cmd.Reply(text):
                self.reply(text)
            case cmd.OpenThread(run_id):
                self.open_thread(run_id)
                return
            case cmd.Click(number):
                self.click(number)
            case cmd.Home():
                self.workspace.open_home(self.user_id)
                self.show_changes(typed)
                self.show_home()
                return
        self.show_changes(typed)

    # -- actions --------------------------------------------------------------------

    def _acked(self, reply: Answer) -> None:
        body = reply.body
        if reply.status >= 400:
            self.renderer.hint(f"the app refused the request (HTTP {reply.status})")
        elif body and (body.get("text") or body.get("blocks")):
            self._private(self.user_id, body)

    def _private(self, user_id: str, message: JSONDict) -> None:
        # An ephemeral's own ts is message_ts; its buttons are clicked on that message. An
        # ack or a response_url post has neither: it sits in the channel typed in.
        where = {"channel": message.get("channel", CHANNEL), "ts": message.get("message_ts")}
        self.renderer.console.print()
        self.renderer.private(user_id, self.user_id, self.renderer.message_lines(where | message))

    def show_home(self) -> None:
        view = self.workspace.slack.home_view(self.user_id)
        if view is None:
            self.renderer.hint("the bot published no App Home tab")
            return
        self.renderer.console.print()
        self.renderer.thread_heading("promptbot · App Home")
        self.renderer.blocks(view["blocks"], {"view": view})

    def _current_run(self) -> Run | None:
        if self.run_id is None:
            return None
        return self.store.get_run(self.run_id)

    def react(self, label: str, typed: str, added: bool) -> None:
        emoji = slack_name(typed)  # Slack sends :thumbsup: as +1, so the shell does too
        run = self._current_run()
        if run is None:
            self.renderer.hint("no thread is open: propose with /prompt propose, or open RUN")
            return
        target = threads.find_target(self.store, run, label)
        if isinstance(target, str):
            self.renderer.hint(target)
            return
        message = self.workspace.slack.find_message(run.channel, target.ts)
        mine = self.user_id in ((message or {}).get("reactions") or {}).get(emoji, [])
        if message is not None and mine == added:
            done = "already reacted" if added else "have not reacted"
            self.renderer.hint(f"you {done} :{emoji}: on {target.name}")
            return
        self.workspace.react(run.channel, target.ts, emoji, self.user_id, added=added)
        self.workspace.settle(self.timeout)
        message = self.workspace.slack.find_message(run.channel, target.ts)
        line = Text(f"{target.name}  ")
        if message is None:  # posted in an earlier session: the stand-in never held it
            stored = threads.stored_reactions(self.store, run, target)
            line += self.renderer.reactions(stored) or Text("no votes")
            line += Text(" (votes stored; a thread from an earlier session)", style="dim")
        else:
            line += self.renderer.reactions(message["reactions"])
        self.renderer.console.print(Text("  │ ", style="dim") + line)

    def reply(self, text: str) -> None:
        run = self._current_run()
        if run is None or run.thread_ts is None:
            self.renderer.hint("this run has no thread yet")
            return
        message = self.workspace.say(run.channel, run.thread_ts, text, self.user_id)
        self.feed.mark_seen(message)
        self._show_message(message, edited=False)  # as Slack shows what you sent

    def click(self, number: int) -> None:
        buttons = self.renderer.buttons
        if not 1 <= number <= len(buttons):
            self.renderer.hint(f"no button {number} is shown" + (" yet" if not buttons else ""))
            return
        button = buttons[number - 1]
        self._acked(self.workspace.click(asdict(button), self.user_id))

    def open_thread(self, run_id: int) -> None:
        run = self.store.get_run(run_id)
        self.run_id = run.id
        title = run_title(run, self.store.candidates(run.id))
        self.renderer.note(
            f"The thread of run #{run.id} ({title}, {threads.labels(self.store, run)}) is open:"
            f" {threads.react_hint(run)}, or reply there."
        )
        self._last_thread = run.thread_ts

    # -- drawing what changed -------------------------------------------------------

    def show_changes(self, typed: Input) -> None:
        if not self.workspace.settle(self.timeout):
            self.renderer.hint("the bot is still working; its replies show after your next line")
        changes = self.feed.changes()
        for message in changes.messages:
            self._show_message(message, edited=message["ts"] in changes.edited)
        for ephemeral in changes.ephemerals:
            self._private(str(ephemeral["user"]), ephemeral)
        for response in changes.responses:
            self._private(self.user_id, response)
        for upload in changes.files:
            saved = files.save(upload, Path(self.store.path).resolve().parent)
            where = self.renderer.names.channel(str(upload.channel_id))
            files.show(upload, where, saved, self.renderer)
        self._follow_new_run()
        for view in changes.views:
            if input_blocks(view) and view["id"] not in changes.updated_views:
                self.fill_modal(view, typed)
            else:  # a modal that only shows something (a digest preview, say)
                self.renderer.console.print()
                title = plain(str((view.get("title") or {}).get("text", "")), self.renderer.names)
                self.renderer.thread_heading(f"┌ {title}")
                self.renderer.blocks(view.get("blocks", []), {"view": view})

    def _show_message(self, message: JSONDict, *, edited: bool) -> None:
        thread_ts = message.get("thread_ts")
        if not thread_ts:
            self.renderer.console.print()
            self.renderer.message(message, reply=False, edited=edited)
            self._last_thread = str(message["ts"])
            return
        if thread_ts != self._last_thread:
            run_id = self.store.find_thread(str(message["channel"]), str(thread_ts))
            where = f"run #{run_id}" if run_id else "a message"
            self.renderer.console.print()
            self.renderer.thread_heading(f"in the thread of {where}")
            self._last_thread = str(thread_ts)
        self.renderer.message(message, reply=True, edited=edited)

    def _follow_new_run(self) -> None:
        """A new proposal's thread becomes the open one, as it would for its proposer."""
        latest = self.store.recent_runs(1)
        # A run held for a cost decision has no thread yet: it is followed once it does.
        if latest and latest[0].run.id > self.latest_run and latest[0].run.thread_ts:
            run = latest[0].run
            self.latest_run = self.run_id = run.id
            self.renderer.note(
                f"→ run #{run.id}'s thread is open: {threads.react_hint(run)}, or type to reply"
            )

    def _attach(self, path: str) -> JSONDict | str:
        """A local file, attached to a form as if picked in Slack."""
        local = Path(path).expanduser()
        try:
            content = local.read_bytes()
        except OSError as error:
            return f"cannot read {path}: {error.strerror or error} (give a local path, or /cancel)"
        return self.workspace.slack.add_user_file(local.name, content, user=self.user_id)

    def fill_modal(self, view: JSONDict, typed: Input) -> None:
        values: JSONDict = {}
        errors: dict[str, str] = {}
        while True:
            answered = ask_fields(view, typed, self.renderer, values, errors, self._attach)
            if answered is None:
                self.renderer.note("  └ the form was closed without submitting")
                return
            values = answered
            reply = self.workspace.submit_view(view, values, self.user_id)
            body = reply.body or {}
            if body.get("response_action") != "errors":
                self.renderer.note("  └ submitted")
                if body.get("text") or body.get("blocks"):
                    self._acked(reply)
                self.show_changes(typed)
                return
            errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
            known = {str(b.get("block_id")) for b in input_blocks(view)}
            if not errors.keys() & known:
                for message in errors.values():
                    self.renderer.hint(plain(message, self.renderer.names))
                self.renderer.note("  └ the form was closed without submitting")
                return
