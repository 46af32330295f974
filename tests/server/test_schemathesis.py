"""Property-based API test: schemathesis against /openapi.json, no 5xx and no schema violation.

Bounded: a few examples per operation (``SESSIONHUB_SCHEMATHESIS_EXAMPLES``, default 15),
on a real SQLite file, with a valid token (and schemathesis' own invalid-auth probes).
``positive_data_acceptance`` is left out: some rules are semantic, not expressible in the
schema (an opaque cursor, an IANA timezone, a configured agent, a query with words), and
their 422 is right.

schemathesis only generates strict JSON (its serialiser refuses NaN and it encodes strings
as UTF-8), so about half the examples of an operation with a JSON body are poisoned here:
one node of the generated body (or one object key) becomes NaN, ±Infinity, a lone surrogate
or a string with NUL, sent as Python's lenient JSON text. Those must get a 4xx too.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

import sessionhub
from sessionhub.server.app import create_app

from .conftest import ALICE, TOKENS, make_settings

JSON = "application/json"
EXAMPLES = int(os.environ.get("SESSIONHUB_SCHEMATHESIS_EXAMPLES", "15"))
_SIBLING_ROUTES = frozenset({"recent", "search", "stats", "import"})
POISONS = st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "x\udfffy", "a\x00b"])

Path_ = tuple[str | int, ...]


def _nodes(value: Any, path: Path_ = ()) -> list[Path_]:
    """Every node of a JSON value, as the keys leading to it (pre-order; the root is ``()``)."""
    found = [path]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _nodes(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            found += _nodes(sub, (*path, i))
    return found


def poisoned(body: Any, poison: Any, data: st.DataObject) -> bytes:
    """``body`` with one drawn node replaced by ``poison`` (or renamed to it, for a string and an
    object member), as lenient JSON text: ``NaN``, ``Infinity``, ``\\ud800``, ``\\u0000``."""
    paths = _nodes(body)
    path = paths[data.draw(st.integers(0, len(paths) - 1), label="node")]
    out: Any = copy.deepcopy(body)
    if not path:
        out = poison
    else:
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and isinstance(poison, str) and data.draw(st.booleans(), label="as key"):
            parent[poison] = parent.pop(path[-1])
        else:
            parent[path[-1]] = poison
    return json.dumps(out, allow_nan=True).encode()


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "api.db"

    async def open_hub() -> sessionhub.Hub:
        return await sessionhub.open(f"sqlite:///{path}", settings=make_settings(tokens=TOKENS))

    hub = asyncio.run(open_hub())

    async def seed() -> None:
        s = await hub.create_session(title="seed")
        await hub.add_message(s.id, "user", "hello world")

    asyncio.run(seed())
    yield create_app(hub.settings, hub)
    asyncio.run(hub.close())


def test_api_conforms_to_its_schema(api_app: FastAPI) -> None:
    """Every generated request, for every operation, gets a documented, schema-conforming
    answer and never a 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = operation.as_strategy()

        @given(case=strategy, data=st.data())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case, data: st.DataObject) -> None:
            # /api/sessions/{session_id} with id "recent"/"search"/"stats" is a different
            # route (GET /api/sessions/recent …), validated against the wrong operation.
            if (case.path_parameters or {}).get("session_id") in _SIBLING_ROUTES:
                return
            poison = data.draw(st.none() | POISONS, label="poison") if case.media_type == JSON else None
            if poison is None:
                case.call_and_validate(headers=ALICE, excluded_checks=[positive_data_acceptance])
                return
            body = poisoned(case.body, poison, data)
            response = case.call_and_validate(
                headers={**ALICE, "Content-Type": JSON}, data=body, excluded_checks=[positive_data_acceptance]
            )
            assert 400 <= response.status_code < 500, (body[:200], response.status_code, response.text[:200])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
