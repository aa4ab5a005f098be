"""Structured logs: JSON lines (for machines) or plain text (for people), on stderr.

``configure_logging()`` installs one handler on the root logger. With JSON output each
record becomes one line holding ``timestamp``, ``level``, ``logger``, ``message`` and every
extra field passed with ``extra=`` (``run_id``, ``stage``, ``agent``, ``duration_ms`` …)::

    {"timestamp": "2024-05-01T12:00:00.123+00:00", "level": "INFO",
     "logger": "forgeflow.runs", "message": "vision: agent vision succeeded in 8.7 ms",
     "run_id": "...", "stage": "vision", "agent": "vision", "duration_ms": 8.747, ...}

JSON is chosen by ``json_logs=True`` or by ``FORGEFLOW_LOG_FORMAT=json`` in the environment.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agents.errors import ForgeflowError

FORMAT_ENV = "FORGEFLOW_LOG_FORMAT"
LEVEL_ENV = "FORGEFLOW_LOG_LEVEL"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached to ``record`` with ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            doc.setdefault(key, _jsonable(value))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value …`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = extra_fields(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


class _ForgeflowHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so reconfiguring replaces it."""


def wants_json(json_logs: bool | None = None, env: Mapping[str, str] = os.environ) -> bool:
    """Whether logs should be JSON: the argument if given, else ``$FORGEFLOW_LOG_FORMAT``."""
    if json_logs is not None:
        return json_logs
    return env.get(FORMAT_ENV, "").strip().lower() == "json"


def configure_logging(
    json_logs: bool | None = None,
    level: str | int = "INFO",
    *,
    env: Mapping[str, str] = os.environ,
) -> logging.Handler:
    """Send logs to stderr as JSON lines or plain text; return the handler installed.

    Calling it again replaces the handler it installed before (never anyone else's).
    """
    root = logging.getLogger()
    try:
        root.setLevel(level.upper() if isinstance(level, str) else level)
    except (ValueError, TypeError):
        raise ForgeflowError(
            f"log level {level!r}: unknown; use DEBUG, INFO, WARNING or ERROR"
        ) from None
    for old in [h for h in root.handlers if isinstance(h, _ForgeflowHandler)]:
        root.removeHandler(old)
    handler = _ForgeflowHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if wants_json(json_logs, env) else TextFormatter())
    root.addHandler(handler)
    return handler


def configure_logging_from_env(
    default_level: str = "WARNING", env: Mapping[str, str] = os.environ
) -> logging.Handler:
    """:func:`configure_logging` as the CLIs do it, from ``$FORGEFLOW_LOG_LEVEL`` and
    ``$FORGEFLOW_LOG_FORMAT``; an empty variable means unset. A bad value is a
    :class:`ForgeflowError` naming the variable."""
    level = env.get(LEVEL_ENV, "").strip() or default_level
    fmt = env.get(FORMAT_ENV, "").strip().lower()
    if fmt not in ("", "json", "text"):
        raise ForgeflowError(f"{FORMAT_ENV}={fmt!r}: unknown; use json or text")
    try:
        return configure_logging(level=level, env=env)
    except ForgeflowError as exc:
        raise ForgeflowError(f"{LEVEL_ENV}: {exc.one_line()}") from None
