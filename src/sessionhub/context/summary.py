"""Summaries of the older part of a conversation: an extractive summary, the LLM prompt.

Compaction never deletes: a ``SummaryRecord`` (model.py) covers the messages up to ``covers_until_seq``
and the next compaction folds the previous text and the newer messages into a new record.
``extractive_summary`` is deterministic (no model): it keeps both sides of the conversation
and tool calls/results in short form. ``summary_prompt`` builds the chat request for an LLM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from ..errors import InvalidInput
from ..model import Message, ToolCall, ToolResult

PREVIOUS_HEADER: Final = "Earlier: "
_ELLIPSIS: Final = "…"


def _squash(text: str) -> str:
    return " ".join(text.split())


def _short(text: str, limit: int) -> str:
    text = _squash(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + _ELLIPSIS


def message_line(message: Message, limit: int = 200) -> str:
    """One short line for a message: role, text, tool calls as ``name(args)``, tool results as ``-> text``."""
    bits: list[str] = []
    if message.content.strip():
        bits.append(_short(message.content, limit))
    for part in message.parts:
        if isinstance(part, ToolCall):
            args = json.dumps(dict(part.arguments), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            bits.append(f"called {part.name}({_short(args, limit // 2)})")
        elif isinstance(part, ToolResult) and part.content != message.content:
            bits.append(f"-> {_short(part.content, limit // 2)}")
    return f"{message.role}: {' | '.join(bits) if bits else '(empty)'}"


def strip_previous_header(text: str | None) -> str:
    """``text`` without the ``Earlier: `` prefixes earlier compactions put in front of it, so a
    summary of a summary never reads ``Earlier: Earlier: Earlier: …``."""
    text = (text or "").strip()
    while text.startswith(PREVIOUS_HEADER.strip()):
        text = text[len(PREVIOUS_HEADER.strip()) :].lstrip()
    return text


def extractive_summary(
    previous_summary: str | None, messages: Sequence[Message], max_chars: int = 4000
) -> str:
    """A deterministic summary: the previous one (shortened) and a line per message, in ``max_chars``.

    Both sides of the conversation are kept; when the lines do not fit, each line gets an
    equal share of the room (so the oldest turns are shortened, never silently dropped),
    and if even one word per line cannot fit, the middle lines are elided with a count.
    """
    if max_chars < 80:
        raise InvalidInput("max_chars must be at least 80")
    lines: list[str] = []
    budget = max_chars
    previous_summary = strip_previous_header(previous_summary)
    if previous_summary:
        prev = PREVIOUS_HEADER + _short(previous_summary, max(40, max_chars // 3))
        lines.append(prev)
        budget -= len(prev) + 1
    body = [m for m in messages if m.content.strip() or m.parts]
    if body:
        share = budget // len(body) - 1
        if share >= 24:
            lines += [message_line(m, share - 12)[:share] for m in body]
        else:
            keep = max(1, budget // 60)
            head, tail = body[: keep // 2], body[len(body) - (keep - keep // 2) :]
            lines += [message_line(m, 40)[:58] for m in head]
            lines.append(f"[… {len(body) - len(head) - len(tail)} messages elided …]")
            lines += [message_line(m, 40)[:58] for m in tail]
    text = "\n".join(lines)
    return text if len(text) <= max_chars else text[: max_chars - 1] + _ELLIPSIS


SUMMARY_INSTRUCTIONS: Final = (
    "You compress a conversation between a user and an AI assistant so the assistant can continue it. "
    "Write a concise summary in the conversation's language. Keep: the user's goals, requests and "
    "preferences; facts, names, numbers and decisions; what the assistant did, including tool calls and "
    "their results in short form; open questions and unfinished tasks. Cover both sides of the "
    "conversation. If a previous summary is given, fold it in: the result replaces it. "
    "Answer with the summary only."
)


def summary_prompt(
    previous: str | None, messages: Sequence[Message], max_line_chars: int = 2000
) -> list[dict[str, str]]:
    """The chat-completions request (OpenAI format) asking a model to write the new summary."""
    transcript = "\n".join(message_line(m, max_line_chars) for m in messages)
    user = ""
    previous = strip_previous_header(previous)
    if previous:
        user += f"Previous summary:\n{previous}\n\n"
    user += f"New messages:\n{transcript or '(none)'}\n\nWrite the updated summary."
    return [{"role": "system", "content": SUMMARY_INSTRUCTIONS}, {"role": "user", "content": user}]
