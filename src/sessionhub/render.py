"""Render a page of messages as markdown or plain text (``get_history(format=...)``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .clock import isoformat
from .model import Message, ToolCall


def render_messages(msgs: Sequence[Message], fmt: str) -> str:
    out: list[str] = []
    for m in msgs:
        when = isoformat(m.created_at) or ""
        status = "" if m.status == "complete" else f" ({m.status})"
        if fmt == "markdown":
            out.append(f"### {m.role} · {when}{status}\n")
            if m.content:
                out.append(m.content + "\n")
            for p in m.parts:
                if isinstance(p, ToolCall):
                    args = json.dumps(dict(p.arguments), ensure_ascii=False)
                    out.append(f"- tool call `{p.name}` ({p.id}): `{args}`\n")
                else:
                    out.append(f"- tool result for {p.tool_call_id}: {p.content}\n")
            out.append("\n")
        else:
            out.append(f"[{when}] {m.role}{status}: {m.content}\n")
            for p in m.parts:
                if isinstance(p, ToolCall):
                    out.append(f"  -> {p.name}({json.dumps(dict(p.arguments), ensure_ascii=False)})\n")
                else:
                    out.append(f"  <- {p.content}\n")
    return "".join(out)
