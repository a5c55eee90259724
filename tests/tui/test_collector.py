"""The workstation's garbage-collection policy (life_tui.tui.collector): freeze, defer, collect, restore."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from life_tui.tui.collector import SAFETY_FACTOR, Collector


@pytest.fixture
def collector() -> Iterator[Collector]:
    before = gc.get_threshold()
    made = Collector()
    yield made
    made.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_start_freezes_the_heap_and_defers_full_collections(collector: Collector) -> None:
    young, middle, full = gc.get_threshold()
    collector.start()
    collector.start()  # idempotent
    assert collector.active
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (young, middle, full * SAFETY_FACTOR)


def test_a_turn_end_runs_the_collection_only_when_one_was_due(collector: Collector) -> None:
    collector.start()
    gc.collect()  # nothing due now
    assert not collector.turn_ended()
    for _ in range(gc.get_threshold()[2] // SAFETY_FACTOR):
        gc.collect(1)  # as many younger collections as the interpreter waits for before a full one
    assert gc.get_count()[2] >= gc.get_threshold()[2] // SAFETY_FACTOR
    assert collector.turn_ended()
    assert gc.get_count()[2] == 0


def test_stop_restores_the_interpreter(collector: Collector) -> None:
    collector.start()
    collector.stop()
    collector.stop()  # idempotent
    assert not collector.active
    assert not collector.turn_ended()  # stopped: never collects
