"""Run the app under uvicorn (``python -m orchestration serve``)."""

from __future__ import annotations

import importlib.util

from agents.errors import ConfigError
from orchestration.server.config import ServerConfig


def require_extra() -> None:
    """One line naming the extra when FastAPI or uvicorn is not installed."""
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"the server needs {', '.join(missing)}: pip install 'forgeflow[server]'")


def serve(config: ServerConfig) -> None:
    """Serve until interrupted (SIGINT/SIGTERM: running runs finish, the rest resume
    at the next start)."""
    require_extra()
    config.check()
    import uvicorn

    from orchestration.server.app import create_app
    from orchestration.state.open import open_store

    # an unreachable store (or queue) is one line before the server starts, not a traceback
    open_store(config.state).close()
    if config.is_postgres:
        from orchestration.server.queue import ensure_schema

        ensure_schema(config.state)

    app = create_app(config)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
