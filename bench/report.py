"""Machine facts and the Markdown report (``bench/RESULTS.md``).

A figure is one or more tables of strings plus verdicts against DESIGN.md's bars; this
module only formats them. Ratios are always "peer median ÷ sessionhub median", so a ratio
above 1 means sessionhub is faster.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .measure import Samples, fmt_ratio, fmt_seconds

Outcome = Samples | str
"""A peer's measurement, or why there is none ("— (reason)" / "n/a (error: …)")."""

BASELINE = "sessionhub"


@dataclass
class Table:
    """A Markdown table: a title, a header and rows of preformatted cells."""

    title: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Verdict:
    """One bar of DESIGN.md checked against a measurement; ``met`` is None when not measured."""

    bar: str
    met: bool | None
    detail: str
    informational: bool = False
    """No bar to meet: the figure is reported ("reported" in the status column)."""
    why: str = ""
    """Why the bar can be missed (profiling, structure): printed when it is not met."""


@dataclass
class Figure:
    """The result of one figure of the performance table."""

    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_tables: list[Table] = field(default_factory=list)
    """Tables placed after the main ones once they are all built (profiles)."""
    seconds: float = 0.0
    error: str | None = None


def time_table(
    title: str,
    outcomes: Mapping[str, Outcome],
    *,
    baseline: str = BASELINE,
    throughput: bool = False,
    notes: Mapping[str, str] | None = None,
) -> Table:
    """A table of timings with each store's ratio to the baseline (sessionhub)."""
    header = ["store", "median", "p95", "n", f"÷ {baseline} (median)"]
    if throughput:
        header.insert(1, "ops/s")
    if notes:
        header.append("note")
    base = outcomes.get(baseline)
    rows = []
    for label, out in outcomes.items():
        if isinstance(out, Samples):
            if label == baseline:
                ratio = "1 (baseline)"
            elif isinstance(base, Samples):
                ratio = fmt_ratio(out.median / base.median)
            else:
                ratio = "—"
            row = [label, fmt_seconds(out.median), fmt_seconds(out.p95), str(out.n), ratio]
            if throughput:
                row.insert(1, f"{out.n / out.total:,.0f}")
        else:
            row = [label, out, "", "", ""]
            if throughput:
                row.insert(1, "")
        if notes:
            row.append(notes.get(label, ""))
        rows.append(row)
    return Table(title, header, rows)


def ratio_of(outcomes: Mapping[str, Outcome], peer: str, baseline: str = BASELINE) -> float | None:
    """``peer`` median ÷ baseline median, or None if either is missing."""
    a, b = outcomes.get(peer), outcomes.get(baseline)
    if isinstance(a, Samples) and isinstance(b, Samples):
        return a.median / b.median
    return None


# --------------------------------------------------------------------------- machine facts


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _disk(path: Path) -> str:
    import psutil

    path = path.resolve()
    best = None
    for part in psutil.disk_partitions(all=True):
        if str(path).startswith(part.mountpoint) and (
            best is None or len(part.mountpoint) > len(best.mountpoint)
        ):
            best = part
    usage = psutil.disk_usage(str(path))
    space = f"{usage.total / 2**30:.0f} GiB, {usage.free / 2**30:.0f} GiB free"
    kind = ""
    if best is not None:
        dev = Path(best.device).name
        rotational = Path(f"/sys/block/{dev}/queue/rotational")
        if rotational.exists():
            kind = ", rotational" if rotational.read_text().strip() == "1" else ", non-rotational"
        return f"{best.device} ({best.fstype}{kind}), {space}"
    return space


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{out} (src/ has uncommitted changes)" if dirty else out


def machine_facts(data_dir: Path) -> dict[str, str]:
    """CPU, memory, disk, interpreter and library versions."""
    import psutil

    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores ({psutil.cpu_count(logical=False)} physical)",
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "disk (bench/data)": _disk(data_dir),
        "OS": platform.platform(),
        "Python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "SQLite": sqlite3.sqlite_version,
        "sessionhub": f"{_version('sessionhub')}, commit {_git_commit()}",
        "openai-agents": _version("openai-agents"),
        "langchain-core / -community": f"{_version('langchain-core')} / {_version('langchain-community')}",
        "SQLAlchemy": _version("SQLAlchemy"),
        "psycopg": _version("psycopg"),
    }


# --------------------------------------------------------------------------- Markdown


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return lines


def _status(met: bool | None) -> str:
    return {True: "met", False: "**NOT met**", None: "not measured"}[met]


def render(
    *,
    command: str,
    started: dt.datetime,
    elapsed_s: float,
    quick: bool,
    facts: Mapping[str, str],
    method: list[str],
    figures: list[Figure],
    unmeasured: list[tuple[str, str]],
    history: str = "",
) -> str:
    """The whole RESULTS.md; ``history`` (bench/HISTORY.md, kept by hand) goes at the end."""
    size = "quick (smaller than DESIGN.md's sizes; see each table)" if quick else "full (DESIGN.md's sizes)"
    minutes, seconds = divmod(round(elapsed_s), 60)
    out = [
        "# sessionhub benchmark results",
        "",
        f"Generated by `{command}` at {started.strftime('%Y-%m-%d %H:%M UTC')} in {minutes}m {seconds:02d}s; "
        f"size: {size}. This file is rewritten by every run; do not edit it by hand.",
        "",
        "Ratios are **peer median ÷ sessionhub median**: above 1 means sessionhub is faster (or smaller).",
        "",
        "## Bars (DESIGN.md)",
        "",
    ]
    rows = []
    for fig in figures:
        if fig.error:
            rows.append([fig.title, "(figure failed)", fig.error, "**error**"])
        for v in fig.verdicts:
            rows.append([fig.title, v.bar, v.detail, "reported" if v.informational else _status(v.met)])
    for title, why in unmeasured:
        rows.append([title, "", why, "not measured"])
    out += _md_table(["figure", "bar", "measured", "status"], rows)
    missed = [(fig.title, v) for fig in figures for v in fig.verdicts if v.met is False and v.why]
    if missed:
        out += ["", "## Bars not met: why", ""]
        told: set[str] = set()
        for title, v in missed:
            out.append(f"- **{title}, {v.bar}** ({v.detail}): {'as above' if v.why in told else v.why}")
            told.add(v.why)
    out += ["", "## Machine", ""]
    out += _md_table(["", ""], [[k, v] for k, v in facts.items()])
    out += ["", "## Method", ""]
    out += [f"- {line}" for line in method]
    for fig in figures:
        out += ["", f"## {fig.title}", ""]
        if fig.error:
            out += [f"n/a (error: {fig.error})", ""]
        for table in fig.tables:
            out += [f"**{table.title}**", ""]
            out += _md_table(table.header, table.rows)
            out.append("")
        out += [f"- {note}" for note in fig.notes]
        out.append(f"- figure time: {fig.seconds:.0f} s")
    if history.strip():
        out += ["", "## History (bench/HISTORY.md, kept by hand across runs)", ""]
        out += [line[1:] if line.startswith("#") else line for line in history.strip().splitlines()[1:]]
    out.append("")
    return "\n".join(out)


# The search bench's own section of RESULTS.md (bench/search_bench.py writes it; bench.run keeps it).
SEARCH_BEGIN, SEARCH_END = "<!-- search-bench:begin -->", "<!-- search-bench:end -->"
