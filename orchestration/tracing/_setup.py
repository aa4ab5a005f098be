"""The OpenTelemetry SDK behind :mod:`orchestration.tracing`, imported only when tracing is on.

Configured the OpenTelemetry way, from the environment:

- ``OTEL_TRACES_EXPORTER``: ``otlp`` (OTLP over HTTP with protobuf), ``console`` (JSON
  lines on stderr, so that a command's own output on stdout stays intact), several
  separated by commas, or ``none``;
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``…_HEADERS``,
  ``…_TIMEOUT``, ``…_COMPRESSION``: read by the exporter itself; the protocol must be
  ``http/protobuf`` (the default here);
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (service name ``forgeflow`` when
  neither names one), ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``: read by the SDK.

The provider is this package's own (not the global one), so that an application that
embeds Forgeflow keeps its own tracing set-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from agents.errors import TracingConfigError

_INSTALL = "pip install 'forgeflow[otel]'"
_PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def _import_sdk(what: str) -> Any:
    try:
        from opentelemetry.sdk import trace as sdk_trace
    except ImportError:
        raise TracingConfigError(f"{what} needs the OpenTelemetry packages: {_INSTALL}") from None
    return sdk_trace


def _exporters(env: Mapping[str, str]) -> list[tuple[str, Any]]:
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    made: list[tuple[str, Any]] = []
    for name in dict.fromkeys(names):
        what = f"OTEL_TRACES_EXPORTER={name}"
        if name == "otlp":
            for var in _PROTOCOL_VARS:
                protocol = env.get(var, "").strip().lower()
                if protocol and protocol != "http/protobuf":
                    raise TracingConfigError(
                        f"{var}={protocol}: Forgeflow exports OTLP over http/protobuf only; "
                        "unset it or set http/protobuf"
                    )
            _import_sdk(what)
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                raise TracingConfigError(f"{what} needs the OTLP exporter: {_INSTALL}") from None
            try:
                made.append((name, OTLPSpanExporter()))
            except ValueError as exc:  # a malformed header, timeout or compression
                raise TracingConfigError(f"{what}: {' '.join(str(exc).split())}") from None
        elif name == "console":
            _import_sdk(what)
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            made.append((name, ConsoleSpanExporter(out=sys.stderr)))
        else:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}; use otlp, console or none"
            )
    return made


def _resource(env: Mapping[str, str], service_name: str) -> Any:
    from opentelemetry.sdk.resources import Resource

    named = env.get("OTEL_SERVICE_NAME", "").strip() or "service.name=" in env.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    attributes = {} if named else {"service.name": service_name}
    return Resource.create(attributes)


class Backend:
    """A tracer provider and the few OpenTelemetry calls :mod:`.api` makes."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self.tracer = provider.get_tracer("forgeflow")
        self._trace = trace
        self._context = context
        self._propagator = TraceContextTextMapPropagator()
        self._kinds = {
            "internal": trace.SpanKind.INTERNAL,
            "client": trace.SpanKind.CLIENT,
            "server": trace.SpanKind.SERVER,
            "producer": trace.SpanKind.PRODUCER,
            "consumer": trace.SpanKind.CONSUMER,
        }
        self._error = trace.Status(trace.StatusCode.ERROR)

    def _remote(self, traceparent: str) -> Any:
        return self._propagator.extract({"traceparent": traceparent})

    def start(
        self, name: str, attributes: Mapping[str, Any] | None, kind: str, parent: str | None
    ) -> tuple[Any, Any]:
        clean = {
            k: v for k, v in (attributes or {}).items() if isinstance(v, (str, bool, int, float))
        }
        span = self.tracer.start_span(
            name,
            context=self._remote(parent) if parent else None,
            kind=self._kinds[kind],
            attributes=clean,
        )
        token = self._context.attach(self._trace.set_span_in_context(span))
        return span, token

    def end(self, span: Any, token: Any, exc_type: type[BaseException] | None) -> None:
        try:
            if exc_type is not None:
                span.set_attribute("error.type", exc_type.__name__)
                span.set_status(self._error)
        finally:
            self._context.detach(token)
            span.end()

    def attach_remote(self, traceparent: str) -> Any:
        return self._context.attach(self._remote(traceparent))

    def detach(self, token: Any) -> None:
        self._context.detach(token)

    def current_traceparent(self) -> str | None:
        ctx = self._trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            return None
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"

    def flush(self) -> None:
        self.provider.force_flush()

    def shutdown(self) -> None:
        self.provider.shutdown()


def _drop_empty(env: Mapping[str, str]) -> None:
    """An empty ``OTEL_*`` variable means unset (a workflow passes empty inputs on), so the
    exporter and the SDK, which read ``os.environ`` themselves, fall back to defaults."""
    if env is os.environ:
        for key in [k for k, v in os.environ.items() if k.startswith("OTEL_") and not v.strip()]:
            del os.environ[key]


def backend_from_env(env: Mapping[str, str]) -> Backend:
    """A backend exporting where the environment says (see the module docstring)."""
    _drop_empty(env)
    exporters = _exporters(env)
    sdk_trace = _import_sdk("tracing")
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = sdk_trace.TracerProvider(resource=_resource(env, "forgeflow"))
    for _name, exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Backend(provider)


def backend_for_exporter(exporter: Any, *, service_name: str) -> Backend:
    """A backend handing every ended span to ``exporter`` at once (tests)."""
    sdk_trace = _import_sdk("tracing")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = sdk_trace.TracerProvider(
        resource=_resource({}, service_name), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Backend(provider)
