"""``sessionhub chat [ID]``: chat with a session's agent in the terminal, in-process (no server).

Each line goes through :meth:`AgentRuntime.chat`, the path the web chat, channels and tasks
use: ``/…`` lines are chat commands (answered, not stored); anything else is stored as the
user's message and the session's agent answers, its reply printed as it streams.

The loop runs on one :class:`asyncio.Runner`: the prompt is a plain blocking ``input()``
between runs (line editing on a terminal; Ctrl+C / Ctrl+D there quit), and each line is one
``runner.run``. Ctrl+C during a reply cancels that run; the turn is then stopped through the
runtime, so the partial reply is kept ``interrupted`` (like Stop in the dashboard). Without a
terminal on stdin, every line is read and answered in order and the command exits 0 at EOF.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import TextIO

import click

from ..agents.runtime import AgentRuntime, CommandAnswer
from ..errors import InvalidInput, SessionhubError, SessionReadOnly
from ..hub import Hub
from ..model import Message, Session
from .common import Context, database_options

PROMPT = "you> "
REPLY = "assistant> "
QUIT = frozenset({"/quit", "/exit"})
_BRIEF = 120


def _brief(text: str, limit: int = _BRIEF) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ChatLoop:
    """One terminal chat: the hub, the runtime and the current session."""

    def __init__(self, ctx: Context, out: TextIO) -> None:
        self.ctx = ctx
        self.out = out
        self.hub: Hub | None = None
        self.runtime: AgentRuntime | None = None
        self.session: Session | None = None
        self._stack = AsyncExitStack()
        self._open_message: str | None = None  # the assistant message the output is inside
        self.failed = False

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _end_line(self) -> None:
        if self._open_message is not None:
            self.write("\n")
            self._open_message = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, session_id: str | None, agent: str | None, model: str | None, last: int) -> None:
        """Open the hub, then create or resume the session (its last ``last`` messages shown)."""
        if session_id is not None and (agent is not None or model is not None):
            raise InvalidInput("--agent and --model apply to a new session, not to resuming one")
        hub = await self._stack.enter_async_context(self.ctx.open())
        runtime = AgentRuntime(hub.settings, env=os.environ)
        self._stack.push_async_callback(runtime.aclose)
        runtime.check()
        self.hub, self.runtime = hub, runtime
        if session_id is None:
            self.session = await hub.create_session(agent=agent, model=model)
            self._header("new session")
            return
        session = await hub.get_session(session_id)
        if session.status == "archived":
            raise SessionReadOnly(f"session {session.id} is archived (read-only); restore it first")
        self.session = session
        self._header("resuming")
        if last:
            history: list[Message] = await hub.get_history(session.id, limit=last)
            for m in history:
                self._show_stored(m)

    def _header(self, what: str) -> None:
        s = self.session
        assert s is not None
        title = f" {s.title!r}" if s.title else ""
        self.write(
            f"{what} {s.id}{title} · agent {s.agent} · {s.provider}/{s.model}"
            " · /help for commands, Ctrl+D to quit\n"
        )

    def _show_stored(self, m: Message) -> None:
        if m.role == "tool":
            name = m.metadata.get("tool_name", "tool")
            self.write(f"  [{name} → {_brief(m.content)}]\n")
        elif m.role == "assistant":
            mark = "" if m.status == "complete" else f" [{m.status}]"
            if m.content or mark:
                self.write(f"{REPLY}{m.content}{mark}\n")
        else:
            self.write(f"{m.role}> {m.content}\n" if m.role != "user" else f"{PROMPT}{m.content}\n")

    async def close(self) -> None:
        await self._stack.aclose()

    # -- one line ---------------------------------------------------------------------------

    async def _sink(self, event: dict[str, object]) -> None:
        kind = event.get("type")
        if kind == "delta":
            message_id = str(event.get("message_id"))
            if self._open_message != message_id:
                self._end_line()
                self.write(REPLY)
                self._open_message = message_id
            self.write(str(event.get("text", "")))
        elif kind == "tool_call":
            self._end_line()
            args = json.dumps(event.get("arguments") or {}, ensure_ascii=False)
            self.write(f"  [tool {event.get('name')}({_brief(args, 80)})]\n")
        elif kind == "tool_result":
            self._end_line()
            mark = " (error)" if event.get("is_error") else ""
            self.write(f"  [{event.get('name')}{mark} → {_brief(str(event.get('content', '')))}]\n")
        elif kind == "error":
            self._end_line()
            click.echo(f"error: {event.get('message')}", err=True)
            self.failed = True

    async def send(self, line: str) -> None:
        """Run ``line`` as a chat command or an agent turn; Ctrl+C (cancellation) stops the reply."""
        assert self.hub is not None and self.runtime is not None and self.session is not None
        session_id = self.session.id
        try:
            out = await self.runtime.chat(self.hub, session_id, line, sink=self._sink)
            if isinstance(out, CommandAnswer):
                self.write(out.text.rstrip("\n") + "\n")
                if out.session is not None and out.session.id != session_id:
                    self.session = out.session
                    self._header("now in")
                return
            result = await out.wait()
            self._end_line()
            if result.status not in ("complete", "error"):
                self.write(f"[{result.status}]\n")
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self.runtime.stop(session_id)
            self._end_line()
            self.write("[interrupted]\n")


def _lines(stdin: TextIO, interactive: bool) -> Iterator[str]:
    """Yield input lines: ``input()`` with a prompt on a terminal, plain reads otherwise."""
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - line editing and history for input()
        while True:
            try:
                yield input(PROMPT)
            except (EOFError, KeyboardInterrupt):
                click.echo()
                return
    else:
        yield from (raw.rstrip("\r\n") for raw in stdin)


@click.command()
@click.argument("session_id", required=False)
@click.option("--agent", default=None, help="Agent of the new session (default: the default agent).")
@click.option("--model", default=None, help="Model of the new session (default: the agent's).")
@click.option(
    "--last",
    type=click.IntRange(0, 100),
    default=6,
    show_default=True,
    help="How many messages to show when resuming.",
)
@database_options
def chat(
    database: str | None, config: str | None, session_id: str | None, agent: str | None, model: str | None,
    last: int,
) -> None:  # fmt: skip
    """Chat with a session's agent: a new session, or resume SESSION_ID."""
    interactive = sys.stdin.isatty()
    loop = ChatLoop(Context(database, config), sys.stdout)
    code = 0
    with asyncio.Runner() as runner:
        try:
            runner.run(loop.start(session_id, agent, model, last))
            for line in _lines(sys.stdin, interactive):
                text = line.strip()
                if not text:
                    continue
                if text in QUIT:
                    break
                if not interactive:
                    loop.write(f"{PROMPT}{text}\n")
                try:
                    runner.run(loop.send(text))
                except SessionhubError as exc:
                    loop._end_line()
                    if not interactive:
                        raise
                    click.echo(f"error: {exc.message}", err=True)
        except SessionhubError as exc:
            code = exc.exit_code
            click.echo(f"error: {exc.message}", err=True)
        except KeyboardInterrupt:
            click.echo()
            code = 130
        finally:
            with contextlib.suppress(Exception, KeyboardInterrupt):
                runner.run(loop.close())
    if code:
        sys.exit(code)
    if loop.failed and not interactive:
        sys.exit(1)  # the failed reply's error line is already on stderr
