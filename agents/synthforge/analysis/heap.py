"""Fewer garbage collections while an analysis builds its (large) documents.

The analysis of a big diagram allocates hundreds of thousands of small objects that all
stay alive until the stage ends; CPython's cyclic collector, with its default thresholds,
walks them again and again, so the time grows faster than the diagram. Inside
:func:`fewer_collections` the collector runs less often (its thresholds are raised, never
lowered); the previous thresholds come back when the block ends. The stages' bodies do
not await, so no other coroutine runs while the thresholds are raised.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_YOUNG = 50_000
_OLDER = 20


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds for the duration of the block."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], _YOUNG), *(max(t, _OLDER) for t in before[1:]))
    try:
        yield
    finally:
        gc.set_threshold(*before)
