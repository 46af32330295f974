"""Server-sent events, the subset chat completion streams use: ``data:`` payloads.

Per the SSE spec: lines ``field: value``; an empty line ends an event; consecutive ``data``
lines join with ``\\n``; lines starting with ``:`` are comments (OpenRouter sends keep-alive
comments); other fields (``event``, ``id``, ``retry``) are ignored here.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


async def iter_sse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    """Yield the ``data`` of each event read from ``lines`` (without line endings)."""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
