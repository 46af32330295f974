"""``bulk.building``: the collector paused for a burst of allocation, and restored after."""

from __future__ import annotations

import gc

import pytest

from sessionhub.bulk import building


def test_the_collector_is_paused_inside_and_back_after_even_on_error() -> None:
    assert gc.isenabled()
    with building():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), building():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with building():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
