"""The W3C ``traceparent`` header: parsed and checked without OpenTelemetry.

``VERSION-TRACEID-PARENTID-FLAGS``, e.g. ``00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01``
(https://www.w3.org/TR/trace-context/#traceparent-header). A value that breaks the format is
ignored, as the recommendation asks: tracing never stops a run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

#: The key (header, payload property, matrix dimension, envelope field) it travels under.
TRACEPARENT = "traceparent"
#: The environment variable a process takes its parent from (OpenTelemetry's convention
#: for environment variables as context carriers).
TRACEPARENT_ENV = "TRACEPARENT"


def parse_traceparent(value: Any) -> str | None:
    """``value`` as a valid ``traceparent`` (lower case, trimmed), or None.

    Version ``ff``, an all-zero trace id or parent id, and anything that is not text are
    invalid. A later version may append fields after the four; they are dropped.
    """
    if not isinstance(value, str) or len(value) > 512:
        return None
    text = value.strip().lower()
    match = _TRACEPARENT_RE.match(text)
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    rest = text[match.end() :]
    if version == "ff" or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    if version == "00" and rest:
        return None
    if rest and not rest.startswith("-"):
        return None
    return f"{version}-{trace_id}-{span_id}-{flags}"


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a valid ``traceparent``, else None."""
    valid = parse_traceparent(traceparent)
    return valid.split("-")[1] if valid else None


def extract(carrier: Mapping[str, Any] | None) -> str | None:
    """The valid ``traceparent`` in ``carrier`` (any case of the key), or None.

    ``carrier`` is any mapping: HTTP headers, a ``client_payload``, a tool call's
    ``_meta``, an artifact envelope as JSON.
    """
    if not carrier:
        return None
    value = carrier.get(TRACEPARENT)
    if value is None:
        for key, item in carrier.items():
            if isinstance(key, str) and key.lower() == TRACEPARENT:
                value = item
                break
    return parse_traceparent(value)
