"""Context windows and compaction on the hub (``Hub`` inherits ``ContextOps``).

``get_context_history(session_id, max_tokens, strategy)`` builds the window inside one
store read transaction: the store hands the pure builder (``context.build_context``) a
lazy newest-first iterator, so a build reads O(window) rows. Token counts come from
``messages.token_count`` when the same counter made them, else are counted and saved.

Compaction never deletes: a summary record covers ``1..covers_until_seq``; the next one
folds the previous text and the newer messages into a new record. What a compaction
covers: everything older than the newest turns that fit in half the window (so the
summary plus those turns fit the window). It runs:

- under ``summarize`` when older history newer than the latest summary is left out;
- under ``smart`` and ``summarize`` when the agent's trigger is due
  (``summarize_message_threshold`` messages or ``summarize_token_percent`` of the window
  since the latest summary; a due trigger summarises only what does not fit in half the
  window, so a short session is left alone). The trigger is evaluated lazily, when a context is built,
  not on append: appends stay one transaction with no extra query, and a session nobody
  reads a context of is never summarised for nothing;
- on ``hub.compact(session_id)`` (the API call and ``/compact``), always.

Summaries are written by ``hub.summarizer(session, previous_text, messages)`` when the hub
has one (``Hub(store, summarizer=...)``, or the agent runtime's ``ModelSummarizer``, which
``AgentRuntime.bind`` gives the server's hub: the session agent's model writes it unless its
provider is ``echo``; ``as_user`` views share it), method ``"model"``; when it is None, raises
or returns nothing, the deterministic ``extractive_summary`` is used, method ``"extractive"``. Concurrent compactions: the store saves a record only if it was built
on the latest summary (checked under the session row lock), so two compactions never
produce overlapping records; the loser rebuilds on the winner or returns it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .. import ids
from ..context import (
    STRATEGIES,
    AgentContextSettings,
    ContextWindow,
    SummaryRecord,
    TokenCounter,
    build_context,
    extractive_summary,
    get_counter,
)
from ..errors import InvalidInput
from ..model import Message, SummaryMethod
from ..store.context_base import ContextSource, NewSummary
from ._core import HubCore

log = logging.getLogger(__name__)

COMPACT_READ_LIMIT = 2000
"""At most this many messages are read to write one summary (the newest of the range)."""
_COUNTERS: dict[tuple[str, str], TokenCounter] = {}


def counter_for(settings: AgentContextSettings) -> TokenCounter:
    """The (process-wide, cached) token counter an agent's settings ask for."""
    key = (settings.tokenizer, settings.encoding)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS[key] = get_counter(settings.tokenizer, settings.encoding)
    return counter


class _Replay:
    """Iterate a lazy iterator several times, reading each item from the source once."""

    def __init__(self, source: Iterator[Message]) -> None:
        self._source = source
        self._seen: list[Message] = []

    def __iter__(self) -> Iterator[Message]:
        i = 0
        while True:
            if i < len(self._seen):
                yield self._seen[i]
            else:
                item = next(self._source, None)
                if item is None:
                    return
                self._seen.append(item)
                yield item
            i += 1


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compaction to run: fold ``previous`` and messages ``from_seq..until_seq``."""

    from_seq: int
    until_seq: int
    previous: SummaryRecord | None
    window: int


@dataclass(frozen=True, slots=True)
class _Built:
    window: ContextWindow
    plan: _Plan | None
    last_seq: int
    agent: AgentContextSettings


class ContextOps(HubCore):
    """Context windows, summaries and compaction for ``Hub``."""

    # -- settings ---------------------------------------------------------------------------

    def context_settings(self, agent_id: str) -> AgentContextSettings:
        """The agent's context settings (defaults for an agent not in the config)."""
        agent = self.settings.agent(agent_id)
        return agent.context if agent is not None else AgentContextSettings()

    # -- building ---------------------------------------------------------------------------

    def _plan_in(
        self,
        source: ContextSource,
        newest: Iterable[Message],
        counter: TokenCounter,
        tokens: Callable[[Message], int],
        keep_tokens: int,
        force: bool,
    ) -> _Plan | None:
        """What a compaction now should cover: older than the newest turns fitting ``keep_tokens``."""
        covered = source.summary.covers_until_seq if source.summary else 0
        if source.last_seq <= covered:
            return None
        keep = build_context(
            newest,
            max_tokens=max(1, keep_tokens),
            strategy="recent",
            counter=counter,
            cached_tokens=tokens,
            first_seq=source.first_seq,
            last_seq=source.last_seq,
        )
        kept = [m.seq for m in keep.messages]
        until = (min(kept) - 1) if kept else source.last_seq
        if until <= covered and force:
            until = source.last_seq
        if until <= covered:
            return None
        return _Plan(from_seq=covered + 1, until_seq=until, previous=source.summary, window=2 * keep_tokens)

    def _consume(self, max_tokens: int, strategy: str, mode: str) -> Callable[[ContextSource], _Built]:
        """The build run inside the store's read transaction (``mode``: auto, force or none)."""

        def consume(source: ContextSource) -> _Built:
            agent = self.context_settings(source.session.agent)
            counter = counter_for(agent)
            tokens = source.token_counts(counter.name, counter.count_message)
            newest = _Replay(source.newest)
            window = build_context(
                newest,
                max_tokens=max_tokens,
                strategy=strategy,
                counter=counter,
                system=source.system,
                important=source.important,
                summary=source.summary,
                cached_tokens=tokens,
                first_seq=source.first_seq,
                last_seq=source.last_seq,
            )
            plan: _Plan | None = None
            if mode == "force":
                plan = self._plan_in(source, newest, counter, tokens, agent.max_tokens // 2, True)
            elif mode == "auto" and strategy != "recent":
                covered = source.summary.covers_until_seq if source.summary else 0
                since = [m for m in window.messages if m.seq > covered]
                tokens_since = sum(tokens(m) for m in since)
                if window.summary_request is not None:
                    tokens_since += max_tokens  # older uncovered history did not even fit
                due = agent.compaction_due(source.last_seq - covered, tokens_since)
                if due or (strategy == "summarize" and window.summary_request is not None):
                    plan = self._plan_in(source, newest, counter, tokens, max_tokens // 2, False)
            return _Built(window=window, plan=plan, last_seq=source.last_seq, agent=agent)

        return consume

    async def _build(self, session_id: str, max_tokens: int, strategy: str, mode: str) -> _Built:
        return await self.store.read_context(
            self.owner, session_id, self._consume(max_tokens, strategy, mode)
        )

    async def get_context_history(
        self, session_id: str, max_tokens: int = 100_000, strategy: str = "smart"
    ) -> ContextWindow:
        """The messages to send the model, newest turns that fit ``max_tokens`` (CONTRACT §9).

        ``strategy``: ``recent`` (newest whole turns), ``smart`` (system, important, the
        latest summary, then newest turns) or ``summarize`` (the latest summary of
        everything older plus the newest turns; creates or extends the summary when needed).
        """
        sid = self._session_id(session_id)
        if strategy not in STRATEGIES:
            raise InvalidInput(f"unknown strategy {strategy!r} (expected recent, smart or summarize)")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InvalidInput("max_tokens must be a positive integer")
        built = await self._build(sid, max_tokens, strategy, "auto")
        if built.plan is None:
            return built.window
        await self._run_plan(sid, built.plan, built.agent)
        return (await self._build(sid, max_tokens, strategy, "none")).window

    # -- compaction -------------------------------------------------------------------------

    async def compact(self, session_id: str) -> SummaryRecord:
        """Summarise everything older than the newest turns that fit half the agent's window.

        Never deletes a message. Returns the new record, or the latest one when nothing is
        newer than it. A session with no messages is ``InvalidInput``.
        """
        sid = self._session_id(session_id)
        for _ in range(5):
            built = await self._build(sid, 1, "recent", "force")
            if built.plan is None:
                latest = await self.store.latest_summary(self.owner, sid)
                if latest is None:
                    raise InvalidInput(f"session {sid} has no messages to compact")
                return latest
            record = await self._run_plan(sid, built.plan, built.agent)
            if record is not None and record.covers_until_seq >= built.plan.until_seq:
                return record
        raise InvalidInput(f"session {sid} is being compacted by others; try again")  # pragma: no cover

    async def summaries(self, session_id: str) -> list[SummaryRecord]:
        """Every summary record of the session, oldest first (older ones are kept, not deleted)."""
        return await self.store.list_summaries(self.owner, self._session_id(session_id))

    async def _write_text(
        self, sid: str, previous: str | None, messages: Sequence[Message], max_chars: int
    ) -> tuple[str, SummaryMethod]:
        hook = self.summarizer
        if hook is not None:
            try:
                session = await self.store.get_session(self.owner, sid)
                text = await hook(session, previous, messages)
                if isinstance(text, str) and text.strip():
                    return text.strip()[: max_chars * 2], "model"
            except Exception as exc:  # the provider failed: fall back, never lose the compaction
                log.warning("summarizer failed (%s); using the extractive summary", exc)
        return extractive_summary(previous, messages, max_chars), "extractive"

    async def _run_plan(self, sid: str, plan: _Plan, agent: AgentContextSettings) -> SummaryRecord | None:
        """Write and save the summary ``plan`` asks for; on a lost race, the winner (or None)."""
        msgs = await self.store.message_range(
            self.owner, sid, plan.from_seq, plan.until_seq, COMPACT_READ_LIMIT
        )
        if not msgs or msgs[-1].seq != plan.until_seq:
            return await self.store.latest_summary(self.owner, sid)
        previous = plan.previous.text if plan.previous else None
        skipped = plan.until_seq - plan.from_seq + 1 - len(msgs)
        if skipped > 0:
            note = f"[{skipped} older messages (#{plan.from_seq}-#{msgs[0].seq - 1}) not detailed]"
            previous = f"{previous}\n{note}" if previous else note
        # About a quarter of the window (~3 characters a token), at most summary_max_chars.
        max_chars = max(80, min(agent.summary_max_chars, plan.window * 3 // 4))
        text, method = await self._write_text(sid, previous, msgs, max_chars)
        new = NewSummary(
            id=ids.new_id("sum"),
            covers_until_seq=plan.until_seq,
            covers_until_id=msgs[-1].id,
            text=text,
            method=method,
            token_count=counter_for(agent).count(text),
        )
        expect = plan.previous.covers_until_seq if plan.previous else 0
        record, _saved = await self.store.save_summary(self.owner, sid, new, expect)
        return record


__all__ = ["COMPACT_READ_LIMIT", "ContextOps", "counter_for"]
