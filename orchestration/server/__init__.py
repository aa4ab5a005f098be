"""The HTTP door: runs, artifacts, reports, progress events, decisions, GitHub webhooks, workers."""

from __future__ import annotations

from typing import Any

from orchestration.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    # FastAPI is imported only when the app is built, not with the configuration.
    if name == "create_app":
        from orchestration.server.app import create_app

        return create_app
    if name == "serve":
        from orchestration.server.main import serve

        return serve
    raise AttributeError(name)
