"""The ``adk`` figure: sessionhub's ``HubSessionService`` beside ADK's own ``DatabaseSessionService``.

Both on SQLite files on this machine (ADK's through ``sqlite+aiosqlite``, as its docs
show). Measured: ``list_sessions`` of one user with many sessions, and ``get_session`` with
``GetSessionConfig(num_recent_events=50)`` on a small and on a huge session. Loading is not
timed: sessions are created through each service's ``create_session`` (sessionhub) or bulk
inserted through ADK's own storage classes (ADK; one transaction), events bulk inserted the
same way (sessionhub: ``hub.add_messages`` of the messages ``append_event`` would write, then
one real ``append_event``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from .measure import Samples, fmt_ratio, fmt_seconds, sample
from .report import Figure, Outcome, Verdict, time_table

APP = "bench"
USER = "u1"
SMALL_EVENTS = 100


def _events(n: int, start: float) -> list[Any]:
    from google.adk.events import Event
    from google.genai import types

    out = []
    for i in range(n):
        user = i % 2 == 0
        text = f"{'question' if user else 'answer'} {i}: " + "lorem ipsum dolor sit amet " * 6
        out.append(
            Event(
                invocation_id=f"inv-{i // 2}",
                author="user" if user else "helper",
                content=types.Content(role="user" if user else "model", parts=[types.Part(text=text)]),
                timestamp=start + i * 0.001,
            )
        )
    return out


async def _load_hub(root: Path, sessions: int, big: int, log: Any) -> tuple[Any, Any]:
    import sessionhub
    from sessionhub.integrations.adk import HubSessionService, event_to_message

    hub = await sessionhub.open(f"sqlite:///{root}/sessionhub.db")
    svc = HubSessionService(hub)
    t = time.perf_counter()
    for i in range(sessions):
        await svc.create_session(app_name=APP, user_id=USER, session_id=f"s{i}", state={"n": i})
    log(f"adk: sessionhub created {sessions:,} sessions in {time.perf_counter() - t:.1f}s")
    for sid, n in (("small", SMALL_EVENTS), ("big", big)):
        session = await svc.create_session(app_name=APP, user_id="reader", session_id=sid)
        events = _events(n, time.time() - n)
        hub_id = await svc.hub_session_id(app_name=APP, user_id="reader", session_id=sid)
        limit = hub.settings.max_message_chars
        for i in range(0, n - 1, 10_000):
            batch = [
                event_to_message(e.model_dump(exclude_none=True, mode="json"), limit)
                for e in events[i : min(i + 10_000, n - 1)]
            ]
            await hub.add_messages(hub_id, batch)
        await svc.append_event(session, events[-1])
    return hub, svc


async def _load_adk(root: Path, sessions: int, big: int, log: Any) -> Any:
    from datetime import UTC, datetime

    from google.adk.sessions import DatabaseSessionService
    from google.adk.sessions.schemas.v1 import StorageAppState, StorageEvent, StorageSession, StorageUserState

    svc = DatabaseSessionService(f"sqlite+aiosqlite:///{root}/adk.db")
    await svc.prepare_tables()
    now = datetime.now(UTC).replace(tzinfo=None)
    t = time.perf_counter()
    async with svc.database_session_factory() as db:
        db.add(StorageAppState(app_name=APP, state={}))
        db.add(StorageUserState(app_name=APP, user_id=USER, state={}))
        db.add(StorageUserState(app_name=APP, user_id="reader", state={}))
        for i in range(sessions):
            db.add(
                StorageSession(
                    app_name=APP, user_id=USER, id=f"s{i}", state={"n": i}, create_time=now, update_time=now
                )
            )
        await db.commit()
    log(f"adk: DatabaseSessionService bulk-loaded {sessions:,} sessions in {time.perf_counter() - t:.1f}s")
    for sid, n in (("small", SMALL_EVENTS), ("big", big)):
        session = await svc.create_session(app_name=APP, user_id="reader", session_id=sid)
        events = _events(n, time.time() - n)
        for i in range(0, n, 10_000):
            async with svc.database_session_factory() as db:
                db.add_all([StorageEvent.from_event(session, e) for e in events[i : i + 10_000]])
                await db.commit()
    return svc


async def _build_sessions(n: int) -> list[Any]:
    """What any ADK session store must do to list ``n`` sessions: build n Session objects."""
    from google.adk.sessions import Session

    from sessionhub.bulk import building

    with building():  # the collector paused, as sessionhub does while it builds its answer
        return [
            Session(id=f"s{i}", app_name=APP, user_id=USER, state={"n": i}, events=[], last_update_time=1.0)
            for i in range(n)
        ]


async def run(ctx: Any) -> Figure:
    from google.adk.sessions.base_session_service import GetSessionConfig

    sessions, big = (2_000, 20_000) if ctx.quick else (10_000, 100_000)
    reps, budget = (5, 20.0) if ctx.quick else (10, 60.0)
    fig = Figure("adk", "Google ADK session service (SQLite)")
    with tempfile.TemporaryDirectory(prefix="bench-adk-") as tmp:
        root = Path(tmp)
        hub, ours = await _load_hub(root, sessions, big, ctx.log)
        theirs = await _load_adk(root, sessions, big, ctx.log)
        services = {"sessionhub": ours, "adk DatabaseSessionService": theirs}
        try:
            listing: dict[str, Outcome] = {}
            for name, svc in services.items():
                got = await svc.list_sessions(app_name=APP, user_id=USER)
                if len(got.sessions) != sessions:
                    raise RuntimeError(f"{name} listed {len(got.sessions)} sessions, expected {sessions}")
                ctx.log(f"adk: list_sessions, {name}")
                listing[name] = await sample(
                    lambda svc=svc: svc.list_sessions(app_name=APP, user_id=USER), reps=reps, budget_s=budget
                )
            floor_name = f"{sessions:,} ADK Session objects built, no store (the floor)"
            listing[floor_name] = await sample(lambda: _build_sessions(sessions), reps=reps, budget_s=budget)
            fig.tables.append(time_table(f"list_sessions of one user with {sessions:,} sessions", listing))
            latest: dict[str, dict[str, Outcome]] = {}
            cfg = GetSessionConfig(num_recent_events=50)
            for sid, n in (("small", SMALL_EVENTS), ("big", big)):
                outcomes: dict[str, Outcome] = {}
                for name, svc in services.items():
                    got = await svc.get_session(app_name=APP, user_id="reader", session_id=sid, config=cfg)
                    if got is None or len(got.events) != 50:
                        raise RuntimeError(
                            f"{name} get_session gave {None if got is None else len(got.events)} events"
                        )
                    ctx.log(f"adk: get_session({sid}), {name}")
                    outcomes[name] = await sample(
                        lambda svc=svc, sid=sid: svc.get_session(
                            app_name=APP, user_id="reader", session_id=sid, config=cfg
                        ),
                        reps=reps * 3,
                        budget_s=budget,
                    )
                latest[sid] = outcomes
                fig.tables.append(
                    time_table(f"get_session, num_recent_events=50, session of {n:,} events", outcomes)
                )
        finally:
            await theirs.close()
            await hub.close()
    ours_list, theirs_list = listing["sessionhub"], listing["adk DatabaseSessionService"]
    if isinstance(ours_list, Samples) and isinstance(theirs_list, Samples):
        speedup = theirs_list.median / ours_list.median
        floor = listing[floor_name]
        ceiling = theirs_list.median / floor.median if isinstance(floor, Samples) else float("nan")
        fig.verdicts.append(
            Verdict(
                f"list_sessions at {sessions:,} sessions ≥ 100x faster than ADK's",
                speedup >= 100,
                fmt_ratio(speedup),
                why=(
                    "ADK's interface returns one pydantic Session object per listed session, and ADK 2.13 no "
                    "longer loads events when listing (the 100x goal was set against the versions that did); "
                    f"building those objects alone, with no storage at all, takes {fmt_seconds(floor.median)} in "
                    f"this run, so no store can list more than {fmt_ratio(ceiling)} faster than ADK's "
                    "DatabaseSessionService here"
                    if isinstance(floor, Samples)
                    else "both build one ADK Session object per listed session"
                ),
            )
        )
    small, large = latest["small"]["sessionhub"], latest["big"]["sessionhub"]
    if isinstance(small, Samples) and isinstance(large, Samples):
        growth = large.median / small.median
        fig.verdicts.append(
            Verdict(
                f"get_session(50 recent) flat: {big:,}/{SMALL_EVENTS} events ratio ≤ 1.5",
                growth <= 1.5,
                f"{fmt_ratio(growth)} ({fmt_seconds(large.median)})",
            )
        )
    fig.notes.append(
        "sessionhub: `HubSessionService` on a SQLite file (synchronous FULL); ADK: `DatabaseSessionService` "
        "on `sqlite+aiosqlite` (its defaults). Every listed session carries its merged state, no events."
    )
    return fig
