"""The sessions as an MCP server (CONTRACT 11.8), built on the official ``mcp`` SDK.

Other AI tools (Claude Desktop, IDE agents, other assistants) reach past conversations through
four tools and one resource template:

- ``sessions_list``: a page of sessions (view, agent, channel filters; ``cursor`` pages on);
- ``sessions_search``: ranked hits with a snippet each, in the search modes of ``hub.search``
  (keyword, semantic, hybrid) and optionally one per session;
- ``sessions_history``: the latest N messages of a session, or a range by ``seq``, as a
  transcript or as messages;
- ``sessions_send``: a message into a session (a new one when no id is given); the session's
  agent answers and the reply is returned, exactly as a chat in the dashboard would run;
- ``sessionhub://sessions/{session_id}``: a session's latest messages as Markdown.

Every call works on the caller's hub (``hub.as_user``): over stdio the user given to
``sessionhub mcp``; over HTTP (``/mcp`` on the server, ``server/app.py``) the user of the
bearer token, checked by the server's own authentication before the SDK sees the request.
A sessionhub error (not found, bad input, read-only session, provider failure) comes back as
an MCP tool error carrying its one-line message; the server goes on.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import Field

from .. import __version__
from ..agents.runtime import AgentRuntime, CommandAnswer
from ..errors import SessionhubError
from ..hub import Hub
from ..model import Message, Session

HubFor = Callable[[Context[Any, Any]], Hub]
"""Finds the hub of the caller of one MCP request (already scoped to their user)."""

MAX_HISTORY = 200
RESOURCE_MESSAGES = 100

INSTRUCTIONS = """\
sessionhub keeps the conversations of an AI assistant: one session per conversation, each with
an agent, a channel (web, telegram, slack ...) and ordered messages (seq 1, 2, ...). Use
sessions_search to find past conversations by words, sessions_list to browse the latest ones,
sessions_history to read one, and sessions_send to continue one (its agent answers)."""


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """A sessionhub error becomes a tool error with its one-line message."""
    try:
        yield
    except SessionhubError as exc:
        raise ToolError(exc.message) from None


def _brief(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "agent": session.agent,
        "channel": session.channel,
        "status": session.status,
        "pinned": session.pinned,
        "message_count": session.message_count,
        "last_message_at": session.to_dict()["last_message_at"],
        "preview": session.preview,
    }


def _message(m: Message) -> dict[str, Any]:
    data = m.to_dict()
    return {k: data[k] for k in ("id", "seq", "role", "content", "status", "created_at") if k in data}


_MARK = re.compile(r"</?mark>")


def _plain_snippet(snippet: str) -> str:
    """The REST snippet is HTML (escaped, with ``<mark>``); a model reads plain text better."""
    return html.unescape(_MARK.sub("**", snippet))


def _transcript(msgs: list[Message]) -> str:
    lines = []
    for m in msgs:
        status = "" if m.status == "complete" else f" ({m.status})"
        lines.append(f"#{m.seq} {m.role}{status}: {m.content}")
    return "\n".join(lines)


def build_server(hub_for: HubFor, runtime: AgentRuntime) -> MCPServer:
    """The MCP server whose tools run on ``hub_for(ctx)`` and whose turns run on ``runtime``."""
    server: MCPServer = MCPServer(name="sessionhub", instructions=INSTRUCTIONS, version=__version__)

    @server.tool(
        name="sessions_list",
        description="List the user's conversations, most recent activity first (pinned ones on top). "
        "Returns sessions with id, title, agent, channel, message_count, last_message_at and a preview, "
        "and next_cursor: pass it back as cursor to get the next page (null when there is none).",
    )
    async def sessions_list(
        ctx: Context[Any, Any],
        view: Annotated[
            Literal["active", "archived", "scheduled", "all"],
            Field(description="active (default), archived, scheduled (cron tasks) or all"),
        ] = "active",
        agent: Annotated[str | None, Field(description="only sessions of this agent id")] = None,
        channel: Annotated[
            str | None, Field(description="only sessions of this channel, e.g. web, telegram, slack")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="sessions per page")] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        with _tool_errors():
            page = await hub_for(ctx).list_sessions(view, limit, cursor, agent=agent, channel=channel)
        return {"sessions": [_brief(s) for s in page.sessions], "next_cursor": page.next_cursor}

    @server.tool(
        name="sessions_search",
        description="Search the messages and titles of the user's conversations. mode=keyword: every word "
        "must match (the last one also as a prefix; Chinese, Japanese, Korean and Thai by substring); "
        "mode=semantic: messages nearest in meaning (finds paraphrases); mode=hybrid: both rankings fused; "
        "no mode: the server's default. group=session gives one best hit per conversation with its "
        "number of hits. Returns hits ranked best first, each with the session (id, title ...), the "
        "matching message's id and seq (null for a title match) and a snippet where **marks** enclose "
        "the matched words. Read around a hit with sessions_history(after_seq=seq-5).",
    )
    async def sessions_search(
        ctx: Context[Any, Any],
        query: Annotated[str, Field(min_length=1, max_length=1000, description="words to find")],
        limit: Annotated[int, Field(ge=1, le=100, description="most hits returned")] = 10,
        view: Annotated[
            Literal["active", "archived", "scheduled", "all"],
            Field(description="which sessions to search; all by default"),
        ] = "all",
        agent: Annotated[str | None, Field(description="only sessions of this agent id")] = None,
        channel: Annotated[str | None, Field(description="only sessions of this channel")] = None,
        mode: Annotated[
            Literal["keyword", "semantic", "hybrid"] | None,
            Field(description="keyword, semantic or hybrid; default: the server's"),
        ] = None,
        group: Annotated[
            Literal["message", "session"] | None,
            Field(description="session: one best hit per conversation, with `count`"),
        ] = None,
    ) -> dict[str, Any]:
        with _tool_errors():
            hits = await hub_for(ctx).search(
                query, limit, view=view, agent=agent, channel=channel, mode=mode, group=group
            )
        return {
            "results": [
                {
                    "session": _brief(h.session),
                    "message_id": h.message_id,
                    "seq": h.seq,
                    "snippet": _plain_snippet(h.snippet),
                    "score": h.score,
                    "count": h.count,
                    "match": h.match,
                }
                for h in hits
            ]
        }

    @server.tool(
        name="sessions_history",
        description="Read a conversation: by default its latest `limit` messages, oldest first. "
        "before_seq gives the messages just before that seq (page backwards); after_seq those just "
        "after it (read forwards from a search hit). format=text gives a transcript "
        "('#seq role: content' per line); format=messages gives message objects.",
    )
    async def sessions_history(
        ctx: Context[Any, Any],
        session_id: Annotated[str, Field(description="the session's id (ses_...)")],
        limit: Annotated[int, Field(ge=1, le=MAX_HISTORY, description="most messages returned")] = 20,
        before_seq: Annotated[int | None, Field(ge=1, description="messages before this seq")] = None,
        after_seq: Annotated[int | None, Field(ge=0, description="messages after this seq")] = None,
        format: Annotated[
            Literal["text", "messages"], Field(description="text (a transcript) or messages")
        ] = "text",
    ) -> dict[str, Any]:
        with _tool_errors():
            hub = hub_for(ctx)
            session = await hub.get_session(session_id)
            msgs, has_more = await hub.history_page(session.id, limit, before_seq, after_seq)
        out: dict[str, Any] = {"session": _brief(session), "has_more": has_more}
        if format == "text":
            out["transcript"] = _transcript(msgs)
        else:
            out["messages"] = [_message(m) for m in msgs]
        return out

    @server.tool(
        name="sessions_send",
        description="Send a message into a conversation and return the agent's reply. Without session_id a "
        "new session is started (with `agent`, or the default agent). The message and the reply are "
        "stored in the session like any chat turn. A message starting with / is a chat command "
        "(/help lists them) and is answered without being stored.",
    )
    async def sessions_send(
        ctx: Context[Any, Any],
        content: Annotated[str, Field(min_length=1, max_length=200_000, description="the message text")],
        session_id: Annotated[str | None, Field(description="the session to continue (ses_...)")] = None,
        agent: Annotated[str | None, Field(description="agent id for a new session")] = None,
    ) -> dict[str, Any]:
        with _tool_errors():
            hub = hub_for(ctx)
            if session_id is None:
                session_id = (await hub.create_session(agent=agent)).id
            elif agent is not None:
                raise ToolError("agent applies to a new session; leave it out when giving session_id")
            out = await runtime.chat(hub, session_id, content)
            if isinstance(out, CommandAnswer):
                after = out.session.id if out.session is not None else session_id
                return {"session_id": after, "command": out.command, "reply": out.text}
            result = await out.wait()
        if result.status == "error" or result.message is None:
            reason = result.error.message if result.error is not None else "the agent's turn failed"
            raise ToolError(f"the agent did not answer: {reason}")
        return {
            "session_id": out.session.id,
            "message_id": result.message.id,
            "seq": result.message.seq,
            "status": result.message.status,
            "reply": result.message.content,
        }

    @server.resource(
        "sessionhub://sessions/{session_id}",
        name="session",
        description=f"A conversation as Markdown: its title, agent and channel, then its latest "
        f"{RESOURCE_MESSAGES} messages.",
        mime_type="text/markdown",
    )
    async def session_resource(session_id: str, ctx: Context[Any, Any]) -> str:
        try:
            hub = hub_for(ctx)
            session = await hub.get_session(session_id)
            body: str = await hub.get_history(session.id, limit=RESOURCE_MESSAGES, format="markdown")
        except SessionhubError as exc:
            raise ResourceError(exc.message) from None
        title = session.title or "(untitled)"
        head = f"# {title}\n\n{session.id} · agent {session.agent} · {session.channel} · "
        return f"{head}{session.message_count} messages\n\n{body}"

    return server
