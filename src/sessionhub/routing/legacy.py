"""Keys of other assistants and where a migrated conversation lives (CONTRACT 11.2).

PicoClaw and OpenClaw name sessions with ``agent:`` keys (both document the same forms):

    agent:<agent>:main                                   every DM in one session (dmScope main)
    agent:<agent>:direct:<peer>   / :dm:<peer>            one per person (per-peer)
    agent:<agent>:<channel>:direct:<peer>                 one per person per channel
    agent:<agent>:<channel>:<account>:direct:<peer>       ... per account too
    agent:<agent>:<channel>:group:<id>[:topic:<t>]        a group (Telegram forum topics)
    agent:<agent>:<channel>:channel:<id>[:thread:<t>]     a channel or room (Slack/Discord threads)

``parse_legacy_key`` reads one into an :class:`Origin` (the routed fields it names) and
``origin_key`` turns an origin into the canonical key of CONTRACT §4 under the routing
policy configured *now*: the key the next inbound message from that chat will have. So a
legacy key, the origin an importer read from a file, and the live chat all meet on one key.

What cannot be known from an old key is left out rather than guessed: a group key names no
sender, so under a ``sender`` dimension the key keeps only the chat; PicoClaw lowercases its
keys, so Slack ids (always upper case on Slack) are upper-cased back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, cast

from .. import ids
from ..errors import InvalidInput
from ..model import CHANNELS
from .inbound import ChatType, InboundMessage
from .keys import Dimension, KeyParts, format_key, key_parts, parse_key
from .policy import RoutingPolicy, route

LEGACY_PREFIX = "agent:"
_DIRECT = ("direct", "dm")
_ROOMS = ("group", "channel")
_THREAD = ("topic", "thread")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a conversation took place, as far as its source says.

    ``kind`` ``main`` and ``peer`` are the whole-agent and per-person sessions; ``chat`` is
    a chat of ``channel`` (``sender`` None when the source does not name one: groups).
    """

    kind: Literal["chat", "main", "peer"] = "chat"
    agent: str | None = None
    channel: str | None = None
    account: str = "default"
    chat: str | None = None
    chat_type: ChatType = "direct"
    topic: str | None = None
    space: str | None = None
    sender: str | None = None
    peer: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The known fields (for ``metadata.origin`` of an imported session)."""
        out: dict[str, str] = {"chat_type": self.chat_type} if self.kind == "chat" else {"kind": self.kind}
        for name in ("channel", "account", "chat", "topic", "space", "sender", "peer"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def is_legacy_key(key: str) -> bool:
    return isinstance(key, str) and key.startswith(LEGACY_PREFIX)


def _id(channel: str | None, value: str) -> str:
    return value.upper() if channel == "slack" else value


def parse_legacy_key(key: str) -> Origin:
    """The origin an ``agent:`` key names; ``InvalidInput`` for anything else."""
    if not is_legacy_key(key):
        raise InvalidInput(f"not a PicoClaw/OpenClaw session key: {key!r}")
    tokens = key.split(":")[1:]
    if len(tokens) < 2 or not all(tokens[:2]):
        raise InvalidInput(f"malformed session key {key!r}")
    agent, rest = tokens[0], tokens[1:]
    if len(rest) == 1:  # agent:<a>:main (or a configured mainKey)
        return Origin(kind="main", agent=agent)
    if rest[0] in _DIRECT:
        peer = ":".join(rest[1:])
        if not peer:
            raise InvalidInput(f"malformed session key {key!r}: no peer")
        return Origin(kind="peer", agent=agent, peer=peer)
    kind_at = next((i for i, t in enumerate(rest) if i in (1, 2) and t in (*_DIRECT, *_ROOMS)), None)
    if kind_at is None:
        raise InvalidInput(f"malformed session key {key!r}: no direct/dm/group/channel part")
    channel = rest[0].lower()
    account = rest[1] if kind_at == 2 else "default"
    kind, tail = rest[kind_at], rest[kind_at + 1 :]
    topic = None
    if len(tail) >= 3 and tail[-2] in _THREAD:
        topic, tail = tail[-1], tail[:-2]
    ident = ":".join(tail)
    if not ident or not channel or not account or topic == "":
        raise InvalidInput(f"malformed session key {key!r}")
    ident = _id(channel, ident)
    if kind in _DIRECT:
        chat = f"dm:{ident}" if channel == "discord" else ident
        return Origin(agent=agent, channel=channel, account=account, chat=chat, sender=ident)
    return Origin(
        agent=agent,
        channel=channel,
        account=account,
        chat=ident,
        chat_type=cast(ChatType, kind),
        topic=None if topic is None else _id(channel, topic),
    )


def origin_key(policy: RoutingPolicy, origin: Origin, agents: Collection[str]) -> str | None:
    """The canonical key of ``origin`` under ``policy``; None when it names no routable chat
    (a channel sessionhub does not route, such as a CLI or the web chat).

    The agent is the origin's own when it is one of ``agents`` (the configured ones), else
    the one the dispatch rules pick for that chat, as for the next inbound message.
    """

    def agent_of(routed: str) -> str:
        return origin.agent if origin.agent is not None and origin.agent in agents else routed

    if origin.kind == "main":
        return format_key(KeyParts(agent_of(policy.default_agent), "main"))
    if origin.kind == "peer":
        peer = origin.peer or ""
        canonical = _canonical(policy, peer, origin.channel)
        agent = agent_of(policy.default_agent)
        if canonical is not None:
            return format_key(KeyParts(agent, "peer", peer=canonical))
        return format_key(KeyParts(agent, "peer", channel=origin.channel, peer=peer))
    if origin.channel not in CHANNELS or origin.channel == "web" or not origin.chat:
        return None
    msg = InboundMessage(
        channel=origin.channel,
        account=origin.account,
        chat=origin.chat,
        chat_type=origin.chat_type,
        topic=origin.topic,
        space=origin.space,
        sender=origin.sender or origin.chat,
        text="",
    )
    r = route(policy, msg)
    agent = agent_of(r.agent)
    uses_sender = r.scope in ("per-peer", "per-channel-peer") or "sender" in r.dimensions
    if origin.sender is None and uses_sender:
        dims: tuple[Dimension, ...] = tuple(d for d in r.dimensions if d != "sender") or ("chat",)
        return format_key(key_parts(agent, msg, dimensions=dims))
    linked = policy.identity(msg.channel, msg.sender)
    return format_key(key_parts(agent, msg, dimensions=r.dimensions or ("chat",), scope=r.scope, peer=linked))


def _canonical(policy: RoutingPolicy, peer: str, channel: str | None) -> str | None:
    """The canonical person ``peer`` is: a canonical name itself, or linked to one."""
    folded = peer.casefold()
    for name in policy.identity_links:
        if name.casefold() == folded:
            return name
    found = policy.identity(channel or "", peer)
    if found is None and channel is None:  # a per-peer key names no channel: any channel's id
        owners = {
            name
            for name, linked in policy.identity_links.items()
            for ident in linked
            if ident.casefold().rpartition(":")[2] == folded
        }
        found = owners.pop() if len(owners) == 1 else None
    return found


def canonical_key(policy: RoutingPolicy, key: str, agents: Collection[str]) -> str:
    """Any key sessionhub accepts, as the canonical key: ours are checked and kept, legacy
    ``agent:`` keys are mapped (``InvalidInput`` for a key that is neither)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("a session key must be a non-empty string")
    if is_legacy_key(key):
        found = origin_key(policy, parse_legacy_key(key), agents)
        if found is None:
            raise InvalidInput(f"session key {key!r} names no chat sessionhub routes")
        return found
    if not ids.is_valid(key, "ses"):  # a web session's key is its id
        parse_key(key)
    return key


__all__ = ["LEGACY_PREFIX", "Origin", "canonical_key", "is_legacy_key", "origin_key", "parse_legacy_key"]
