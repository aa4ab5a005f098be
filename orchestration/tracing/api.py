"""The tracing helper API: spans, and the W3C traceparent across processes, jobs and doors.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``); then
``pip install 'forgeflow[otel]'`` is needed. Off, nothing here imports OpenTelemetry and
every call is a no-op. The settings are OpenTelemetry's own (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``, …; see :mod:`orchestration.tracing._setup`).

For every door (the CLIs, the HTTP server, the MCP server)::

    from orchestration import tracing

    tracing.setup_from_env()            # at start-up: a bad setting is one line, exit 2

    # a request or tool call that carries a traceparent (headers, params._meta, a payload)
    parent = tracing.extract(request.headers)            # a valid traceparent, or None
    with tracing.span("POST /runs", {"forgeflow.run_id": run_id}, kind="server",
                      parent=parent) as span:
        ...                                             # nested spans become children
        span.set("forgeflow.status", "accepted")
        reply_headers = tracing.inject({})              # {"traceparent": ...} when on

- :func:`span` — a context manager for one span (``parent``: a remote traceparent to
  continue; None: the current span's child, or a new trace). Attributes are text,
  numbers or booleans; others are dropped. An exception marks it failed with its class
  as ``error.type`` and no message. Never record keys, prompts, PR text or diagram labels.
- :func:`attach_parent` — make a remote traceparent current for a whole block.
- :func:`extract` / :func:`inject` — a traceparent from / into any mapping;
  :func:`parent_from_env` reads ``$TRACEPARENT`` (how a workflow step hands one on);
  :func:`parse_traceparent` checks one (invalid ones are ignored, never fatal).
- :func:`current_traceparent`, :func:`current_trace_id`, :func:`trace_markdown` (the run
  summary's trace line, linked through ``$FORGEFLOW_TRACE_URL``, e.g.
  ``https://jaeger.example/trace/{trace_id}``).
- :func:`flush` before a process exits (the SDK also flushes at exit), :func:`configure`
  with the SDK's ``InMemorySpanExporter`` in tests, :func:`reset` after them.

Where the traceparent travels: the artifact envelope (``traceparent``, the span of the
agent run that wrote it), the ``repository_dispatch`` ``client_payload``, the matrix of
``fan-out.yml``, and ``$TRACEPARENT`` between the steps of a workflow.

How it costs nothing when off: the first span asked for reads the environment once
(:func:`setup_from_env`). With ``OTEL_TRACES_EXPORTER`` unset, empty or ``none`` (or
``OTEL_SDK_DISABLED=true``) every function here is a no-op that imports nothing:
:func:`span` hands back one shared inert object. Otherwise
:mod:`orchestration.tracing._setup` builds an OpenTelemetry tracer provider, imported
only then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from agents.errors import TracingConfigError
from orchestration.tracing._traceparent import (
    TRACEPARENT,
    TRACEPARENT_ENV,
    parse_traceparent,
    trace_id_of,
)

if TYPE_CHECKING:
    from orchestration.tracing._setup import Backend

SpanKind = Literal["internal", "client", "server", "producer", "consumer"]
AttributeValue = str | bool | int | float

#: A link to a trace in the run summary: ``FORGEFLOW_TRACE_URL`` with ``{trace_id}`` in it.
TRACE_URL_ENV = "FORGEFLOW_TRACE_URL"


class _Unset:
    pass


_UNSET = _Unset()
_backend: Backend | None | _Unset = _UNSET


def _active() -> Backend | None:
    global _backend
    if isinstance(_backend, _Unset):
        _backend = _from_env(os.environ)
    return _backend


def _off(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return True
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    return all(n in ("", "none") for n in names)


def _from_env(env: Mapping[str, str]) -> Backend | None:
    if _off(env):
        return None
    from orchestration.tracing._setup import backend_from_env

    return backend_from_env(env)


def setup_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Read the OpenTelemetry settings now; True when spans are exported.

    The CLIs call this before anything runs, so a setting that cannot work (an unknown
    exporter, a protocol not installed, ``otlp`` without ``pip install 'forgeflow[otel]'``)
    is one line and exit 2 instead of a surprise mid-run. Reads the environment once per
    process; :func:`reset` forgets it.
    """
    global _backend
    if isinstance(_backend, _Unset):
        _backend = _from_env(os.environ if env is None else env)
    check_trace_url(os.environ if env is None else env)
    return _backend is not None


def enabled() -> bool:
    """Whether spans are being recorded (reads the environment on first use)."""
    backend = _backend
    if backend is None:  # the common case: off, and already known to be
        return False
    if backend is _UNSET:
        return _active() is not None
    return True


def configure(span_exporter: Any, *, service_name: str = "forgeflow") -> None:
    """Record spans into ``span_exporter`` (an OpenTelemetry ``SpanExporter``), exported
    one by one as they end — for tests, with the SDK's ``InMemorySpanExporter``.
    Replaces any configuration in force."""
    global _backend
    reset()
    from orchestration.tracing._setup import backend_for_exporter

    _backend = backend_for_exporter(span_exporter, service_name=service_name)


def shutdown() -> None:
    """Export what is still buffered and stop; later spans are no-ops until :func:`reset`."""
    global _backend
    backend = _backend
    _backend = None
    if backend is not None and not isinstance(backend, _Unset):
        backend.shutdown()


def reset() -> None:
    """Shut tracing down and forget the settings: the next span reads the environment."""
    global _backend
    shutdown()
    _backend = _UNSET


def flush() -> None:
    """Export buffered spans now (a CLI calls it before it exits)."""
    backend = _active() if not isinstance(_backend, _Unset) else None
    if backend is not None:
        backend.flush()


class Span:
    """One span in progress, as :func:`span` yields it.

    Values that are not text, numbers or booleans (None included) are dropped, never
    stringified: an attribute is only ever what the caller chose to record.
    """

    __slots__ = ("_span",)

    def __init__(self, otel_span: Any = None) -> None:
        self._span = otel_span

    @property
    def recording(self) -> bool:
        """False for the inert span of tracing that is off."""
        return self._span is not None

    def set(self, key: str, value: Any) -> None:
        """Set one attribute (ignored when tracing is off, or ``value`` is None)."""
        if self._span is not None and isinstance(value, (str, bool, int, float)):
            self._span.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes (see :meth:`set`)."""
        if self._span is not None:
            for key, value in attributes.items():
                if isinstance(value, (str, bool, int, float)):
                    self._span.set_attribute(key, value)

    def fail(self, error_type: str) -> None:
        """Mark the span failed with ``error.type`` (a class or code, never a message:
        messages may quote the input)."""
        if self._span is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attribute("error.type", error_type)
            self._span.set_status(Status(StatusCode.ERROR))

    @property
    def traceparent(self) -> str | None:
        """This span as a W3C ``traceparent`` (its children's parent), or None when off."""
        if self._span is None:
            return None
        ctx = self._span.get_span_context()
        if not ctx.is_valid:
            return None
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"

    @property
    def trace_id(self) -> str | None:
        """The 32-hex trace id of this span, or None when off."""
        return trace_id_of(self.traceparent)


_INERT = Span()
#: The span every call yields when tracing is off (``recording`` is False).
INERT_SPAN = _INERT


class _InertScope:
    __slots__ = ()

    def __enter__(self) -> Span:
        return _INERT

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


_INERT_SCOPE = _InertScope()


class _Scope:
    __slots__ = ("_attributes", "_backend", "_kind", "_name", "_parent", "_span", "_token")

    def __init__(
        self,
        backend: Backend,
        name: str,
        attributes: Mapping[str, Any] | None,
        kind: SpanKind,
        parent: str | None,
    ) -> None:
        self._backend = backend
        self._name = name
        self._attributes = attributes
        self._kind = kind
        self._parent = parent
        self._span: Any = None
        self._token: Any = None

    def __enter__(self) -> Span:
        self._span, self._token = self._backend.start(
            self._name, self._attributes, self._kind, self._parent
        )
        return Span(self._span)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._backend.end(self._span, self._token, exc_type)


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: SpanKind = "internal",
    parent: str | None = None,
) -> _Scope | _InertScope:
    """A context manager for one span named ``name``, current inside the ``with`` block.

    ``parent`` is a ``traceparent`` to continue (a remote parent: another process, job or
    request); None continues the current span, or starts a trace. An exception leaving
    the block marks the span failed with its class as ``error.type`` (no message).
    With tracing off this costs one check and yields an inert :class:`Span`.
    """
    backend = _active()
    if backend is None:
        return _INERT_SCOPE
    return _Scope(backend, name, attributes, kind, parse_traceparent(parent))


@contextmanager
def attach_parent(traceparent: str | None) -> Iterator[None]:
    """Make a remote ``traceparent`` the current parent inside the block (an invalid or
    None value, or tracing off: nothing changes)."""
    backend = _active()
    valid = parse_traceparent(traceparent)
    if backend is None or valid is None:
        yield
        return
    token = backend.attach_remote(valid)
    try:
        yield
    finally:
        backend.detach(token)


def current_traceparent() -> str | None:
    """The current span as a ``traceparent``, or None (tracing off, or no span)."""
    backend = _active()
    return backend.current_traceparent() if backend is not None else None


def current_trace_id() -> str | None:
    """The trace id of the current span, or None."""
    return trace_id_of(current_traceparent())


def inject(carrier: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Put the current span's ``traceparent`` into ``carrier`` (nothing when tracing is
    off or no span is current) and return ``carrier``."""
    value = current_traceparent()
    if value is not None:
        carrier[TRACEPARENT] = value
    return carrier


def parent_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The valid ``traceparent`` in ``$TRACEPARENT``, or None."""
    return parse_traceparent((os.environ if env is None else env).get(TRACEPARENT_ENV))


def check_trace_url(env: Mapping[str, str]) -> str | None:
    """``$FORGEFLOW_TRACE_URL`` if set and usable (http(s), with ``{trace_id}``)."""
    template = env.get(TRACE_URL_ENV, "").strip()
    if not template:
        return None
    if not template.startswith(("https://", "http://")) or "{trace_id}" not in template:
        raise TracingConfigError(
            f"{TRACE_URL_ENV} must be an http(s) URL with {{trace_id}} in it, "
            f"e.g. https://jaeger.example/trace/{{trace_id}}"
        )
    if any(ch.isspace() or ch in "<>\"'`()[]" for ch in template):
        raise TracingConfigError(f"{TRACE_URL_ENV} must not contain spaces, quotes or brackets")
    return template


def trace_markdown(trace_id: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """``**Trace:** `ID``` for a run summary, a link when ``$FORGEFLOW_TRACE_URL`` is set."""
    if trace_id is None or trace_id_of(f"00-{trace_id}-0000000000000001-01") is None:
        return None
    try:
        template = check_trace_url(os.environ if env is None else env)
    except TracingConfigError:
        template = None
    if template is None:
        return f"**Trace:** `{trace_id}`"
    return f"**Trace:** [`{trace_id}`]({template.replace('{trace_id}', trace_id)})"
