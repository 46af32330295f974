"""A small OpenAI-compatible chat completions server on 127.0.0.1, for tests.

Real HTTP over a real socket (asyncio streams, HTTP/1.1, chunked transfer encoding), so the
provider's httpx client, SSE parsing and retries are exercised end to end. Each request
takes the next scripted response; the last one repeats.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SSE:
    """Stream these chunks as ``data:`` events, ``delay`` seconds apart; ``done`` sends [DONE]."""

    chunks: list[Any]
    delay: float = 0.0
    done: bool = True
    cut: bool = False  # drop the connection after the chunks, without finishing the body


@dataclass
class Status:
    """Answer with this status and JSON (or raw text) body."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Never answer (tests read timeouts)."""

    seconds: float = 30.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }


def finish_chunk(reason: str = "stop") -> dict[str, Any]:
    return {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "c1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def tool_chunk(
    index: int, *, call_id: str | None = None, name: str | None = None, args: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id:
        call["id"] = call_id
        call["type"] = "function"
    if name:
        call["function"]["name"] = name
    return {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}


class FakeOpenAI:
    """``async with FakeOpenAI([...]) as fake:`` then use ``fake.base_url``; ``fake.requests`` records calls."""

    def __init__(self, script: Sequence[SSE | Status | Hang], port: int = 0) -> None:
        self.script = list(script)
        self.port = port  # 0: any free port
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeOpenAI:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        if hasattr(self._server, "close_clients"):
            self._server.close_clients()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, path, headers, json.loads(raw) if raw else None))
            step = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
            await self._answer(step, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, step: SSE | Status | Hang, writer: asyncio.StreamWriter) -> None:
        if isinstance(step, Hang):
            await asyncio.sleep(step.seconds)
            return
        if isinstance(step, Status):
            body = step.body if isinstance(step.body, str) else json.dumps(step.body)
            data = body.encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in step.headers.items())
            writer.write(
                f"HTTP/1.1 {step.status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                f"{extra}Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        events = [f"data: {json.dumps(c)}\n\n" for c in step.chunks]
        if step.done:
            events.append("data: [DONE]\n\n")
        for i, event in enumerate(events):
            if i and step.delay:
                await asyncio.sleep(step.delay)
            data = event.encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
        if not step.cut:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
