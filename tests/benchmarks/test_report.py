"""RESULTS.md rendering: every bar in the table, and the reasons for the missed ones."""

from __future__ import annotations

import datetime as dt

from bench.report import Figure, Verdict, render


def _render(figures: list[Figure]) -> str:
    return render(
        command="python -m bench.run",
        started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        elapsed_s=61,
        quick=False,
        facts={"CPU": "test"},
        method=["one process"],
        figures=figures,
        unmeasured=[],
    )


def test_missed_bars_carry_their_reason_once() -> None:
    why = "ranking every match costs this much"
    fig = Figure("search", "Search")
    fig.verdicts += [
        Verdict("<= 30 ms", True, "8 ms", why="never shown: the bar is met"),
        Verdict(">= 100x LIKE", False, "31x", why=why),
        Verdict(">= 100x JSON", False, "90x", why=why),
        Verdict("ratio to off", None, "3x", informational=True, why="not a bar"),
    ]
    out = _render([fig])
    assert "| Search | <= 30 ms | 8 ms | met |" in out
    assert "| Search | >= 100x LIKE | 31x | **NOT met** |" in out
    section = out.split("## Bars not met: why", 1)[1].split("## Machine", 1)[0]
    assert f"**Search, >= 100x LIKE** (31x): {why}" in section
    assert "**Search, >= 100x JSON** (90x): as above" in section
    assert "never shown" not in out and "not a bar" not in out
    assert "in 1m 01s; size: full" in out


def test_no_reasons_section_when_every_bar_is_met() -> None:
    fig = Figure("list", "List")
    fig.verdicts.append(Verdict("<= 5 ms", True, "2 ms"))
    assert "Bars not met" not in _render([fig])
