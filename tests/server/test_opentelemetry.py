"""``[server] opentelemetry``: FastAPI's request spans reach the process's tracer provider
only when the operator turns them on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# A process of its own: OpenTelemetry's global tracer provider can be set once per process.
_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys

    import httpx
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import sessionhub
    from sessionhub.config import ServerSettings, Settings
    from sessionhub.server.app import create_app

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


    async def spans(flag: bool) -> list[str]:
        exporter.clear()
        settings = Settings().replace(server=ServerSettings(opentelemetry=flag))
        async with sessionhub.open(f"sqlite:///{sys.argv[1]}/{flag}.db", settings=settings) as hub:
            app = create_app(settings, hub)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                created = await client.post("/api/sessions", json={})
                assert created.status_code == 201, created.text
                sid = created.json()["id"]
                added = await client.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "hi"})
                assert added.status_code == 201, added.text
        return [span.name for span in exporter.get_finished_spans()]


    print("off", asyncio.run(spans(False)))
    print("on", asyncio.run(spans(True)))
    """
)


def test_request_spans_only_when_turned_on(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["off"] == "[]"
    assert "POST /api/sessions" in lines["on"]
    assert "POST /api/sessions/{session_id}/messages" in lines["on"], lines["on"]
