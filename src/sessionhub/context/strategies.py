"""Build the context window a model is sent, by a short list of plain steps applied in order.

Like structlog's processors, a strategy is a tuple of small functions, each taking the
``Draft`` so far and returning it: *choose* (system, important, newest turns), *summarise*
(use the latest summary; ask for a new one) and *trim* (cut a message that alone is larger
than the room left, with a visible marker)::

    recent    = (choose_turns,)
    smart     = (keep_system, keep_important, use_summary, choose_turns)
    summarize = (keep_system, use_summary, choose_turns, request_summary)

Rules every strategy keeps: the total never exceeds ``max_tokens`` (counted per message with
the ``TokenCounter``, the summary message included); a tool call and the tool results
answering it go together or not at all; the output is in chronological order (the summary
message sits where the messages it covers were); the newest messages are read newest-first
from an iterator and reading stops as soon as the budget is full, so a build reads
O(window) messages, never the whole history. Turns start at a user message; older turns
are taken whole or not at all, and only the newest turn may be cut (to its newest blocks,
the oldest kept one truncated) when it alone is larger than the room.

``dropped`` counts the history seqs ``first_seq..last_seq`` that are neither in the window
nor covered by the summary in use (seqs are dense, CONTRACT §2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..errors import InvalidInput
from ..model import Message, SummaryRecord, ToolCall, ToolResult
from .cache import TokenCache
from .tokens import MESSAGE_OVERHEAD, TokenCounter
from .truncate import truncate_message

StrategyName = Literal["recent", "smart", "summarize"]
STRATEGIES: Final = ("recent", "smart", "summarize")
SUMMARY_HEADER: Final = "Summary of the earlier conversation (messages up to #{seq}):\n"


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """The caller should write a new summary covering ``from_seq..until_seq`` (folding in ``previous``)."""

    from_seq: int
    until_seq: int
    previous: SummaryRecord | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_seq": self.from_seq,
            "until_seq": self.until_seq,
            "previous_id": self.previous.id if self.previous else None,
        }


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """The messages to send (chronological), their tokens, the summary used, how many were left out."""

    messages: tuple[Message, ...]
    token_count: int
    strategy: str
    summary: SummaryRecord | None
    dropped: int
    summary_request: SummaryRequest | None = None
    truncated: int = 0
    read: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "token_count": self.token_count,
            "strategy": self.strategy,
            "summary": self.summary.to_dict() if self.summary else None,
            "dropped": self.dropped,
        }


def summary_message(summary: SummaryRecord) -> Message:
    """The system message that carries a summary into the window (``seq`` 0, marked in metadata;
    its ``created_at`` is the summary's)."""
    return Message(
        id=summary.id,
        session_id=summary.session_id,
        seq=0,
        role="system",
        content=SUMMARY_HEADER.format(seq=summary.covers_until_seq) + summary.text,
        metadata={"summary": True, "covers_until_seq": summary.covers_until_seq, "method": summary.method},
        created_at=summary.created_at,
    )


def is_important(message: Message) -> bool:
    """Whether the message is marked ``metadata.important``."""
    return bool(message.metadata.get("important"))


class _Reader:
    """Pulls the newest messages one at a time, counting reads and stopping at the summary boundary."""

    def __init__(self, newest: Iterator[Message]) -> None:
        self._it = newest
        self.read = 0
        self.newest_seq: int | None = None
        self.done = False
        self.boundary: int | None = None

    def next(self) -> Message | None:
        if self.done:
            return None
        message = next(self._it, None)
        if message is None:
            self.done = True
            return None
        self.read += 1
        if self.newest_seq is None:
            self.newest_seq = message.seq
        if self.boundary is not None and message.seq <= self.boundary:
            self.done = True
            return None
        return message


@dataclass(eq=False)
class Draft:
    """The window being built; each step reads and extends it."""

    max_tokens: int
    counter: TokenCounter
    tokens: Callable[[Message], int]
    system: tuple[Message, ...]
    important: tuple[Message, ...]
    summary_record: SummaryRecord | None
    reader: _Reader
    first_seq: int
    last_seq: int | None
    strategy: str
    chosen: dict[str, tuple[Message, int]] = field(default_factory=dict)
    used: int = 0
    summary: SummaryRecord | None = None
    truncated: int = 0
    turns_from_seq: int | None = None
    request: SummaryRequest | None = None

    @property
    def room(self) -> int:
        return self.max_tokens - self.used

    def cost(self, message: Message) -> int:
        """Tokens the message would add (0 if already chosen)."""
        return 0 if message.id in self.chosen else self.tokens(message)

    def add(self, message: Message, cost: int | None = None) -> None:
        if message.id in self.chosen:
            return
        cost = self.tokens(message) if cost is None else cost
        self.chosen[message.id] = (message, cost)
        self.used += cost

    def add_cut(self, message: Message, room: int) -> bool:
        """Add the message cut down to ``room`` tokens; False if even a cut form does not fit."""
        cut = truncate_message(message, room, self.counter)
        if cut is None:
            return False
        self.add(cut, self.counter.count_message(cut))
        self.truncated += cut is not message
        return True


Step = Callable[[Draft], Draft]


def _call_ids(message: Message) -> set[str]:
    return {p.id for p in message.parts if isinstance(p, ToolCall)}


def _result_ids(message: Message) -> set[str]:
    return {p.tool_call_id for p in message.parts if isinstance(p, ToolResult)}


def pair_units(messages: Iterable[Message]) -> list[list[Message]]:
    """Group messages (chronological) into units where every tool result is with its call.

    A unit whose tool call or tool result has no partner in ``messages`` is left out.
    """
    ordered = sorted(messages, key=lambda m: m.seq)
    unit_of_call: dict[str, int] = {}
    units: list[list[Message]] = []
    broken: set[int] = set()
    for message in ordered:
        refs = _result_ids(message)
        owners = {unit_of_call[r] for r in refs if r in unit_of_call}
        if refs and (len(owners) != 1 or not refs <= unit_of_call.keys()):
            broken |= owners | {len(units)}
            units.append([message])
            index = len(units) - 1
        elif owners:
            index = owners.pop()
            units[index].append(message)
        else:
            units.append([message])
            index = len(units) - 1
        for call in _call_ids(message):
            unit_of_call[call] = index
    answered = {r for m in ordered for r in _result_ids(m)}
    broken |= {index for call, index in unit_of_call.items() if call not in answered}
    return [unit for i, unit in enumerate(units) if i not in broken]


def keep_system(draft: Draft) -> Draft:
    """Choose the system messages, oldest first; one that does not fit is cut to the room left."""
    for message in draft.system:
        cost = draft.cost(message)
        if cost <= draft.room:
            draft.add(message, cost)
        elif draft.room > 0:
            draft.add_cut(message, draft.room)
    return draft


def keep_important(draft: Draft) -> Draft:
    """Choose the important messages, newest unit first, whole pair units only, while they fit."""
    for unit in reversed(pair_units(draft.important)):
        cost = sum(draft.cost(m) for m in unit)
        if cost <= draft.room:
            for message in unit:
                draft.add(message)
    return draft


def use_summary(draft: Draft) -> Draft:
    """Use the latest summary when it fits (cut to the room if needed); older messages are then not read."""
    record = draft.summary_record
    if record is None:
        return draft
    message = summary_message(record)
    cost = draft.counter.count_message(message)
    if cost <= draft.room:
        draft.add(message, cost)
    elif draft.room <= 0 or not draft.add_cut(message, draft.room):
        return draft
    draft.summary = record
    draft.reader.boundary = record.covers_until_seq
    return draft


def _next_block(draft: Draft, limit: int | None) -> tuple[list[Message], bool] | None:
    """The next atomic block (newest first read, returned chronological) and whether it is complete.

    A block is a message, or an assistant tool call with the tool results answering it. A block
    still waiting for its call is read no further than ``limit`` tokens (it cannot fit anyway).
    """
    read: list[Message] = []
    pending: set[str] = set()
    cost = 0
    while True:
        message = draft.reader.next()
        if message is None:
            return (read[::-1], False) if read else None
        read.append(message)
        pending |= _result_ids(message)
        pending -= _call_ids(message)
        if not pending:
            return read[::-1], True
        cost += draft.cost(message)
        if limit is not None and cost > limit:
            return read[::-1], False


def _commit(draft: Draft, blocks: Sequence[list[Message]]) -> None:
    for block in blocks:
        for message in block:
            draft.add(message)
            if draft.turns_from_seq is None or message.seq < draft.turns_from_seq:
                draft.turns_from_seq = message.seq


def _fit_block(draft: Draft, block: list[Message]) -> bool:
    """Add a block larger than the room by cutting its largest message; False if impossible."""
    costs = [draft.cost(m) for m in block]
    largest = max(range(len(block)), key=lambda i: costs[i])
    room_for_largest = draft.room - (sum(costs) - costs[largest])
    if room_for_largest <= 0:
        return False
    cut = truncate_message(block[largest], room_for_largest, draft.counter)
    if cut is None:
        return False
    for i, message in enumerate(block):
        if i == largest:
            draft.add(cut, draft.counter.count_message(cut))
            draft.truncated += 1
        else:
            draft.add(message, costs[i])
        if draft.turns_from_seq is None or message.seq < draft.turns_from_seq:
            draft.turns_from_seq = message.seq
    return True


def _read_newest_turn(draft: Draft) -> tuple[list[list[Message]], bool]:
    """The blocks of the newest turn (newest first) and whether the turn was read whole.

    Reading stops early when the turn has more messages than could fit even cut down.
    """
    blocks: list[list[Message]] = []
    n = 0
    while True:
        got = _next_block(draft, None)
        if got is None:
            return blocks, True
        block, complete = got
        if not complete:
            return blocks, True
        blocks.append(block)
        n += len(block)
        if block[0].role == "user":
            return blocks, True
        if n * MESSAGE_OVERHEAD > draft.room:
            return blocks, False


def _fit_turn(draft: Draft, blocks: Sequence[list[Message]]) -> bool:
    """Add a whole turn larger than the room by cutting its largest messages; False if impossible."""
    messages = [m for block in reversed(blocks) for m in block]
    costs = {m.id: draft.cost(m) for m in messages}
    over = sum(costs.values()) - draft.room
    cut: dict[str, Message] = {}
    for message in sorted(messages, key=lambda m: costs[m.id], reverse=True):
        if over <= 0:
            break
        smaller = truncate_message(message, max(1, costs[message.id] - over), draft.counter)
        if smaller is None or smaller is message:
            continue
        new_cost = draft.counter.count_message(smaller)
        over -= costs[message.id] - new_cost
        costs[message.id] = new_cost
        cut[message.id] = smaller
    if over > 0:
        return False
    for message in messages:
        draft.add(cut.get(message.id, message), costs[message.id])
        draft.truncated += message.id in cut
        if draft.turns_from_seq is None or message.seq < draft.turns_from_seq:
            draft.turns_from_seq = message.seq
    return True


def choose_turns(draft: Draft) -> Draft:
    """Choose the newest turns that fit, reading newest-first and stopping when the budget is full.

    The newest turn is taken whole if it fits, else whole with its largest messages cut, else
    its newest blocks that fit (the first one cut if it alone is too big). Older turns are
    taken whole or not at all.
    """
    blocks, whole = _read_newest_turn(draft)
    cost = sum(draft.cost(m) for block in blocks for m in block)
    if blocks and cost <= draft.room:
        _commit(draft, blocks)
    elif blocks:
        if not (whole and _fit_turn(draft, blocks)):
            for block in blocks:
                if sum(draft.cost(m) for m in block) <= draft.room:
                    _commit(draft, [block])
                elif draft.turns_from_seq is not None or not _fit_block(draft, block):
                    break
        return draft
    if not whole:
        return draft
    while True:
        turn: list[list[Message]] = []
        cost = 0
        while True:
            got = _next_block(draft, draft.room - cost)
            if got is None:
                if turn and cost <= draft.room:
                    _commit(draft, turn)
                return draft
            block, complete = got
            cost += sum(draft.cost(m) for m in block)
            if not complete or cost > draft.room:
                return draft
            turn.append(block)
            if block[0].role == "user":
                break
        _commit(draft, turn)


def request_summary(draft: Draft) -> Draft:
    """Ask for a new summary when history newer than the summary in use is left out of the window."""
    start = draft.summary.covers_until_seq + 1 if draft.summary else draft.first_seq
    newest = draft.reader.newest_seq
    if newest is None:
        return draft
    until = (draft.turns_from_seq - 1) if draft.turns_from_seq is not None else newest
    if until >= start:
        draft.request = SummaryRequest(from_seq=start, until_seq=until, previous=draft.summary)
    return draft


PIPELINES: Final[dict[str, tuple[Step, ...]]] = {
    "recent": (choose_turns,),
    "smart": (keep_system, keep_important, use_summary, choose_turns),
    "summarize": (keep_system, use_summary, choose_turns, request_summary),
}


def _dropped(draft: Draft) -> int:
    seqs = [draft.reader.newest_seq or 0, *(m.seq for m in draft.system), *(m.seq for m in draft.important)]
    last = draft.last_seq if draft.last_seq is not None else max(seqs)
    if last < draft.first_seq:
        return 0
    covered_until = min(last, draft.summary.covers_until_seq) if draft.summary else draft.first_seq - 1
    summary_id = draft.summary.id if draft.summary else None
    kept = {
        m.seq
        for m, _ in draft.chosen.values()
        if draft.first_seq <= m.seq <= last and m.id != summary_id and m.seq > covered_until
    }
    total = last - draft.first_seq + 1
    covered = max(0, covered_until - draft.first_seq + 1)
    return max(0, total - covered - len(kept))


def build_context(
    newest: Iterable[Message],
    *,
    max_tokens: int,
    strategy: str = "smart",
    counter: TokenCounter,
    system: Sequence[Message] = (),
    important: Sequence[Message] = (),
    summary: SummaryRecord | None = None,
    cached_tokens: Callable[[Message], int] | None = None,
    first_seq: int = 1,
    last_seq: int | None = None,
    steps: Sequence[Step] | None = None,
) -> ContextWindow:
    """Build the context window from the newest messages (newest first, read lazily).

    ``system`` and ``important`` are the session's system and important messages (the caller
    reads them by index); ``summary`` is the latest summary record; ``cached_tokens`` gives a
    message's token count (default: a fresh ``TokenCache``, which also honours counts saved in
    ``metadata["_tokens"]``); ``first_seq``/``last_seq`` bound the history for ``dropped``;
    ``steps`` replaces the strategy's pipeline.
    """
    if strategy not in PIPELINES:
        raise InvalidInput(f"unknown strategy {strategy!r} (expected recent, smart or summarize)")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidInput("max_tokens must be a positive integer")
    draft = Draft(
        max_tokens=max_tokens,
        counter=counter,
        tokens=cached_tokens or TokenCache(counter),
        system=tuple(system),
        important=tuple(important),
        summary_record=summary,
        reader=_Reader(iter(newest)),
        first_seq=first_seq,
        last_seq=last_seq,
        strategy=strategy,
    )
    for step in steps if steps is not None else PIPELINES[strategy]:
        draft = step(draft)
    summary_id = draft.summary.id if draft.summary else None
    ordered = sorted(
        (m for m, _ in draft.chosen.values()),
        key=lambda m: (m.metadata["covers_until_seq"] + 0.5) if m.id == summary_id else m.seq,
    )
    return ContextWindow(
        messages=tuple(ordered),
        token_count=draft.used,
        strategy=strategy,
        summary=draft.summary,
        dropped=_dropped(draft),
        summary_request=draft.request,
        truncated=draft.truncated,
        read=draft.reader.read,
    )
