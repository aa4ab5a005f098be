"""Fewer garbage collections while an analysis builds its (large) documents.

The SynthForge stages use the framework's helper (:mod:`orchestration.runtime.heap`),
which also keeps the collector quiet while the framework validates a large stage input.
"""

from orchestration.runtime.heap import FewerCollections, fewer_collections

__all__ = ["FewerCollections", "fewer_collections"]
