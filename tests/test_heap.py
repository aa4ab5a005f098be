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
