"""One function per figure of DESIGN.md's performance table.

Each figure loads (or reuses) its datasets, measures every store that can do the work side by
side in this process, and returns a ``report.Figure`` with tables and verdicts. A store that
cannot do the work is shown as "—" with the reason; a call that fails is shown as
"n/a (error: …)" and the run goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import statistics
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .datagen import ChatMessage, search_queries, session_messages
from .datasets import DatasetSpec, Loaded, ensure
from .measure import Samples, Unsupported, fmt_bytes, fmt_ratio, fmt_seconds, sample
from .peers import PEERS, Peer, RawSQLitePeer, SessionhubPeer
from .report import BASELINE, Figure, Outcome, Table, Verdict, ratio_of, time_table


@dataclass(frozen=True)
class Sizes:
    """Dataset sizes and sampling limits of one run size."""

    appends: int
    append_history: int
    history: tuple[int, ...]  # message counts of the sessions of the history dataset
    small: int  # the "10k" session
    big: int  # the "1M" session
    context_session: int
    list_small: int
    list_big: int
    search_sessions: int
    search_per_session: int
    pg_history: tuple[int, ...]
    pg_search_sessions: int
    concurrent_sessions: int
    concurrent_appends: int
    reps: int
    budget_s: float
    scan_budget_s: float


FULL = Sizes(
    appends=2000,
    append_history=1000,
    history=(10_000, 100_000, 1_000_000),
    small=10_000,
    big=1_000_000,
    context_session=100_000,
    list_small=1_000,
    list_big=100_000,
    search_sessions=10_000,
    search_per_session=100,
    pg_history=(10_000, 1_000_000),
    pg_search_sessions=1_000,  # PostgreSQL is loaded afresh every run: 100k messages keep it to ~1 minute
    concurrent_sessions=16,
    concurrent_appends=200,
    reps=300,
    budget_s=10.0,
    scan_budget_s=30.0,
)

QUICK = Sizes(
    appends=500,
    append_history=1000,
    history=(10_000, 100_000),
    small=10_000,
    big=100_000,
    context_session=100_000,
    list_small=1_000,
    list_big=10_000,
    search_sessions=1_000,
    search_per_session=100,
    pg_history=(10_000, 100_000),
    pg_search_sessions=1_000,
    concurrent_sessions=16,
    concurrent_appends=50,
    reps=100,
    budget_s=3.0,
    scan_budget_s=8.0,
)


@dataclass
class Context:
    """What every figure needs: sizes, settings, where data lives, how to log."""

    quick: bool
    sizes: Sizes
    synchronous: str
    pg_url: str
    data_dir: Path
    log: Callable[[str], None]
    facts: dict[str, str] = field(default_factory=dict)
    text_cache: dict[str, list[list[ChatMessage]]] = field(default_factory=dict)

    def peer(self, key: str, root: Path, synchronous: str | None = None) -> Peer:
        return PEERS[key](root, synchronous or self.synchronous)

    async def load(self, spec: DatasetSpec, key: str) -> Loaded:
        return await ensure(
            spec, key, lambda root: self.peer(key, root), self.log, self.text_cache, self.data_dir
        )


def _short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "…"


async def attempt(fn: Callable[[], Awaitable[Samples]], log: Callable[[str], None]) -> Outcome:
    """Run one measurement; a refusal becomes "— (why)", a failure "n/a (error: …)"."""
    try:
        return await fn()
    except Unsupported as exc:
        return f"— ({exc})"
    except Exception as exc:
        log("".join(traceback.format_exception(exc)).rstrip())
        return f"n/a (error: {_short_error(exc)})"


def label(key: str) -> str:
    return PEERS[key].label


def _n(count: int) -> str:
    """10000 -> "10k", 1000000 -> "1M"."""
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count >= 1_000 and count % 1_000 == 0:
        return f"{count // 1_000}k"
    return f"{count:,}"


def _supports(key: str, op: str) -> str | None:
    """None if peer ``key`` implements ``op``, else the reason it cannot."""
    reason = PEERS[key].unsupported.get(op)
    return None if reason is None else f"— ({reason})"


def _quick_note(ctx: Context, design: str) -> str:
    return f" (quick size; DESIGN.md: {design})" if ctx.quick else ""


# --------------------------------------------------------------------------- appends


APPEND_BATCH = 10
"""Appends per store per round: the stores take turns, so disk noise hits them all alike."""


async def _interleaved_appends(
    ctx: Context, tmp: Path, sync: str, history: list[ChatMessage], fresh: list[ChatMessage]
) -> dict[str, Outcome]:
    """Time single appends for every store, taking turns in batches of ``APPEND_BATCH``."""
    s = ctx.sizes
    outcomes: dict[str, Outcome] = {}
    ready: dict[str, tuple[Peer, str, Iterator[ChatMessage]]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for key in PEERS:
            peer = ctx.peer(key, tmp / key, sync)
            try:
                await stack.enter_async_context(peer)
                sid = await peer.new_session()
                await peer.bulk_load(sid, history)
                messages = iter(fresh)
                for m in itertools.islice(messages, 5):  # warm-up
                    await peer.append(sid, m["role"], m["content"])
            except Exception as exc:
                ctx.log(traceback.format_exc())
                outcomes[label(key)] = f"n/a (error: {_short_error(exc)})"
                continue
            ready[key] = (peer, sid, messages)
            outcomes[label(key)] = Samples()
        keys = list(ready)
        for round_no in range(s.appends // APPEND_BATCH):
            shift = round_no % max(1, len(keys))
            for key in keys[shift:] + keys[:shift]:
                out = outcomes[label(key)]
                if not isinstance(out, Samples):
                    continue
                peer, sid, messages = ready[key]
                try:
                    for m in itertools.islice(messages, APPEND_BATCH):
                        t0 = time.perf_counter()
                        await peer.append(sid, m["role"], m["content"])
                        out.times.append(time.perf_counter() - t0)
                except Exception as exc:
                    ctx.log(traceback.format_exc())
                    outcomes[label(key)] = f"n/a (error: {_short_error(exc)})"
    return outcomes


async def fig_appends(ctx: Context) -> Figure:
    """Durable single appends, one message per call, into a session that already holds history."""
    s = ctx.sizes
    fig = Figure("appends", "Durable single appends (SQLite)")
    history = list(session_messages("appends-history", 0, s.append_history))
    fresh = list(session_messages("appends", 0, s.appends + 10))
    settings: dict[str, str] = {}
    tables: dict[str, dict[str, Outcome]] = {}
    for sync in dict.fromkeys([ctx.synchronous, "NORMAL"]):
        tmp = ctx.data_dir / "tmp" / f"appends-{sync}"
        shutil.rmtree(tmp, ignore_errors=True)
        ctx.log(f"appends: synchronous={sync}, {len(PEERS)} stores interleaved")
        outcomes = await _interleaved_appends(ctx, tmp, sync, history, fresh)
        settings.update(
            {f"{label(key)} @ {sync}": ctx.peer(key, tmp / key, sync).settings() for key in PEERS}
        )
        shutil.rmtree(tmp, ignore_errors=True)
        tables[sync] = outcomes
        default = " (sessionhub's default)" if sync == "NORMAL" else ""
        fig.tables.append(
            time_table(
                f"synchronous={sync}{default}: {s.appends:,} appends, one per call, into a session "
                f"already holding {s.append_history:,} messages",
                outcomes,
                throughput=True,
            )
        )
    main = tables[ctx.synchronous]
    agents, raw = ratio_of(main, label("openai_agents")), ratio_of(main, label("raw_sqlite"))
    fig.verdicts.append(
        Verdict(
            f"≥ 1.5× OpenAI Agents SQLiteSession (synchronous={ctx.synchronous})",
            None if agents is None else agents >= 1.5,
            "n/a" if agents is None else f"sessionhub is {fmt_ratio(agents)} SQLiteSession's speed",
        )
    )
    fig.verdicts.append(
        Verdict(
            f"≥ 0.6× raw sqlite3, one insert per transaction (synchronous={ctx.synchronous})",
            None if raw is None else raw >= 0.6,
            "n/a" if raw is None else f"sessionhub is {fmt_ratio(raw)} raw sqlite3's speed",
        )
    )
    fig.notes.append(
        "each append is one call of the store's own API and one transaction; every store starts "
        f"from a fresh directory with a {s.append_history:,}-message session loaded by its setup path; "
        f"the stores take turns, {APPEND_BATCH} appends each, so disk noise falls on all of them alike"
    )
    fig.notes += [f"{who}: {what}" for who, what in settings.items()]
    return fig


# --------------------------------------------------------------------------- latest N


def history_spec(ctx: Context) -> DatasetSpec:
    return DatasetSpec("history", ctx.sizes.history)


async def fig_latest(ctx: Context) -> Figure:
    """Latest 50 messages of a small and of a huge session."""
    s = ctx.sizes
    spec = history_spec(ctx)
    fig = Figure("latest", "Latest 50 messages of one session")
    by_size: dict[int, dict[str, Outcome]] = {n: {} for n in s.history}
    for key in PEERS:
        try:
            loaded = await ctx.load(spec, key)
        except Exception as exc:
            ctx.log(traceback.format_exc())
            for n in s.history:
                by_size[n][label(key)] = f"n/a (setup error: {_short_error(exc)})"
            continue
        peer = ctx.peer(key, Path(loaded.root))
        async with peer:
            for n, sid in zip(s.history, loaded.session_ids, strict=True):

                async def run(sid: str = sid, peer: Peer = peer) -> Samples:
                    return await sample(lambda: peer.latest(sid, 50), reps=s.reps, budget_s=s.budget_s)

                ctx.log(f"latest: {key} of {n:,}")
                by_size[n][label(key)] = await attempt(run, ctx.log)
    for n in s.history:
        fig.tables.append(time_table(f"latest 50 of a {n:,}-message session", by_size[n]))
    growth_rows = []
    for key in PEERS:
        a, b = by_size[s.small].get(label(key)), by_size[s.big].get(label(key))
        if isinstance(a, Samples) and isinstance(b, Samples):
            growth_rows.append(
                [label(key), fmt_seconds(a.median), fmt_seconds(b.median), fmt_ratio(b.median / a.median)]
            )
        else:
            growth_rows.append([label(key), "—", "—", "—"])
    fig.tables.append(
        Table(
            f"growth: median at {_n(s.big)} ÷ median at {_n(s.small)}",
            ["store", _n(s.small), _n(s.big), "ratio"],
            growth_rows,
        )
    )
    agents = label("openai_agents")
    for n in (s.small, s.big):
        r = ratio_of(by_size[n], agents)
        fig.verdicts.append(
            Verdict(
                f"median at {_n(n)} not above SQLiteSession's"
                + (_quick_note(ctx, "1M") if n == s.big else ""),
                None if r is None else r >= 1.0,
                "n/a" if r is None else f"SQLiteSession ÷ sessionhub = {fmt_ratio(r)}",
            )
        )
    a, b = by_size[s.small].get(BASELINE), by_size[s.big].get(BASELINE)
    growth = b.median / a.median if isinstance(a, Samples) and isinstance(b, Samples) else None
    fig.verdicts.append(
        Verdict(
            f"{_n(s.big)}/{_n(s.small)} ratio ≤ 1.3" + _quick_note(ctx, "1M/10k"),
            None if growth is None else growth <= 1.3,
            "n/a" if growth is None else fmt_ratio(growth),
        )
    )
    fig.notes.append(
        "each store returns the 50 newest messages oldest first, as its users get them "
        "(LangChain's `messages` reads the whole history; the JSON store parses the whole file)"
    )
    return fig


# --------------------------------------------------------------------------- list


async def fig_list(ctx: Context) -> Figure:
    """First page (50) of the active session list with few and with many sessions."""
    s = ctx.sizes
    fig = Figure("list", "First page of the session list")
    by_size: dict[int, dict[str, Outcome]] = {}
    notes: dict[str, str] = {label("openai_agents"): "no list API: direct SQL on its table, no index"}
    for n in (s.list_small, s.list_big):
        spec = DatasetSpec("list", (2,) * n)
        outcomes: dict[str, Outcome] = {}
        for key in PEERS:
            reason = _supports(key, "list_first_page")
            if reason:
                outcomes[label(key)] = reason
                continue

            async def run(key: str = key, spec: DatasetSpec = spec) -> Samples:
                loaded = await ctx.load(spec, key)
                async with ctx.peer(key, Path(loaded.root)) as peer:
                    page = await peer.list_first_page(50)
                    if len(page) != 50:
                        raise RuntimeError(f"first page has {len(page)} sessions, expected 50")
                    return await sample(lambda: peer.list_first_page(50), reps=s.reps, budget_s=s.budget_s)

            ctx.log(f"list: {key} with {n:,} sessions")
            outcomes[label(key)] = await attempt(run, ctx.log)
        by_size[n] = outcomes
        fig.tables.append(
            time_table(
                f"first page (50) of the active list, {n:,} sessions of 2 messages", outcomes, notes=notes
            )
        )
    big, small = by_size[s.list_big].get(BASELINE), by_size[s.list_small].get(BASELINE)
    fig.verdicts.append(
        Verdict(
            f"≤ 5 ms median at {_n(s.list_big)} sessions" + _quick_note(ctx, "100k"),
            None if not isinstance(big, Samples) else big.median <= 0.005,
            "n/a" if not isinstance(big, Samples) else fmt_seconds(big.median),
        )
    )
    growth = big.median / small.median if isinstance(big, Samples) and isinstance(small, Samples) else None
    fig.verdicts.append(
        Verdict(
            f"{_n(s.list_big)}/{_n(s.list_small)} ratio ≤ 1.5" + _quick_note(ctx, "100k/1k"),
            None if growth is None else growth <= 1.5,
            "n/a" if growth is None else fmt_ratio(growth),
        )
    )
    fig.notes.append(
        "sessionhub: `list_sessions(view='active', limit=50)`; "
        "raw sqlite3: indexed `ORDER BY last_message_at DESC LIMIT 50`; "
        "JSON store: scan the directory, stat every file, open the 50 newest"
    )
    return fig


# --------------------------------------------------------------------------- search


async def fig_search(ctx: Context) -> Figure:
    """Two-word full-text search against a substring scan."""
    s = ctx.sizes
    spec = DatasetSpec("search", (s.search_per_session,) * s.search_sessions)
    total = spec.messages
    fig = Figure("search", f"Two-word search over {total:,} messages in {s.search_sessions:,} sessions")
    queries = search_queries(50)
    outcomes: dict[str, Outcome] = {}
    notes: dict[str, str] = {
        label("raw_sqlite"): "substring scan: `LIKE '%a%' AND LIKE '%b%'` over every row",
        label("json_files"): "substring scan: parse every file, test every message",
        BASELINE: "`hub.search(q, limit=20)`: ranked, with snippets",
    }
    hub_hits: list[int] = []
    matches: list[int] = []
    for key in PEERS:
        reason = _supports(key, "search")
        if reason:
            outcomes[label(key)] = reason
            continue

        async def run(key: str = key) -> Samples:
            loaded = await ctx.load(spec, key)
            async with ctx.peer(key, Path(loaded.root)) as peer:
                if isinstance(peer, SessionhubPeer):
                    hub_hits.extend([len(await peer.search(q)) for q in queries[:10]])
                if isinstance(peer, RawSQLitePeer):
                    matches.extend(peer.match_count(q) for q in queries[:10])
                cycle = itertools.cycle(queries)
                budget = s.budget_s if key == BASELINE else s.scan_budget_s
                return await sample(lambda: peer.search(next(cycle), 20), reps=s.reps, budget_s=budget)

        ctx.log(f"search: {key}")
        outcomes[label(key)] = await attempt(run, ctx.log)
    fig.tables.append(time_table("two-word queries, 20 results", outcomes, notes=notes))
    hub = outcomes.get(BASELINE)
    fig.verdicts.append(
        Verdict(
            "≤ 30 ms median" + _quick_note(ctx, "1M messages in 10k sessions"),
            None if not isinstance(hub, Samples) else hub.median <= 0.030,
            "n/a" if not isinstance(hub, Samples) else fmt_seconds(hub.median),
        )
    )
    for key, what in (("raw_sqlite", "raw sqlite3 LIKE over every row"), ("json_files", "JSON files")):
        r = ratio_of(outcomes, label(key))
        fig.verdicts.append(
            Verdict(
                f"≥ 100× a substring scan ({what})",
                None if r is None else r >= 100,
                "n/a" if r is None else fmt_ratio(r),
            )
        )
    if matches:
        fig.notes.append(
            "messages containing both words (substring), first 10 queries: "
            f"median {statistics.median(matches):,.0f}, "
            f"min {min(matches):,}, max {max(matches):,} of {total:,}"
        )
    if hub_hits:
        fig.notes.append(f"sessionhub results returned for the first 10 queries: {hub_hits}")
    fig.notes.append(
        f"queries: 50 pairs of mid-frequency words, e.g. {', '.join(repr(q) for q in queries[:3])}"
    )
    return fig


# --------------------------------------------------------------------------- context


async def fig_context(ctx: Context) -> Figure:
    """An 8k-token context window from a long session."""
    s = ctx.sizes
    spec = history_spec(ctx)
    fig = Figure("context", f"Context window of 8k tokens from a {s.context_session:,}-message session")
    outcomes: dict[str, Outcome] = {}
    shape: list[str] = []
    for key in PEERS:
        if key != BASELINE:
            outcomes[label(key)] = "— (no token-budgeted context API)"
            continue

        async def run() -> Samples:
            loaded = await ctx.load(spec, BASELINE)
            sid = loaded.session_ids[s.history.index(s.context_session)]
            async with SessionhubPeer(Path(loaded.root), ctx.synchronous) as peer:
                result = await peer.context(sid, 8000)
                shape.append(_describe(result))
                return await sample(lambda: peer.context(sid, 8000), reps=s.reps, budget_s=s.budget_s)

        ctx.log("context: sessionhub")
        outcomes[label(key)] = await attempt(run, ctx.log)
    fig.tables.append(
        time_table("`get_context_history(max_tokens=8000, strategy='recent')`", outcomes, notes=None)
    )
    hub = outcomes.get(BASELINE)
    fig.verdicts.append(
        Verdict(
            "≤ 5 ms median",
            None if not isinstance(hub, Samples) else hub.median <= 0.005,
            "n/a" if not isinstance(hub, Samples) else fmt_seconds(hub.median),
        )
    )
    if shape:
        fig.notes.append(f"result: {shape[0]}")
    fig.notes.append("peers have no token budget: `get_items(limit)` and `messages` count items, not tokens")
    return fig


def _describe(result: Any) -> str:
    """A short description of a context result (its type and length)."""
    messages = getattr(result, "messages", result)
    with contextlib.suppress(TypeError):
        return f"{type(result).__name__} with {len(messages)} messages"
    return type(result).__name__


# --------------------------------------------------------------------------- disk


async def fig_disk(ctx: Context) -> Figure:
    """Bytes on disk per message, everything included, against the raw text."""
    spec = history_spec(ctx)
    fig = Figure("disk", f"Bytes on disk per message ({spec.messages:,} messages)")
    rows = []
    hub_ratio: float | None = None
    base_per_msg: float | None = None
    for key in PEERS:
        try:
            loaded = await ctx.load(spec, key)
        except Exception as exc:
            rows.append([label(key), f"n/a (setup error: {_short_error(exc)})", "", "", "", ""])
            continue
        peer = ctx.peer(key, Path(loaded.root))
        size = peer.disk_bytes()
        per_msg = size / loaded.messages
        per_text = size / loaded.text_bytes
        if key == BASELINE:
            hub_ratio, base_per_msg = per_text, per_msg
        vs = "1 (baseline)" if key == BASELINE else fmt_ratio(per_msg / base_per_msg) if base_per_msg else "—"
        rows.append(
            [
                label(key),
                fmt_bytes(size),
                f"{per_msg:,.0f} B",
                f"{per_text:.2f}×",
                vs,
                f"{loaded.load_seconds:.0f} s",
            ]
        )
        text_per_msg = loaded.text_bytes / loaded.messages
    fig.tables.append(
        Table(
            "after loading, WAL checkpointed",
            ["store", "on disk", "per message", "÷ message text", f"÷ {BASELINE}", "setup time"],
            rows,
        )
    )
    fig.verdicts.append(
        Verdict(
            "≤ 3× the message text, FTS index included",
            None if hub_ratio is None else hub_ratio <= 3.0,
            "n/a" if hub_ratio is None else f"{hub_ratio:.2f}×",
        )
    )
    with contextlib.suppress(NameError):
        fig.notes.append(f"message text: {text_per_msg:,.0f} B per message on average (UTF-8 content only)")
    fig.notes.append(
        "on disk = every file in the store's directory (database, WAL, indexes; JSON files); sessionhub "
        "includes its full-text index; only sessionhub and raw sqlite3 keep per-message metadata columns"
    )
    fig.notes.append("setup time: the peer's setup path on this dataset, when it was built (cached since)")
    return fig


# --------------------------------------------------------------------------- export


async def _probe_export(key: str, root: str, session_id: str) -> dict[str, Any]:
    """Run ``bench.export_probe`` in a fresh interpreter; its JSON answer."""
    import asyncio
    import json
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.export_probe",
        key,
        root,
        session_id,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await proc.communicate()
    lines = stdout.decode().strip().splitlines()
    if not lines:
        return {"error": f"probe exited {proc.returncode}: {stderr.decode().strip()[-200:]}"}
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


async def fig_export(ctx: Context) -> Figure:
    """Peak memory of exporting the biggest session, each store in a fresh process."""
    s = ctx.sizes
    spec = history_spec(ctx)
    fig = Figure("export", f"Export of a {s.big:,}-message session: peak memory")
    rows = []
    hub_peak: float | None = None
    for key in PEERS:
        try:
            loaded = await ctx.load(spec, key)
        except Exception as exc:
            rows.append([label(key), f"n/a (setup error: {_short_error(exc)})", "", "", "", ""])
            continue
        ctx.log(f"export: {key}")
        sid = loaded.session_ids[s.history.index(s.big)]
        r = await _probe_export(key, loaded.root, sid)
        if "unsupported" in r:
            rows.append([label(key), f"— ({r['unsupported']})", "", "", "", ""])
        elif "error" in r:
            rows.append([label(key), f"n/a (error: {r['error']})", "", "", "", ""])
        else:
            if key == BASELINE:
                hub_peak = float(r["peak_mib"])
            rows.append(
                [
                    label(key),
                    f"{r['peak_mib']:.0f} MiB",
                    f"{r['before_mib']:.0f} MiB",
                    f"{r['peak_mib'] - r['before_mib']:.0f} MiB",
                    fmt_bytes(r["bytes"]),
                    fmt_seconds(r["seconds"]),
                ]
            )
    fig.tables.append(
        Table(
            "one export per store, each in a fresh process; JSON written to a temporary file",
            ["store", "peak RSS", "RSS before export", "growth", "written", "time"],
            rows,
        )
    )
    fig.verdicts.append(
        Verdict(
            "peak RSS ≤ 150 MB (streamed)" + _quick_note(ctx, "1M messages"),
            None if hub_peak is None else hub_peak * 2**20 <= 150e6,
            "n/a" if hub_peak is None else f"{hub_peak:.0f} MiB",
        )
    )
    fig.notes.append(
        "sessionhub: `hub.export(id, format='json')`, consumed chunk by chunk if it streams; "
        "SQLiteSession: `get_items()` then `json.dumps`; LangChain: `messages` then `messages_to_dict`; "
        "raw sqlite3: cursor rows streamed one at a time; JSON store: the file copied as is"
    )
    fig.notes.append("peak RSS is the process's high-water mark (`VmHWM`), imports and open included")
    return fig


# --------------------------------------------------------------------------- PostgreSQL


def _pg_bench_url(admin_url: str, dbname: str = "sessionhub_bench") -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)


def _pg_admin(admin_url: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        cursor = conn.execute(sql)  # trusted: built in this module
        row = cursor.fetchone() if cursor.description else None
        return "" if row is None else str(row[0])


async def _concurrent_appends(peer: SessionhubPeer, sessions: int, per_session: int) -> tuple[Samples, float]:
    """``sessions`` tasks appending ``per_session`` messages each; per-append times and wall time."""
    import asyncio

    ids = [await peer.new_session() for _ in range(sessions)]
    out = Samples()

    async def writer(i: int, sid: str) -> None:
        for m in session_messages("concurrent", i, per_session):
            t0 = time.perf_counter()
            await peer.append(sid, m["role"], m["content"])
            out.times.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(i, sid) for i, sid in enumerate(ids)))
    return out, time.perf_counter() - t0


async def _load_postgres(
    ctx: Context, fig: Figure, peer: SessionhubPeer, spec: DatasetSpec, only: list[int] | None
) -> list[str]:
    """Load ``spec`` (or only its sessions ``only``) into PostgreSQL; return the session ids."""
    started = time.perf_counter()
    indexes = only if only is not None else range(len(spec.sessions))
    count = sum(spec.sessions[i] for i in indexes)
    ctx.log(f"postgres: loading {count:,} messages of {spec.key}")
    async with peer:
        if only is None:
            ids = await peer.load_sessions(ctx.text_cache.get(spec.key) or spec.generate())
        else:
            ids = []
            for i in only:
                sid = await peer.new_session()
                await peer.bulk_load(sid, list(session_messages(spec.name, i, spec.sessions[i])))
                ids.append(sid)
    fig.notes.append(
        f"PostgreSQL setup: {count:,} messages of {spec.key} in {time.perf_counter() - started:.0f} s "
        "through `add_messages`"
    )
    return ids


async def fig_postgres(ctx: Context) -> Figure:
    """sessionhub on PostgreSQL next to sessionhub on SQLite: concurrent appends, latest 50, search."""
    s = ctx.sizes
    fig = Figure("postgres", "sessionhub on PostgreSQL (vs sessionhub on SQLite)")
    pg_label, sqlite_label = "sessionhub PostgreSQL", "sessionhub SQLite"
    bench_url = _pg_bench_url(ctx.pg_url)
    try:
        version = _pg_admin(ctx.pg_url, "SELECT version()")
        ctx.facts["PostgreSQL"] = version.split(" on ")[0]
        _pg_admin(ctx.pg_url, "DROP DATABASE IF EXISTS sessionhub_bench WITH (FORCE)")
        _pg_admin(ctx.pg_url, "CREATE DATABASE sessionhub_bench")
    except Exception as exc:
        fig.error = f"PostgreSQL at {ctx.pg_url} unusable: {_short_error(exc)}"
        return fig
    try:
        # 1. concurrent appends
        rows = []
        tmp = ctx.data_dir / "tmp" / "concurrent"
        shutil.rmtree(tmp, ignore_errors=True)
        for name, url in ((sqlite_label, None), (pg_label, bench_url)):
            ctx.log(f"postgres: concurrent appends on {name}")
            try:
                async with SessionhubPeer(tmp, ctx.synchronous, url=url) as peer:
                    times, wall = await _concurrent_appends(peer, s.concurrent_sessions, s.concurrent_appends)
                rows.append(
                    [
                        name,
                        f"{times.n / wall:,.0f}",
                        fmt_seconds(times.median),
                        fmt_seconds(times.p95),
                        str(times.n),
                    ]
                )
            except Exception as exc:
                ctx.log(traceback.format_exc())
                rows.append([name, f"n/a (error: {_short_error(exc)})", "", "", ""])
        shutil.rmtree(tmp, ignore_errors=True)
        fig.tables.append(
            Table(
                f"appends from {s.concurrent_sessions} concurrent tasks, one session each, "
                f"{s.concurrent_appends} appends per task",
                ["store", "appends/s", "median latency", "p95 latency", "n"],
                rows,
            )
        )

        # 2. latest 50 and 3. search, PostgreSQL loaded now, SQLite from the cache
        history = history_spec(ctx)  # PostgreSQL gets the sessions of sizes pg_history from it
        wanted = [history.sessions.index(n) for n in s.pg_history]
        search = DatasetSpec("search", (s.search_per_session,) * s.pg_search_sessions)
        latest: dict[int, dict[str, Outcome]] = {n: {} for n in s.pg_history}
        found: dict[str, Outcome] = {}
        queries = search_queries(50)
        for name in (sqlite_label, pg_label):
            for spec in (history, search):
                try:
                    if name == sqlite_label:
                        loaded = await ctx.load(spec, BASELINE)
                        peer = SessionhubPeer(Path(loaded.root), ctx.synchronous)
                        ids = loaded.session_ids
                        if spec is history:
                            ids = [ids[i] for i in wanted]
                    else:
                        peer = SessionhubPeer(ctx.data_dir / "tmp", ctx.synchronous, url=bench_url)
                        ids = await _load_postgres(ctx, fig, peer, spec, wanted if spec is history else None)
                except Exception as exc:
                    ctx.log(traceback.format_exc())
                    err = f"n/a (setup error: {_short_error(exc)})"
                    if spec is history:
                        for n in s.pg_history:
                            latest[n][name] = err
                    else:
                        found[name] = err
                    continue
                async with peer:
                    if spec is history:
                        for n, sid in zip(s.pg_history, ids, strict=True):

                            async def run_latest(sid: str = sid, peer: Peer = peer) -> Samples:
                                return await sample(
                                    lambda: peer.latest(sid, 50), reps=s.reps, budget_s=s.budget_s
                                )

                            ctx.log(f"postgres: latest 50 of {n:,} on {name}")
                            latest[n][name] = await attempt(run_latest, ctx.log)
                    else:
                        cycle = itertools.cycle(queries)

                        async def run_search(peer: Peer = peer, cycle: Any = cycle) -> Samples:
                            return await sample(
                                lambda: peer.search(next(cycle), 20), reps=s.reps, budget_s=s.budget_s
                            )

                        ctx.log(f"postgres: search on {name}")
                        found[name] = await attempt(run_search, ctx.log)
        for n in s.pg_history:
            fig.tables.append(
                time_table(f"latest 50 of a {n:,}-message session", latest[n], baseline=sqlite_label)
            )
        fig.tables.append(
            time_table(
                f"two-word search over {search.messages:,} messages in {s.pg_search_sessions:,} sessions",
                found,
                baseline=sqlite_label,
            )
        )
        fig.notes.append(
            f"ratios here are PostgreSQL ÷ SQLite; PostgreSQL on {ctx.pg_url.split('@')[-1]} (loopback), "
            "database `sessionhub_bench` created and dropped by the run"
        )
    finally:
        with contextlib.suppress(Exception):
            _pg_admin(ctx.pg_url, "DROP DATABASE IF EXISTS sessionhub_bench WITH (FORCE)")
    return fig


FIGURES: dict[str, Callable[[Context], Awaitable[Figure]]] = {
    "appends": fig_appends,
    "latest": fig_latest,
    "list": fig_list,
    "search": fig_search,
    "context": fig_context,
    "disk": fig_disk,
    "export": fig_export,
    "postgres": fig_postgres,
}
"""Every figure by name, in report order."""

UNMEASURED: list[tuple[str, str]] = [
    ("REST appends over HTTP, one uvicorn worker (≥ 1,500 requests/s)", "not in this harness yet"),
]
"""DESIGN.md bars this harness does not measure yet."""
