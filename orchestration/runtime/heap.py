"""Fewer garbage collections while a stage builds or validates its (large) documents.

The analysis of a big diagram (SynthForge's stages), the framework's validation of a
large stage input and its dump of a parallel group's outputs for the combiner allocate
hundreds of thousands of small objects that all stay alive until the stage ends;
CPython's cyclic collector, with its default thresholds, walks them (and everything
earlier stages left alive) again and again, so the time grows faster than the input. Inside
:func:`fewer_collections` the collector runs less often (its thresholds are raised, never
lowered); the previous thresholds come back when the block ends. Blocks may nest
and may span awaits (parallel stages interleave): the thresholds are raised when the
first block opens and restored when the last one closes.

When an inner block closes (a stage of a pipeline run has ended), what is alive then
is frozen (:func:`gc.freeze`): it stays alive until the run ends, and the younger
collections that follow no longer walk it again, which with a large diagram made the
later stages' collections grow with everything the earlier stages had built. The last
block to close unfreezes it all (into the oldest generation). A process that froze
objects itself (``gc.get_freeze_count()`` not zero when the first block opens, e.g. a
server before forking its workers) is left alone: nothing is frozen or unfrozen. A
pipeline run's own block (``run=True``) unfreezes when it closes even while other runs go
on, so frozen objects wait at most for the end of a run. The bookkeeping is shared by
the threads of a process (a server's workers) and changed under one lock.

:class:`FewerCollections` puts a whole agent run — validating its input, processing,
checking its output — inside such a block.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_YOUNG = 50_000
_OLDER = 20
_open: list[tuple[int, ...]] = []  # the thresholds to restore, while blocks are open
_freezing: list[bool] = []  # while blocks are open: whether closing inner ones freezes
_lock = threading.Lock()  # guards _open, _freezing and the collector settings they track


@contextmanager
def fewer_collections(*, run: bool = False) -> Iterator[None]:
    """Raise the collector's thresholds for the duration of the block.

    ``run``: the block is a whole pipeline run. When it closes while other blocks are
    still open (runs of a server's workers overlap), what was frozen is unfrozen all the
    same, so that nothing stays out of the collector's reach for longer than a run.
    """
    with _lock:
        if not _open:
            current: tuple[int, ...] = gc.get_threshold()
            _open.append(current)
            gc.set_threshold(max(current[0], _YOUNG), *(max(t, _OLDER) for t in current[1:]))
            _freezing.append(gc.get_freeze_count() == 0)
        else:
            _open.append(_open[0])
    try:
        yield
    finally:
        with _lock:
            restore = _open.pop()
            freezing = _freezing[0]
            if not _open:
                gc.set_threshold(*restore)
                _freezing.pop()
            if freezing:
                if run or not _open:
                    gc.unfreeze()
                else:
                    gc.freeze()


class FewerCollections:
    """Mixin for an :class:`agents.base.Agent`: its whole run inside :func:`fewer_collections`."""

    async def run(self, data: Any) -> Any:
        with fewer_collections():
            return await super().run(data)  # type: ignore[misc]
