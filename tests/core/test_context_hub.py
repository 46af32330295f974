"""Context windows through the hub on every backend: strategies, compaction, bounded reads, CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessionhub
from sessionhub.config import AgentSettings, Settings
from sessionhub.context import ContextWindow
from sessionhub.errors import ConfigError, InvalidInput
from sessionhub.hub import Hub
from sessionhub.model import Message, Session, ToolCall, ToolResult

WORDS = ["alpha", "beta", "session", "token", "window", "数据", "привет", "x=1;", '{"k": 2}', "the"]
PROPS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def words(n: int, seed: int = 0) -> str:
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(n))


# A turn: (user words, important?, steps); a step is ("text", words) or ("tools", k, words).
step = st.one_of(
    st.tuples(st.just("text"), st.integers(1, 60)),
    st.tuples(st.just("tools"), st.integers(1, 3), st.integers(1, 40)),
)
turns = st.lists(
    st.tuples(st.integers(1, 50), st.booleans(), st.lists(step, max_size=3)), min_size=1, max_size=10
)


async def fill(hub: Hub, session: Session, spec: Sequence[Any], system: bool = True) -> None:
    """Append a generated conversation (system prompt, text, tool rounds, important marks)."""
    items: list[dict[str, Any]] = []
    if system:
        items.append({"role": "system", "content": "You are terse. " + words(6)})
    for i, (user_words, important, steps) in enumerate(spec):
        items.append(
            {
                "role": "user",
                "content": words(user_words, i),
                "metadata": {"important": True} if important else {},
            }
        )
        for j, s in enumerate(steps):
            if s[0] == "text":
                items.append({"role": "assistant", "content": words(s[1], i + j)})
            else:
                calls = [
                    {"type": "tool_call", "id": f"c{i}_{j}_{k}", "name": "search", "arguments": {"q": str(k)}}
                    for k in range(s[1])
                ]
                items.append({"role": "assistant", "content": "", "parts": calls})
                for call in calls:
                    result = {"type": "tool_result", "tool_call_id": call["id"], "content": words(s[2], j)}
                    items.append({"role": "tool", "content": words(s[2], j), "parts": [result]})
    await hub.add_messages(session.id, items)


def check_window(window: ContextWindow, max_tokens: int, last_seq: int) -> None:
    """The rules every window keeps: budget, order, pairs, and accounting for every seq."""
    assert window.token_count <= max_tokens
    real = [m for m in window.messages if not m.metadata.get("summary")]
    seqs = [m.seq for m in real]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    calls = {p.id for m in real for p in m.parts if isinstance(p, ToolCall)}
    results = {p.tool_call_id for m in real for p in m.parts if isinstance(p, ToolResult)}
    assert calls == results, "a tool call/result pair was split"
    covered = window.summary.covers_until_seq if window.summary else 0
    newer = [s for s in seqs if s > covered]
    assert covered + len(newer) + window.dropped == last_seq, "a message is neither kept, covered nor dropped"
    if window.summary:
        at = [i for i, m in enumerate(window.messages) if m.metadata.get("summary")]
        assert len(at) == 1
        assert all(m.seq <= covered for m in window.messages[: at[0]])


@pytest.mark.parametrize("strategy", ["recent", "smart", "summarize"])
async def test_strategies_on_generated_conversations(hub: Hub, strategy: str) -> None:
    """Each strategy: budget never exceeded, order kept, pairs never split, every seq accounted for."""

    @PROPS
    @given(spec=turns, max_tokens=st.integers(40, 1500))
    def prop(spec: list[Any], max_tokens: int) -> None:
        async def run() -> None:
            if True:  # the store runs in its own threads: usable from this event loop too
                s = await hub.create_session()
                await fill(hub, s, spec)
                n = (await hub.get_session(s.id)).message_count
                window = await hub.get_context_history(s.id, max_tokens=max_tokens, strategy=strategy)
                check_window(window, max_tokens, n)
                assert window.strategy == strategy
                assert set(window.to_dict()) == {"messages", "token_count", "strategy", "summary", "dropped"}
                if strategy == "recent":
                    assert window.summary is None

        asyncio.run(run())

    await asyncio.to_thread(prop)


async def test_smart_keeps_system_and_important(hub: Hub) -> None:
    """Under smart, system and important messages far back in history stay in the window."""
    s = await hub.create_session()
    await hub.add_message(s.id, "system", "You are a pirate.")
    await hub.add_message(s.id, "user", "My name is Ada.", metadata={"important": True})
    for i in range(200):
        await hub.add_message(s.id, "user" if i % 2 == 0 else "assistant", words(20, i))
    window = await hub.get_context_history(s.id, max_tokens=400, strategy="smart")
    contents = [m.content for m in window.messages]
    assert "You are a pirate." in contents and "My name is Ada." in contents
    assert window.token_count <= 400
    recent = await hub.get_context_history(s.id, max_tokens=400, strategy="recent")
    assert "You are a pirate." not in [m.content for m in recent.messages]


async def test_bad_arguments(hub: Hub) -> None:
    """Unknown strategy or max_tokens < 1 is InvalidInput; an unknown session is NotFound."""
    s = await hub.create_session()
    with pytest.raises(InvalidInput):
        await hub.get_context_history(s.id, strategy="everything")
    for bad in (0, -5, True):
        with pytest.raises(InvalidInput):
            await hub.get_context_history(s.id, max_tokens=bad)
    with pytest.raises(sessionhub.NotFound):
        await hub.get_context_history("ses_nope", max_tokens=100)
    with pytest.raises(InvalidInput):
        await hub.compact(s.id)
    empty = await hub.get_context_history(s.id, max_tokens=100)
    assert empty.messages == () and empty.dropped == 0


async def test_repeated_compactions_never_lose_a_message(hub: Hub) -> None:
    """Compact, append, compact again: every seq stays readable and is kept, covered or dropped."""
    s = await hub.create_session()
    covers: list[int] = []
    for round_ in range(4):
        await fill(hub, s, [(10 + k, k == 2, [("text", 15), ("tools", 1, 5)]) for k in range(8)], round_ == 0)
        record = await hub.compact(s.id)
        assert record.method == "extractive" and record.text
        covers.append(record.covers_until_seq)
        n = (await hub.get_session(s.id)).message_count
        for strategy in ("smart", "summarize", "recent"):
            check_window(await hub.get_context_history(s.id, max_tokens=300, strategy=strategy), 300, n)
    assert covers == sorted(covers) and len(set(covers)) == len(covers)
    assert [r.covers_until_seq for r in await hub.summaries(s.id)] == covers  # older records kept
    history = await hub.get_history(s.id, limit=1000)
    assert [m.seq for m in history] == list(range(1, n + 1))  # nothing deleted


async def test_summarize_creates_and_extends_the_summary(hub: Hub) -> None:
    """summarize writes a summary when history is left out, and folds the previous one next time."""
    s = await hub.create_session()
    await fill(hub, s, [(30, False, [("text", 30)]) for _ in range(30)], system=False)
    first = await hub.get_context_history(s.id, max_tokens=600, strategy="summarize")
    assert first.summary is not None and first.summary.covers_until_seq > 0
    assert first.messages[0].metadata.get("summary")
    await fill(hub, s, [(30, False, [("text", 30)]) for _ in range(30)], system=False)
    second = await hub.get_context_history(s.id, max_tokens=600, strategy="summarize")
    assert second.summary is not None
    assert second.summary.covers_until_seq > first.summary.covers_until_seq
    assert "Earlier:" in second.summary.text  # the previous summary is folded in
    check_window(second, 600, (await hub.get_session(s.id)).message_count)


async def test_summarizer_hook_and_fallback(hub: Hub) -> None:
    """A summarizer hook writes "model" summaries; when it raises, the extractive one is used."""
    s = await hub.create_session()
    await fill(hub, s, [(10, False, [("text", 10)]) for _ in range(6)], system=False)
    seen: list[int] = []

    async def llm(session: Session, previous: str | None, messages: Sequence[Message]) -> str:
        assert session.id == s.id
        seen.append(len(messages))
        return f"LLM summary of {len(messages)} messages"

    hub.summarizer = llm
    record = await hub.compact(s.id)
    assert record.method == "model" and record.text.startswith("LLM summary") and seen
    assert hub.as_user("default").summarizer is llm

    async def broken(session: Session, previous: str | None, messages: Sequence[Message]) -> str:
        raise RuntimeError("provider down")

    hub.summarizer = broken
    await fill(hub, s, [(10, False, [("text", 10)]) for _ in range(3)], system=False)
    record = await hub.compact(s.id)
    assert record.method == "extractive"
    hub.summarizer = None


async def test_concurrent_compactions_do_not_overlap(hub: Hub) -> None:
    """Many compactions of one session at once: each record builds on the one before, none twice."""
    s = await hub.create_session()
    await fill(hub, s, [(20, False, [("text", 20)]) for _ in range(40)], system=False)
    results = await asyncio.gather(*(hub.compact(s.id) for _ in range(8)))
    records = await hub.summaries(s.id)
    assert len(records) == 1
    assert {r.id for r in results} == {records[0].id}
    await fill(hub, s, [(20, False, [("text", 20)]) for _ in range(10)], system=False)
    await asyncio.gather(*(hub.compact(s.id) for _ in range(6)))
    covers = [r.covers_until_seq for r in await hub.summaries(s.id)]
    assert len(covers) == 2 and covers[0] < covers[1]


async def test_automatic_trigger_by_message_count(backend_url: str, encryption_key: str | None) -> None:
    """With summarize_message_threshold=20, a smart context build compacts once 20 messages wait."""
    agent = AgentSettings(id="main", context={"summarize_message_threshold": 20, "max_tokens": 2000})
    async with sessionhub.open(
        backend_url, settings=Settings(agents=(agent,)), encryption_key=encryption_key
    ) as hub:
        s = await hub.create_session()
        await fill(hub, s, [(40, False, [("text", 40)]) for _ in range(5)], system=False)
        await hub.get_context_history(s.id, max_tokens=2000, strategy="smart")
        assert await hub.summaries(s.id) == []
        # Due (30 messages): what does not fit half the window is summarised.
        await fill(hub, s, [(40, False, [("text", 40)]) for _ in range(10)], system=False)
        window = await hub.get_context_history(s.id, max_tokens=2000, strategy="smart")
        assert window.summary is not None
        check_window(window, 2000, 30)


async def test_wrong_context_setting_fails_at_open(backend_url: str) -> None:
    """A bad [agents.context] value stops opening with an error naming it."""
    with pytest.raises(ConfigError, match=r"agents\[0\]\.context\.strategy"):
        settings = Settings(agents=({"id": "main", "context": {"strategy": "everything"}},))
        async with sessionhub.open(backend_url, settings=settings):
            pass


async def test_read_is_bounded_and_counts_are_cached(hub: Hub) -> None:
    """An 8k-token context of a 3,000-message session reads O(window) rows; counts are then cached."""
    s = await hub.create_session()
    for _ in range(6):
        await hub.add_messages(
            s.id,
            [{"role": "user" if i % 2 == 0 else "assistant", "content": words(12, i)} for i in range(500)],
        )
    before = hub.store.rows_fetched()
    window = await hub.get_context_history(s.id, max_tokens=2000, strategy="recent")
    fetched = hub.store.rows_fetched() - before
    assert 0 < len(window.messages) <= fetched <= len(window.messages) + 2 * 256 + 10
    assert fetched < 600
    again = await hub.get_context_history(s.id, max_tokens=2000, strategy="recent")
    assert [m.id for m in again.messages] == [m.id for m in window.messages]
    assert again.token_count == window.token_count
    seqs = {m.seq for m in window.messages}

    def stored() -> int:
        from sqlalchemy import func, select

        from sessionhub.store.schema import messages

        with hub.store._read() as conn:  # type: ignore[attr-defined]
            query = select(func.count()).where(messages.c.token_count.isnot(None))
            return int(conn.execute(query).scalar_one())

    assert await hub.store._run(stored) >= len(seqs)  # type: ignore[attr-defined]


async def test_forks_read_their_base_history(hub: Hub) -> None:
    """A fork's context reaches into the history it shares with its source."""
    s = await hub.create_session()
    await fill(hub, s, [(5, False, [("text", 5)]) for _ in range(10)])
    fork = await hub.fork(s.id, at_seq=11)
    await hub.add_message(fork.id, "user", "only in the fork")
    window = await hub.get_context_history(fork.id, max_tokens=100_000, strategy="recent")
    assert [m.seq for m in window.messages] == list(range(1, 13))
    assert window.messages[-1].content == "only in the fork"
    check_window(await hub.get_context_history(fork.id, max_tokens=120, strategy="smart"), 120, 12)


async def test_clear_makes_old_summaries_stale(hub: Hub) -> None:
    """After clearing the history, an old summary is not used for the new messages."""
    s = await hub.create_session()
    await fill(hub, s, [(5, False, [("text", 5)]) for _ in range(10)])
    await hub.compact(s.id)
    await hub.clear_history(s.id)
    await fill(hub, s, [(5, False, [("text", 5)]) for _ in range(10)])
    window = await hub.get_context_history(s.id, max_tokens=100_000, strategy="smart")
    assert window.summary is None
    record = await hub.compact(s.id)
    assert record.covers_until_seq > 0


def test_cli_show_context(tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """`sessionhub sessions show ID --context N` prints the window; --json gives the §6 object."""
    db = f"sqlite:///{tmp_path}/cli.db"

    async def seed() -> str:
        async with sessionhub.open(db) as hub:
            s = await hub.create_session()
            await hub.add_message(s.id, "system", "Be brief.")
            for i in range(60):
                await hub.add_message(s.id, "user" if i % 2 == 0 else "assistant", words(25, i) + f" #{i}")
            return s.id

    sid = asyncio.run(seed())

    def run(*args: str) -> str:
        proc = cli("sessions", "show", sid, *args, "--database", db)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    text = run("--context", "300")
    assert "#59" in text and "#0 " not in text and "dropped" in text
    data = json.loads(run("--context", "300", "--strategy", "recent", "--json"))
    assert set(data) == {"messages", "token_count", "strategy", "summary", "dropped"}
    assert data["strategy"] == "recent" and data["token_count"] <= 300 and data["dropped"] > 0
    proc = cli("sessions", "show", sid, "--context", "300", "--strategy", "bogus", "--database", db)
    assert proc.returncode != 0


async def test_summarizer_is_a_dependency_of_the_hub(hub: Hub) -> None:
    """``Hub(store, summarizer=...)``: that hub and its ``as_user`` views use it; another hub on
    the same store does not (the summarizer is not kept on the store)."""
    s = await hub.create_session()
    await fill(hub, s, [(10, False, [("text", 10)]) for _ in range(6)], system=False)

    async def llm(session: Session, previous: str | None, messages: Sequence[Message]) -> str:
        return f"LLM summary of {len(messages)} messages"

    with_llm = Hub(hub.store, hub.settings, clock=hub.clock, summarizer=llm)
    assert with_llm.as_user("default").summarizer is llm and hub.summarizer is None
    assert (await with_llm.compact(s.id)).method == "model"
    await fill(hub, s, [(10, False, [("text", 10)]) for _ in range(3)], system=False)
    assert (await hub.compact(s.id)).method == "extractive"


async def test_smart_keeps_important_messages_of_an_imported_session(hub: Hub) -> None:
    """An imported session keeps its important messages in the smart window, as the original does."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "My name is Ada.", metadata={"important": True})
    for i in range(200):
        await hub.add_message(s.id, "user" if i % 2 == 0 else "assistant", words(20, i))
    imported = await hub.import_session(await hub.export(s.id, format="json"))
    for sid in (s.id, imported.id):
        window = await hub.get_context_history(sid, max_tokens=400, strategy="smart")
        assert "My name is Ada." in [m.content for m in window.messages], sid
