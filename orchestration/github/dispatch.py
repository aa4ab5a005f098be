"""``repository_dispatch`` events for event-driven chains: build the payload, send it.

Each run of a chain dispatches the next event with the same ``correlation_id``. Its
``client_payload`` carries:

- ``correlation_id`` — the chain's id, unchanged from hop to hop;
- ``hop`` — 1 for the first dispatched event, then one more per hop (so a chain that loops
  by mistake stops at ``max_hops``);
- ``artifact_run_id`` — the id of the run that holds the previous step's artifact (the
  dispatching run), for ``actions/download-artifact`` with ``run-id``;
- ``traceparent`` — only when tracing is on: the W3C traceparent of the dispatch's span,
  so that the next run continues the same trace;

plus the caller's own top-level keys. GitHub accepts at most 10 top-level keys and under
64 KB; a payload beyond either is refused here with one line, never cut down. The keys
Forgeflow sets count: six are left for the caller's own with tracing on, seven without.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.errors import ForgeflowError, InputError

if TYPE_CHECKING:
    from orchestration.github.api import GitHubClient

MAX_PAYLOAD_KEYS = 10
MAX_PAYLOAD_BYTES = 64 * 1024
DEFAULT_MAX_HOPS = 50
RESERVED_KEYS = ("correlation_id", "hop", "artifact_run_id", "traceparent")

_EVENT_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")
_CORRELATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_RUN_ID_RE = re.compile(r"[1-9][0-9]{0,19}")


class DispatchError(ForgeflowError):
    """A dispatch cannot be built or sent as asked."""


def check_event_type(event_type: str) -> str:
    """``event_type`` if it is 1-100 of ``A-Z a-z 0-9 . _ : / -`` (starting alphanumeric)."""
    if not isinstance(event_type, str) or not _EVENT_TYPE_RE.fullmatch(event_type):
        raise DispatchError(
            f"event type {event_type!r} is not allowed: 1-100 characters of "
            "A-Z a-z 0-9 . _ : / -, starting with a letter or digit"
        )
    return event_type


def check_correlation_id(correlation_id: str) -> str:
    """``correlation_id`` if it is 1-128 of ``A-Z a-z 0-9 . _ : -`` (starting alphanumeric)."""
    if not isinstance(correlation_id, str) or not _CORRELATION_RE.fullmatch(correlation_id):
        raise DispatchError(
            f"correlation id {correlation_id!r} is not allowed: 1-128 characters of "
            "A-Z a-z 0-9 . _ : -, starting with a letter or digit"
        )
    return correlation_id


def payload_size(payload: Mapping[str, Any]) -> int:
    """Bytes of ``payload`` as it goes on the wire: serialized the way the request is sent
    (``json.dumps`` with its defaults, as PyGithub encodes a request body), so non-ASCII
    text counts as its ``\\uXXXX`` escapes (six bytes for an ``é``), not as UTF-8."""
    return len(json.dumps(payload).encode("utf-8"))


def build_client_payload(
    correlation_id: str,
    hop: int,
    artifact_run_id: str | int | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    max_hops: int = DEFAULT_MAX_HOPS,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """The ``client_payload`` of the next event, checked against GitHub's limits.

    ``extra`` adds top-level keys; it must not use the reserved ones. ``traceparent``
    (a valid W3C one; anything else is left out) continues the trace in the next run. Raises
    :class:`DispatchError` for more than 10 top-level keys, 64 KB or more, a hop past
    ``max_hops``, or a malformed id.
    """
    check_correlation_id(correlation_id)
    if isinstance(hop, bool) or not isinstance(hop, int) or hop < 1:
        raise DispatchError(f"hop {hop!r} must be a positive integer")
    if hop > max_hops:
        raise DispatchError(
            f"dispatch chain {correlation_id} reached hop {hop} (limit {max_hops}); "
            "stopping so that a looping chain ends"
        )
    payload: dict[str, Any] = {"correlation_id": correlation_id, "hop": hop}
    if artifact_run_id is not None:
        run_id = str(artifact_run_id)
        if not _RUN_ID_RE.fullmatch(run_id):
            raise DispatchError(f"artifact run id {artifact_run_id!r} must be a run's number")
        payload["artifact_run_id"] = run_id
    from orchestration.tracing import parse_traceparent

    valid_traceparent = parse_traceparent(traceparent)
    if valid_traceparent is not None:
        payload["traceparent"] = valid_traceparent
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise DispatchError(f"client_payload key {key!r} must be a non-empty string")
        if key in RESERVED_KEYS:
            raise DispatchError(
                f"client_payload key {key!r} is set by Forgeflow; remove it from the payload"
            )
        payload[key] = value
    if len(payload) > MAX_PAYLOAD_KEYS:
        raise DispatchError(
            f"client_payload has {len(payload)} top-level keys; GitHub allows "
            f"{MAX_PAYLOAD_KEYS} (including {', '.join(k for k in RESERVED_KEYS if k in payload)})"
            "; nest the rest under one key"
        )
    try:
        size = payload_size(payload)
    except (TypeError, ValueError) as exc:
        raise DispatchError(f"client_payload is not JSON: {exc}") from None
    if size >= MAX_PAYLOAD_BYTES:
        raise DispatchError(
            f"client_payload is {size:,} bytes; GitHub accepts under {MAX_PAYLOAD_BYTES:,}: "
            "pass large data as an artifact and its run id instead"
        )
    return payload


def load_payload_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (extra ``client_payload`` keys)."""
    from orchestration.runtime.artifact import read_json

    data = read_json(Path(path), what="payload file (JSON)")
    if not isinstance(data, dict):
        raise InputError(f"{path}: the payload must be a JSON object, not {type(data).__name__}")
    return data


def next_hop(event: Mapping[str, Any] | None) -> int:
    """The hop after the current event's (``client_payload.hop`` of a dispatch), else 1."""
    payload = (event or {}).get("client_payload")
    hop = payload.get("hop") if isinstance(payload, Mapping) else None
    if isinstance(hop, bool) or not isinstance(hop, int) or hop < 1:
        return 1
    return hop + 1


async def send_dispatch(
    client: GitHubClient, repo: str, event_type: str, client_payload: Mapping[str, Any]
) -> None:
    """POST ``/repos/{repo}/dispatches`` (retried on 5xx and rate limits)."""
    check_event_type(event_type)
    payload = dict(client_payload)

    def post() -> None:
        # Repository.create_repository_dispatch returns False on an error answer instead of
        # raising, which would lose the failure (and the retry): use the checked request.
        url = f"{client.repo(repo).url}/dispatches"
        client.github.requester.requestJsonAndCheck(
            "POST", url, input={"event_type": event_type, "client_payload": payload}
        )

    await client.call(f"POST dispatch {event_type} to {repo}", post)
