"""Usage reports (CONTRACT 11.7) on every backend: sums checked against the messages themselves,
across time zones, DST and day boundaries, with unpriced models and another user's data present,
and the rollup kept exact by deletes, moves and concurrent appends."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sessionhub.config import AgentSettings
from sessionhub.errors import InvalidInput
from sessionhub.hub import Hub
from sessionhub.model import Message, Session
from sessionhub.usage import Price

from .test_usage_levels import levels_agree

AGENTS = (
    AgentSettings(id="main", provider="echo", model="echo"),
    AgentSettings(id="writer", provider="openai", model="gpt-big"),
    AgentSettings(id="coder", provider="openai", model="gpt-small"),
)
PRICING = {
    "gpt-big": Price(input_per_million=2.5, output_per_million=10),
    "gpt-small": Price(input_per_million=0.15, output_per_million=0.6),
}
START = datetime(2026, 3, 25, tzinfo=UTC)  # spans Europe's DST change (2026-03-29)


@pytest.fixture
def usage_hub(hub: Hub) -> Hub:
    settings = hub.settings.replace(agents=AGENTS, pricing=PRICING)
    return Hub(hub.store, settings, clock=hub.clock)


async def _fill(hub: Hub, seed: int, sessions: int = 6, per: int = 12) -> list[tuple[Session, list[Message]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(sessions):
        agent = AGENTS[i % len(AGENTS)].id
        s = await hub.create_session(agent=agent, title=f"s{i}")
        items = []
        for _ in range(per):
            # Times cluster near midnights and quarter hours to probe the day boundaries.
            at = START + timedelta(
                days=rnd.randrange(8), hours=rnd.choice([0, 3, 18, 22, 23]), minutes=rnd.randrange(60)
            )
            items.append(
                {
                    "role": rnd.choice(["user", "assistant"]),
                    "content": "x",
                    "usage": {"input_tokens": rnd.randrange(0, 5000), "output_tokens": rnd.randrange(0, 900)},
                    "created_at": at,
                }
            )
        msgs = await hub.add_messages(s.id, items)
        out.append((s, msgs))
    return out


def _expected_days(
    data: list[tuple[Session, list[Message]]], tz: str
) -> dict[str, tuple[int, int, int, int]]:
    zone = ZoneInfo(tz)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    sessions: dict[str, set[str]] = defaultdict(set)
    for s, msgs in data:
        for m in msgs:
            day = m.created_at.astimezone(zone).date().isoformat()
            sums[day][0] += 1
            sums[day][1] += m.usage.input_tokens
            sums[day][2] += m.usage.output_tokens
            sessions[day].add(s.id)
    return {d: (len(sessions[d]), *v) for d, v in sums.items()}  # type: ignore[misc]


ZONES = ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]


async def test_days_match_the_messages_in_any_zone(usage_hub: Hub) -> None:
    data = await _fill(usage_hub, seed=7)
    # Another user's usage is never counted.
    other = usage_hub.as_user("mallory")
    o = await other.create_session(agent="writer")
    await other.add_messages(
        o.id,
        [
            {
                "role": "assistant",
                "content": "x",
                "usage": {"input_tokens": 10**6},
                "created_at": START + timedelta(days=1),
            }
        ],
    )

    for tz in ZONES:
        report = await usage_hub.usage("day", start="2026-03-20", end="2026-04-05", tz=tz)
        got = {
            r.key: (r.sessions, r.messages, r.input_tokens, r.output_tokens)
            for r in report.rows
            if r.messages
        }
        assert got == _expected_days(data, tz), tz
        days = [r.key for r in report.rows]
        assert days[0] == "2026-03-20" and days[-1] == "2026-04-05" and len(days) == 17  # empty days too
    all_msgs = [m for _, msgs in data for m in msgs]
    assert report.totals.messages == len(all_msgs)
    assert report.totals.input_tokens == sum(m.usage.input_tokens for m in all_msgs)
    assert report.totals.sessions == len(data)  # each session once, however many days it spans


async def test_groups_costs_and_filters(usage_hub: Hub) -> None:
    data = await _fill(usage_hub, seed=3)
    report = await usage_hub.usage("model", start="2026-03-01", end="2026-04-30")
    by_model = {r.key: r for r in report.rows}
    assert set(by_model) == {"echo", "gpt-big", "gpt-small"}
    for model, price in PRICING.items():
        msgs = [m for s, ms in data if s.model == model for m in ms]
        inp = sum(m.usage.input_tokens for m in msgs)
        out = sum(m.usage.output_tokens for m in msgs)
        assert (by_model[model].input_tokens, by_model[model].output_tokens) == (inp, out)
        expected = (
            inp * Decimal(str(price.input_per_million)) + out * Decimal(str(price.output_per_million))
        ) / 1_000_000
        assert by_model[model].cost == pytest.approx(float(expected), abs=1e-8)
    # echo has tokens in this data and no price: its row and every row mixing it are unknown.
    assert by_model["echo"].cost is None
    assert report.totals.cost is None
    assert [r.key for r in report.rows] == sorted(
        by_model, key=lambda k: -(by_model[k].input_tokens + by_model[k].output_tokens)
    )

    priced = await usage_hub.usage("agent", start="2026-03-01", end="2026-04-30", agent="writer")
    assert [r.key for r in priced.rows] == ["writer"]
    assert priced.totals.cost == pytest.approx(by_model["gpt-big"].cost)

    sessions = await usage_hub.usage("session", start="2026-03-01", end="2026-04-30", limit=2)
    assert len(sessions.rows) == 2 and all(r.title and r.title.startswith("s") for r in sessions.rows)
    assert sessions.totals.sessions == len(data)

    channels = await usage_hub.usage("channel", start="2026-03-01", end="2026-04-30", channel="web")
    assert [r.key for r in channels.rows] == ["web"] and channels.rows[0].messages == report.totals.messages
    assert (
        await usage_hub.usage("channel", start="2026-03-01", end="2026-04-30", channel="slack")
    ).rows == ()


async def test_rollup_follows_deletes_clears_and_restores(usage_hub: Hub) -> None:
    data = await _fill(usage_hub, seed=11, sessions=3)

    async def totals() -> tuple[int, int, int]:
        t = (await usage_hub.usage("day", start="2026-03-01", end="2026-04-30")).totals
        return t.messages, t.input_tokens, t.output_tokens

    def expected() -> tuple[int, int, int]:
        msgs = [m for _, ms in live for m in ms]
        return len(msgs), sum(m.usage.input_tokens for m in msgs), sum(m.usage.output_tokens for m in msgs)

    live = [(s, list(ms)) for s, ms in data]
    assert await totals() == expected()
    s0, msgs0 = live[0]
    popped = await usage_hub.pop_message(s0.id)
    assert popped is not None and popped.id == msgs0[-1].id
    msgs0.pop()
    assert await totals() == expected()
    # A checkpoint restore moves later messages to a branch session: nothing is lost or doubled.
    cp = await usage_hub.save_checkpoint(s0.id, "half")
    await usage_hub.add_messages(
        s0.id, [{"role": "user", "content": "y", "usage": {"input_tokens": 7}, "created_at": START}]
    )
    await usage_hub.restore_checkpoint(cp.id)
    report = await usage_hub.usage("session", start="2026-03-01", end="2026-04-30")
    assert report.totals.input_tokens == expected()[1] + 7
    await usage_hub.clear_history(live[1][0].id)
    live[1] = (live[1][0], [])
    await usage_hub.delete_session(live[2][0].id)
    live[2] = (live[2][0], [])
    t = await totals()
    assert (t[0], t[1] - 7) == (expected()[0] + 1, expected()[1])
    levels_agree(usage_hub)  # the day and quarter-hour levels too


async def test_rollup_is_exact_under_concurrent_appends(usage_hub: Hub) -> None:
    sessions = [await usage_hub.create_session(agent="writer") for _ in range(4)]

    async def writer(i: int) -> int:
        total = 0
        for j in range(15):
            n = i * 100 + j
            s = sessions[(i + j) % len(sessions)]
            await usage_hub.add_message(s.id, "assistant", "r", usage={"input_tokens": n, "output_tokens": 1})
            total += n
        return total

    sent = sum(await asyncio.gather(*(writer(i) for i in range(8))))
    report = await usage_hub.usage("session")  # the last 30 days, by the hub's clock
    assert report.totals.input_tokens == sent
    assert report.totals.messages == report.totals.output_tokens == 8 * 15
    assert sum(r.input_tokens for r in report.rows) == sent
    levels_agree(usage_hub)  # the day and quarter-hour levels followed every append


async def test_bad_input_is_refused(usage_hub: Hub) -> None:
    cases = [
        ({"group_by": "week"}, "group_by"),
        ({"start": "2026-13-01"}, "from"),
        ({"start": "2026-03-01T10:07"}, "quarter hour"),
        ({"start": "2026-04-01", "end": "2026-03-01"}, "before"),
        ({"start": "2000-01-01", "end": "2026-01-01"}, "longer"),
        ({"tz": "Mars/Olympus"}, "timezone"),
    ]
    for kwargs, words in cases:
        with pytest.raises(InvalidInput, match=words):
            await usage_hub.usage(**kwargs)  # type: ignore[arg-type]
