"""Session keys: one pure, versioned, injective function of the routed fields (CONTRACT §4).

A key is a ``:``-separated list of tokens, human-readable and showing the per-channel form:

    {agent}:main                                   scope "main": one session per agent
    {agent}:peer:{canonical}                       scope "per-peer", a linked identity
    {agent}:peer:{channel}:{sender}                scope "per-peer", an unlinked sender
    {agent}:{channel}:{account}[:space:{space}][:{chat form}][:topic:{topic}][:sender:{sender}]

Chat forms: Telegram ``{chat_id}`` / ``{chat_id}:topic:{topic_id}``; Slack
``{channel_id}`` / ``{channel_id}:{thread_ts}``; Discord ``{channel_id}`` / ``dm:{user_id}``;
WhatsApp and Signal ``{phone}``; Matrix ``{room_id}``; Teams ``{conversation_id}``; Google
Chat ``{space_name}``. For example ``main:telegram:default:123456789:topic:42``.

Injectivity. Every value is escaped: ``%`` → ``%25`` and ``:`` → ``%3A`` (so a token never
contains ``:``), and a value that equals a label word where that label could stand (``main``
or ``peer`` as the channel; ``space``, ``dm``, ``topic``, ``sender`` after the account) has
its first letter percent-encoded (``topic`` → ``%74opic``), so labels only ever appear as
labels. Agents and accounts never need that (no label can stand in their place).
``parse_key`` reads any key back into its ``KeyParts`` and checks that formatting them
gives the same text; it is a left inverse of ``format_key``, which proves that distinct
parts never share a key (the property test checks it).

Versions. ``KEY_VERSION`` is 1 and v1 keys carry no marker. A later incompatible format
will start with ``%v{n}:``; no v1 key can start so, since v1 only writes ``%`` followed by
two hex digits. So keys of different versions never collide either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from ..errors import InvalidInput
from .inbound import InboundMessage

KEY_VERSION = 1

Dimension: TypeAlias = Literal["space", "chat", "topic", "sender"]
DIMENSIONS: tuple[Dimension, ...] = ("space", "chat", "topic", "sender")
Scope: TypeAlias = Literal["main", "per-peer", "per-channel-peer"]
SCOPES: tuple[str, ...] = ("main", "per-peer", "per-channel-peer")

#: Channels whose threads are separate sessions whenever the chat is a dimension.
THREADED_CHANNELS: frozenset[str] = frozenset({"telegram", "slack"})

_KIND_LABELS = frozenset({"main", "peer"})
_LABELS = frozenset({"space", "topic", "sender", "dm"})
_NONE: frozenset[str] = frozenset()
_ESCAPE = re.compile(r"[%:]")
_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def escape(value: str, labels: frozenset[str] = _NONE) -> str:
    """One key token for ``value``: readable, never containing ``:``, never one of ``labels``."""
    token = _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", value)
    if token in labels:
        token = f"%{ord(token[0]):02X}{token[1:]}"
    return token


def unescape(token: str, labels: frozenset[str] = _NONE) -> str:
    """Inverse of ``escape``; refuses tokens ``escape`` never writes."""
    value = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), token)
    if not value or escape(value, labels) != token:
        raise InvalidInput(f"malformed session key token {token!r}")
    return value


@dataclass(frozen=True, slots=True)
class KeyParts:
    """What a key is made of: the routed fields actually selected (``None`` = not in the key)."""

    agent: str
    kind: Literal["main", "peer", "chat"] = "chat"
    channel: str | None = None
    account: str | None = None
    space: str | None = None
    chat: str | None = None
    topic: str | None = None
    sender: str | None = None
    peer: str | None = None

    def __post_init__(self) -> None:
        for name in ("agent", "channel", "account", "space", "chat", "topic", "sender", "peer"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidInput(f"session key part {name!r} must be a non-empty string")
        chat_fields = (self.account, self.space, self.chat, self.topic, self.sender)
        if self.kind == "main" and (self.channel or self.peer or any(chat_fields)):
            raise InvalidInput("a 'main' key has only an agent")
        if self.kind == "peer" and (self.peer is None or any(chat_fields)):
            raise InvalidInput("a 'peer' key has an agent, a peer and at most a channel")
        if self.kind == "chat" and (self.channel is None or self.account is None or self.peer is not None):
            raise InvalidInput("a chat key needs a channel and an account and no peer")


def format_key(parts: KeyParts) -> str:
    """The key text of ``parts`` (see the module docstring for the grammar)."""
    tokens = [escape(parts.agent)]
    if parts.kind == "main":
        tokens.append("main")
    elif parts.kind == "peer":
        tokens.append("peer")
        if parts.channel is not None:
            tokens.append(escape(parts.channel))
        tokens.append(escape(parts.peer or ""))
    else:
        tokens += [escape(parts.channel or "", _KIND_LABELS), escape(parts.account or "")]
        if parts.space is not None:
            tokens += ["space", escape(parts.space, _LABELS)]
        topic_done = False
        if parts.chat is not None:
            if parts.channel == "discord" and parts.chat.startswith("dm:") and len(parts.chat) > 3:
                tokens += ["dm", escape(parts.chat[3:], _LABELS)]
            else:
                tokens.append(escape(parts.chat, _LABELS))
            if parts.channel == "slack" and parts.topic is not None:
                tokens.append(escape(parts.topic, _LABELS))
                topic_done = True
        if parts.topic is not None and not topic_done:
            tokens += ["topic", escape(parts.topic, _LABELS)]
        if parts.sender is not None:
            tokens += ["sender", escape(parts.sender, _LABELS)]
    return ":".join(tokens)


def parse_key(key: str) -> KeyParts:
    """Read a key back into its parts; ``InvalidInput`` if ``format_key`` could not have made it."""
    tokens = key.split(":")
    if len(tokens) < 2:
        raise InvalidInput(f"malformed session key {key!r}")
    agent = unescape(tokens[0])
    if tokens[1] == "main":
        parts = KeyParts(agent, "main") if len(tokens) == 2 else None
    elif tokens[1] == "peer":
        if len(tokens) == 3:
            parts = KeyParts(agent, "peer", peer=unescape(tokens[2]))
        elif len(tokens) == 4:
            parts = KeyParts(agent, "peer", channel=unescape(tokens[2]), peer=unescape(tokens[3]))
        else:
            parts = None
    elif len(tokens) >= 3:
        parts = _parse_chat_key(agent, unescape(tokens[1], _KIND_LABELS), unescape(tokens[2]), tokens[3:])
    else:
        parts = None
    if parts is None or format_key(parts) != key:
        raise InvalidInput(f"malformed session key {key!r}")
    return parts


def _parse_chat_key(agent: str, channel: str, account: str, rest: list[str]) -> KeyParts | None:
    fields: dict[str, str] = {}
    i = 0

    def take() -> str:
        nonlocal i
        if i + 1 >= len(rest):
            raise InvalidInput("malformed session key: a label without a value")
        value = unescape(rest[i + 1], _LABELS)
        i += 2
        return value

    if i < len(rest) and rest[i] == "space":
        fields["space"] = take()
    if i < len(rest) and rest[i] == "dm":
        fields["chat"] = "dm:" + take()
    elif i < len(rest) and rest[i] not in _LABELS:
        fields["chat"] = unescape(rest[i], _LABELS)
        i += 1
        if channel == "slack" and i < len(rest) and rest[i] not in _LABELS:
            fields["topic"] = unescape(rest[i], _LABELS)
            i += 1
    if i < len(rest) and rest[i] == "topic" and "topic" not in fields:
        fields["topic"] = take()
    if i < len(rest) and rest[i] == "sender":
        fields["sender"] = take()
    if i != len(rest):
        return None
    return KeyParts(agent, "chat", channel=channel, account=account, **fields)


def key_parts(
    agent: str,
    msg: InboundMessage,
    *,
    dimensions: Iterable[Dimension] = ("chat",),
    scope: Scope | None = None,
    peer: str | None = None,
) -> KeyParts:
    """The parts of ``msg``'s key under a scope (which wins) or dimensions.

    ``peer`` is the sender's canonical identity (from the identity links): it names the
    person under ``per-peer`` and stands for the sender under the ``sender`` dimension and
    ``per-channel-peer`` (CONTRACT 11.3); without one the sender is known only on its
    channel (``peer:{channel}:{sender}``) or by its raw id.
    Telegram topics and Slack threads are part of the chat whenever ``chat`` is a dimension.
    """
    if scope == "main":
        return KeyParts(agent, "main")
    if scope == "per-peer":
        if peer is not None:
            return KeyParts(agent, "peer", peer=peer)
        return KeyParts(agent, "peer", channel=msg.channel, peer=msg.sender)
    if scope == "per-channel-peer":
        dimensions = ("chat", "sender")
    elif scope is not None:
        raise InvalidInput(f"unknown session scope {scope!r} (expected main, per-peer, per-channel-peer)")
    dims = set(dimensions)
    unknown = dims - set(DIMENSIONS)
    if unknown:
        raise InvalidInput(f"unknown session dimension {sorted(unknown)[0]!r}")
    with_topic = "topic" in dims or ("chat" in dims and msg.channel in THREADED_CHANNELS)
    return KeyParts(
        agent,
        "chat",
        channel=msg.channel,
        account=msg.account,
        space=msg.space if "space" in dims else None,
        chat=msg.chat if "chat" in dims else None,
        topic=msg.topic if with_topic else None,
        sender=(peer or msg.sender) if "sender" in dims else None,
    )


def session_key(
    agent: str,
    msg: InboundMessage,
    *,
    dimensions: Iterable[Dimension] = ("chat",),
    scope: Scope | None = None,
    peer: str | None = None,
) -> str:
    """The session key of ``msg`` for ``agent`` (``format_key(key_parts(...))``)."""
    return format_key(key_parts(agent, msg, dimensions=dimensions, scope=scope, peer=peer))


__all__ = [
    "DIMENSIONS",
    "KEY_VERSION",
    "SCOPES",
    "THREADED_CHANNELS",
    "Dimension",
    "KeyParts",
    "Scope",
    "escape",
    "format_key",
    "key_parts",
    "parse_key",
    "session_key",
    "unescape",
]
