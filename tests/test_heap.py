"""The SynthForge stages' garbage-collector thresholds are raised, never lowered, and restored."""

from __future__ import annotations

import gc

from agents.synthforge.analysis.heap import fewer_collections


def test_thresholds_are_raised_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with fewer_collections():
            inside = gc.get_threshold()
        assert inside[0] >= 50_000 and min(inside[1:]) >= 20
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(100_000, 50, 50)
        with fewer_collections():
            assert gc.get_threshold() == (100_000, 50, 50)  # never lowered
    finally:
        gc.set_threshold(*before)


def test_thresholds_are_restored_when_the_stage_fails() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_nested_and_interleaved_blocks_restore_once_all_have_closed() -> None:
    """Parallel stages interleave: the thresholds come back when the last block closes."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        first, second = fewer_collections(), fewer_collections()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)  # the first stage ends while the second runs
        assert gc.get_threshold()[0] >= 50_000
        second.__exit__(None, None, None)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
