"""Property tests: seq assignment under arbitrary batches, and the title rules."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionhub.testing import open_memory
from sessionhub.text import ELLIPSIS, auto_title, collapse


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=12))
def test_seq_is_one_to_n_for_any_batches(batches: list[int]) -> None:
    """Whatever the batch sizes, seqs are exactly 1..N in order and message_count is N."""

    async def run() -> None:
        async with open_memory() as hub:
            s = await hub.create_session()
            for size in batches:
                if size == 1:
                    await hub.add_message(s.id, "user", "x")
                else:
                    await hub.add_messages(s.id, [{"role": "assistant", "content": "y"}] * size)
            msgs = await hub.get_history(s.id, limit=1000)
            assert [m.seq for m in msgs] == list(range(1, sum(batches) + 1))
            assert (await hub.get_session(s.id)).message_count == sum(batches)

    asyncio.run(run())


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=300), st.integers(min_value=10, max_value=120))
def test_auto_title_rules(text: str, max_chars: int) -> None:
    """Titles collapse whitespace, never exceed the limit (plus "…"), and are a prefix cut at a word end."""
    title = auto_title(text, max_chars)
    flat = collapse(text)
    if len(flat) <= max_chars:
        assert title == flat
    else:
        assert title.endswith(ELLIPSIS)
        body = title[: -len(ELLIPSIS)]
        assert len(body) <= max_chars
        assert flat.startswith(body)
        if " " in flat[: max_chars + 1].strip():
            # cut at a word boundary: the next character in the original is a space
            assert flat[len(body)] == " " or body == flat[:max_chars].rstrip()
    assert "  " not in title and "\n" not in title
