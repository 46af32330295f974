"""The daily usage level above the rollup (``usage_day``, migration 0016) on every backend:
each report checked against a plain aggregate over the messages in zones with quarter-hour
offsets, a DST change and +14 h, over ranges that cut UTC days anywhere; the level checked
against the rollup (and the rollup against the messages) after deletes at a day's first and
last quarter hour, moves, clears, session deletes and concurrent writes."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from tests._util import alembic_config

import sessionhub
from sessionhub.config import AgentSettings
from sessionhub.hub import Hub
from sessionhub.model import Message, Session
from sessionhub.store import engine as eng
from sessionhub.store.usage_sql import plan
from sessionhub.usage import UsageQuery

AGENTS = (
    AgentSettings(id="main", provider="echo", model="echo"),
    AgentSettings(id="writer", provider="openai", model="gpt-big"),
)
ZONES = ["UTC", "Asia/Kathmandu", "America/St_Johns", "Europe/Berlin", "Pacific/Kiritimati"]
# Europe/Berlin goes to summer time at 2026-03-29 01:00 UTC: that UTC day holds three local
# days' worth of offsets for the report (read exactly from the rollup).
BASE = datetime(2026, 3, 27, tzinfo=UTC)
# UTC times of day next to UTC midnight and to each zone's local midnight (Kathmandu 18:15,
# St John's 02:30 in summer and 03:30 before, Berlin 23:00 / 22:00, Kiritimati 10:00).
EDGES = [
    (0, 0),
    (0, 14),
    (23, 45),
    (23, 59),
    (18, 0),
    (18, 14),
    (18, 15),
    (2, 29),
    (2, 30),
    (3, 29),
    (3, 30),
    (22, 59),
    (23, 0),
    (21, 59),
    (22, 0),
    (9, 59),
    (10, 0),
    (12, 7),
]
RANGES = [
    ("2026-03-26", "2026-04-01"),  # dates in the zone: whole local days
    ("2026-03-27T18:15", "2026-03-30T02:30"),  # cuts UTC days (and local ones) in the middle
    ("2026-03-28T10:00", "2026-03-28T20:45"),  # less than a day
    ("2026-03-29T00:00", "2026-03-29T23:45"),  # the DST day alone
]

Row = tuple[int, int, int, int]


@pytest.fixture
def levels_hub(hub: Hub) -> Hub:
    return Hub(hub.store, hub.settings.replace(agents=AGENTS), clock=hub.clock)


async def _fill(hub: Hub, seed: int, sessions: int = 5) -> list[Session]:
    """Sessions over several days with messages at day edges; agents and channels mixed."""
    rnd = random.Random(seed)
    out = []
    for i in range(sessions):
        s = await hub.create_session(agent=AGENTS[i % 2].id, channel=("web", "telegram")[i % 3 == 0])
        items = []
        for _ in range(14):
            hour, minute = rnd.choice(EDGES)
            at = BASE + timedelta(
                days=rnd.randrange(4), hours=hour, minutes=minute, seconds=rnd.randrange(60)
            )
            items.append(
                {
                    "role": rnd.choice(["user", "assistant"]),
                    "content": "x",
                    "usage": {"input_tokens": rnd.randrange(0, 3000), "output_tokens": rnd.randrange(0, 500)},
                    "created_at": at,
                }
            )
        await hub.add_messages(s.id, items)
        out.append(s)
    return out


async def _messages(hub: Hub, sessions: list[Session]) -> list[tuple[Session, Message]]:
    """The messages as they are now, read back through the hub (deleted sessions are gone)."""
    out = []
    for s in sessions:
        try:
            msgs = await hub.get_history(s.id, limit=1000)
        except sessionhub.NotFound:
            continue
        out.extend((s, m) for m in msgs)
    return out


def _bound(value: str, tz: ZoneInfo, end: bool) -> datetime:
    if len(value) == 10:
        d = datetime.fromisoformat(value).replace(tzinfo=tz)
        return d + timedelta(days=1) if end else d
    return datetime.fromisoformat(value).replace(tzinfo=tz)


def _expected(
    data: list[tuple[Session, Message]],
    group: str,
    tz: str,
    rng: tuple[str, str],
    agent: str | None = None,
    channel: str | None = None,
) -> tuple[dict[str, Row], Row]:
    """The plain aggregate over the messages: rows per key and the totals."""
    zone = ZoneInfo(tz)
    lo, hi = _bound(rng[0], zone, False), _bound(rng[1], zone, True)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    sessions: dict[str, set[str]] = defaultdict(set)
    for s, m in data:
        if not lo <= m.created_at < hi or agent not in (None, s.agent) or channel not in (None, s.channel):
            continue
        key = {
            "day": m.created_at.astimezone(zone).date().isoformat(),
            "agent": s.agent,
            "model": s.model,
            "session": s.id,
            "channel": s.channel,
        }[group]
        for k in (key, "total"):
            sums[k][0] += 1
            sums[k][1] += m.usage.input_tokens
            sums[k][2] += m.usage.output_tokens
            sessions[k].add(s.id)
    rows = {k: (len(sessions[k]), *v) for k, v in sums.items()}
    return {k: v for k, v in rows.items() if k != "total"}, rows.get("total", (0, 0, 0, 0))  # type: ignore[return-value]


async def _check_reports(hub: Hub, sessions: list[Session], cases: list[dict[str, Any]]) -> None:
    data = await _messages(hub, sessions)
    for case in cases:
        group, tz, rng = case["group"], case["tz"], case["rng"]
        filters = {k: case[k] for k in ("agent", "channel") if k in case}
        report = await hub.usage(group, start=rng[0], end=rng[1], tz=tz, limit=1000, **filters)
        got = {
            r.key: (r.sessions, r.messages, r.input_tokens, r.output_tokens)
            for r in report.rows
            if r.messages
        }
        rows, totals = _expected(data, group, tz, rng, **filters)
        assert got == rows, case
        t = report.totals
        assert (t.sessions, t.messages, t.input_tokens, t.output_tokens) == totals, case


def levels_agree(hub: Hub) -> None:
    """usage_day equals what the rollup sums to, and the rollup equals the
    messages (an aggregate of each, compared as sets of rows)."""
    engine = hub.store.engine  # type: ignore[attr-defined]
    queries = [
        (
            "SELECT owner, day, session_pk, agent, model, channel, messages, input_tokens, output_tokens, "
            "first_bucket, last_bucket FROM usage_day",
            "SELECT owner, bucket / 96, session_pk, agent, model, channel, sum(messages), sum(input_tokens), "
            "sum(output_tokens), min(bucket), max(bucket) FROM usage_rollup "
            "GROUP BY owner, bucket / 96, session_pk, agent, model, channel",
        ),
        (
            "SELECT session_pk, bucket, messages, input_tokens, output_tokens FROM usage_rollup",
            "SELECT session_pk, created_at / 900000000, count(*), sum(input_tokens), sum(output_tokens) "
            "FROM messages GROUP BY session_pk, created_at / 900000000",
        ),
    ]
    with engine.connect() as conn:
        for kept, summed in queries:
            have = sorted(
                tuple(int(v) if not isinstance(v, str) else v for v in r) for r in conn.execute(sa.text(kept))
            )
            want = sorted(
                tuple(int(v) if not isinstance(v, str) else v for v in r)
                for r in conn.execute(sa.text(summed))
            )
            assert have == want, kept


def test_plan_covers_the_range_once() -> None:
    rnd = random.Random(5)
    for _ in range(500):
        start = rnd.randrange(0, 96 * 6)
        end = start + rnd.randrange(1, 96 * 6)
        exact_days = [rnd.randrange(0, 14) for _ in range(rnd.randrange(3))]
        p = plan(start, end, exact_days)
        days = [] if p.days is None else [d for d in range(*p.days) if d not in p.skip]
        covered = [b for d in days for b in range(d * 96, d * 96 + 96)]
        covered += [b for lo, hi in p.exact for b in range(lo, hi)]
        assert sorted(covered) == list(range(start, end))
        assert not set(days) & set(exact_days)


async def test_every_group_matches_the_messages_in_every_zone(levels_hub: Hub) -> None:
    sessions = await _fill(levels_hub, seed=1)
    # Another user's usage at the same quarter hours is never counted.
    other = levels_hub.as_user("mallory")
    await _fill(other, seed=2, sessions=2)
    cases: list[dict[str, Any]] = [
        {"group": g, "tz": tz, "rng": rng}
        for tz in ZONES
        for rng in RANGES
        for g in ("day", "agent", "model", "session", "channel")
    ]
    cases += [
        {"group": "day", "tz": "Europe/Berlin", "rng": RANGES[0], "agent": "writer"},
        {"group": "model", "tz": "Asia/Kathmandu", "rng": RANGES[1], "channel": "telegram"},
        {"group": "session", "tz": "America/St_Johns", "rng": RANGES[1], "agent": "main", "channel": "web"},
        {"group": "day", "tz": "Pacific/Kiritimati", "rng": RANGES[1], "channel": "web"},
    ]
    await _check_reports(levels_hub, sessions, cases)
    levels_agree(levels_hub)


async def test_levels_follow_deletes_at_day_edges_moves_and_session_deletes(levels_hub: Hub) -> None:
    hub = levels_hub
    s = await hub.create_session(agent="writer")
    day = BASE + timedelta(days=1)
    at = [day + timedelta(minutes=m) for m in (5, 20, 300, 600, 1425, 1430)]  # 00:05 .. 23:50
    msgs = await hub.add_messages(
        s.id,
        [
            {"role": "assistant", "content": "x", "usage": {"input_tokens": 10 + i}, "created_at": t}
            for i, t in enumerate(at)
        ],
    )
    sessions = [s, *await _fill(hub, seed=3, sessions=2)]
    engine = hub.store.engine  # type: ignore[attr-defined]

    def edges() -> tuple[int, int]:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT first_bucket, last_bucket FROM usage_day d JOIN sessions s ON s.pk = d.session_pk "
                    "WHERE s.id = :id AND d.day = :day"
                ),
                {"id": s.id, "day": int(day.timestamp()) // 86400},
            ).one()
        return int(row[0]), int(row[1])

    def bucket(t: datetime) -> int:
        return int(t.timestamp()) // 900

    cases = [
        {"group": g, "tz": tz, "rng": RANGES[0]}
        for tz in ("UTC", "Europe/Berlin")
        for g in ("day", "session")
    ]
    assert edges() == (bucket(at[0]), bucket(at[-1]))
    await hub.delete_item(s.id, msgs[0].id)  # the first quarter hour of the day loses its only message
    assert edges() == (bucket(at[1]), bucket(at[-1]))
    levels_agree(hub)
    await hub.delete_item(s.id, msgs[-1].id)  # the last quarter hour keeps a message (23:45-00:00)
    assert edges() == (bucket(at[1]), bucket(at[-1]))
    await hub.delete_item(s.id, msgs[-2].id)  # ... and now loses it
    assert edges() == (bucket(at[1]), bucket(at[3]))
    levels_agree(hub)
    await _check_reports(hub, sessions, cases)

    # A checkpoint restore moves later messages to a branch session (an update of session_pk).
    cp = await hub.save_checkpoint(sessions[1].id, "cut")
    await hub.add_messages(
        sessions[1].id,
        [
            {
                "role": "user",
                "content": "y",
                "usage": {"input_tokens": 7},
                "created_at": day + timedelta(hours=23),
            }
        ],
    )
    restored = await hub.restore_checkpoint_detailed(cp.id)
    assert restored.branch is not None and restored.moved == 1
    sessions.append(restored.branch)
    levels_agree(hub)
    await hub.pop_message(sessions[2].id)
    await hub.clear_history(sessions[1].id)
    levels_agree(hub)
    await hub.delete_session(s.id)
    levels_agree(hub)
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM usage_day WHERE session_pk NOT IN (SELECT pk FROM sessions)")
        )
        assert left.scalar() == 0
    await _check_reports(hub, sessions, cases)


async def test_levels_exact_under_concurrent_appends_and_deletes(levels_hub: Hub) -> None:
    hub = levels_hub
    sessions = [await hub.create_session(agent="writer") for _ in range(4)]
    doomed = await hub.create_session(agent="writer")
    at = hub.clock.now()
    await hub.add_messages(
        doomed.id, [{"role": "user", "content": "d", "usage": {"input_tokens": 3}, "created_at": at}] * 5
    )

    async def writer(i: int) -> None:
        for j in range(12):
            s = sessions[(i + j) % len(sessions)]  # every writer in every session, same quarter hours
            await hub.add_message(
                s.id, "assistant", "r", usage={"input_tokens": i * 100 + j, "output_tokens": 1}
            )

    async def deleter() -> None:
        for _ in range(3):
            await hub.pop_message(doomed.id)
        await hub.delete_session(doomed.id)

    await asyncio.gather(*(writer(i) for i in range(6)), deleter())
    levels_agree(hub)
    report = await hub.usage("model")
    assert report.totals.messages == 6 * 12 and report.totals.sessions == 4
    assert report.totals.input_tokens == sum(i * 100 + j for i in range(6) for j in range(12))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_migration_fills_the_levels_and_goes_back_down(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0016 sums the existing rollup into both levels; its downgrade drops them and their triggers."""
    url = f"sqlite:///{tmp_path}/m.db" if backend == "sqlite" else request.getfixturevalue("pg_empty_url")
    async with sessionhub.open(url) as hub:
        hub = Hub(hub.store, hub.settings.replace(agents=AGENTS), clock=hub.clock)
        sessions = await _fill(hub, seed=4, sessions=3)
        engine = eng.create_sqlalchemy_engine(eng.parse_url(url), pool_size=1)
        try:
            with engine.begin() as conn:
                cfg = alembic_config(conn)
                command.downgrade(cfg, "0015_usage_rollup")
                names = set(sa.inspect(conn).get_table_names())
                assert "usage_rollup" in names and "usage_day" not in names
                # Written while the levels are gone: the upgrade sums it in from the rollup.
                conn.execute(sa.text("UPDATE messages SET input_tokens = input_tokens + 1"))
                command.upgrade(cfg, "head")
        finally:
            engine.dispose()
        levels_agree(hub)
        await _check_reports(
            hub, sessions, [{"group": g, "tz": "Asia/Kathmandu", "rng": RANGES[1]} for g in ("day", "agent")]
        )


async def test_sessions_per_day_exact_when_the_offset_jumps_inside_a_utc_day(levels_hub: Hub) -> None:
    """Offsets no zone has today (+12 h, then -18 h from 15:00 UTC) give one UTC day three local
    days out of order (d, d+1, d-1, d): the first and last quarter hours no longer tell which
    local days a session saw, so that UTC day must be read quarter hour by quarter hour."""
    hub = levels_hub
    day = int(BASE.timestamp()) // 86400 + 1
    segments = [(day * 96 - 96, 12 * 3600), (day * 96 + 60, -18 * 3600)]
    quarters = {"a": [55, 58, 65, 90], "b": [10, 70], "c": [30, 96 + 5]}  # from the UTC day's start
    for name, buckets in quarters.items():
        s = await hub.create_session(agent="writer", title=name)
        items = [
            {
                "role": "assistant",
                "content": "x",
                "usage": {"input_tokens": b},
                "created_at": datetime.fromtimestamp(day * 86400 + b * 900, UTC),
            }
            for b in buckets
        ]
        await hub.add_messages(s.id, items)

    def local(bucket: int) -> int:
        offset = segments[0][1] if bucket < segments[1][0] else segments[1][1]
        return (bucket * 900 + offset) // 86400

    want_sessions: dict[int, set[str]] = defaultdict(set)
    want_tokens: dict[int, int] = defaultdict(int)
    for name, buckets in quarters.items():
        for b in buckets:
            want_sessions[local(day * 96 + b)].add(name)
            want_tokens[local(day * 96 + b)] += b
    assert len({local(day * 96 + b) for b in quarters["a"]}) == 3  # the case the plan guards against
    sums = await hub.store.usage(
        UsageQuery(hub.owner, day * 96 - 96, day * 96 + 192, "day", segments)  # type: ignore[arg-type]
    )
    got = {int(g.key): (g.sessions, g.input_tokens) for g in sums.groups}
    assert got == {d: (len(want_sessions[d]), want_tokens[d]) for d in want_sessions}
    assert [(t.sessions, t.input_tokens) for t in sums.totals] == [(3, sum(want_tokens.values()))]


async def test_sessions_ranked_and_cut_by_the_store_like_the_report(levels_hub: Hub) -> None:
    """group_by=session with a limit: the store ranks (tokens, then messages, most first, then
    id) and keeps ``limit`` sessions; ties at the cut are broken by id as the report does, and
    the totals still count every session."""
    hub = levels_hub
    at = BASE + timedelta(hours=12)
    tokens = [500, 300, 300, 300, 100, 300]  # four sessions tie on tokens; two of them on messages too
    count = [1, 2, 1, 1, 1, 3]
    made = []
    for n, (t, c) in enumerate(zip(tokens, count, strict=True)):
        s = await hub.create_session(agent=AGENTS[n % 2].id)
        items = [{"role": "assistant", "content": "x", "usage": {"input_tokens": t}, "created_at": at}]
        items += [{"role": "user", "content": "y", "created_at": at}] * (c - 1)
        await hub.add_messages(s.id, items)
        made.append((s.id, t, c))
    order = [sid for sid, _, _ in sorted(made, key=lambda m: (-m[1], -m[2], m[0]))]
    for limit in (1, 3, 4, 6):
        report = await hub.usage("session", start="2026-03-27", end="2026-03-27", tz="UTC", limit=limit)
        assert [r.key for r in report.rows] == order[:limit], limit
        assert (report.totals.sessions, report.totals.messages, report.totals.input_tokens) == (
            6,
            sum(count),
            sum(tokens),
        )
