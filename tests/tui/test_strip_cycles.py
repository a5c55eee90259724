"""The Strip.divide fix (life_tui.tui.strip_cycles): same strips as Textual's, and no reference cycle."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

import pytest
from rich.segment import Segment
from textual.strip import Strip

from life_tui.tui import strip_cycles

TEXTUALS_OWN = getattr(Strip.divide, "__wrapped__", Strip.divide)
"""Textual's ``Strip.divide``, even when an app built earlier in this process installed the fix."""


@pytest.fixture
def unfixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Strip, "divide", TEXTUALS_OWN)


@pytest.fixture
def fixed(unfixed: None) -> None:
    assert strip_cycles.install()
    assert strip_cycles.install()  # idempotent: the wrapper is not wrapped again
    assert Strip.divide.__wrapped__ is TEXTUALS_OWN  # type: ignore[attr-defined]


def line() -> Strip:
    return Strip([Segment("hello "), Segment("world")])


def garbage_left_by_a_divided_line() -> int:
    """Unreachable objects the cyclic collector finds after a line divided at its end is dropped."""
    gc.collect()
    gc.disable()
    try:
        strip = line()
        assert strip.divide([strip.cell_length]) == [strip]
        assert strip.divide([strip.cell_length, 99]) == [strip]  # cuts past the end are ignored
        del strip
        return gc.collect()
    finally:
        gc.enable()


def test_textuals_own_divide_leaves_a_cycle(unfixed: None) -> None:
    assert garbage_left_by_a_divided_line() > 0  # what the fix is for: without it this is garbage


def test_with_the_fix_a_divided_line_is_freed_at_once(fixed: None) -> None:
    assert garbage_left_by_a_divided_line() == 0


def test_other_cuts_give_textuals_own_pieces(fixed: None) -> None:
    pieces = line().divide([3, 8, 11])
    assert [p.text for p in pieces] == ["hel", "lo wo", "rld"]
    assert [p.cell_length for p in pieces] == [3, 5, 3]


def test_a_textual_without_the_cycle_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def acyclic(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        return [self] if list(cuts) == [self.cell_length] else TEXTUALS_OWN(self, cuts)

    assert strip_cycles.caches_itself(TEXTUALS_OWN)
    assert not strip_cycles.caches_itself(acyclic)
    monkeypatch.setattr(Strip, "divide", acyclic)
    assert not strip_cycles.install()
    assert Strip.divide is acyclic
