"""Helpers shared by the behaviour tests."""

from __future__ import annotations

from sessionhub.hub import Hub


async def filled(hub: Hub, n: int, prefix: str = "m") -> str:
    """A session with n messages alternating user/assistant, contents prefix1..prefixN."""
    s = await hub.create_session()
    if n:
        await hub.add_messages(
            s.id,
            [
                {"role": "user" if i % 2 == 0 else "assistant", "content": f"{prefix}{i + 1}",
                 "usage": {"input_tokens": i, "output_tokens": 1}}
                for i in range(n)
            ],
        )  # fmt: skip
    return s.id
