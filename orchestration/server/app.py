"""The FastAPI application: routers per resource, the store and workers in its lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from orchestration.server import errors
from orchestration.server.config import ServerConfig
from orchestration.server.deps import ServerState, require_token
from orchestration.server.limits import BodyLimit
from orchestration.state.open import open_store


def _decisions_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Document the decisions body as the review agents' own decisions models (found in
    the registry, so the door names no application)."""
    from orchestration.pipeline.queued_runs import decisions_models

    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    refs = []
    for model in dict.fromkeys(decisions_models().values()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        refs.append({"$ref": f"#/components/schemas/{model.__name__}"})
    if not refs:
        return openapi
    post = openapi["paths"]["/v1/runs/{run_id}/decisions"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    body["schema"] = refs[0] if len(refs) == 1 else {"anyOf": refs}
    return openapi


def create_app(config: ServerConfig, *, dispatcher: Any = None) -> FastAPI:
    """The app for ``config``. ``dispatcher`` hands runs to workers (default: embedded
    workers, or the PostgreSQL job queue when ``config.embedded_workers`` is False)."""
    from orchestration.server.routes import agents, health, runs, webhooks

    config.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await asyncio.to_thread(open_store, config.state)
        chosen = dispatcher
        if chosen is None:
            if config.embedded_workers:
                from orchestration.server.workers import EmbeddedWorkers

                chosen = EmbeddedWorkers(config.state, config.data_dir, config.workers)
            else:
                from orchestration.server.queue import JobQueue

                chosen = JobQueue(config.state, config.data_dir, config.workers)
        app.state.forgeflow = ServerState(config=config, store=store, dispatcher=chosen)
        await chosen.start(store)
        try:
            yield
        finally:
            await chosen.stop()
            store.close()

    app = FastAPI(
        title="Forgeflow",
        version="1",
        summary="Typed multi-agent pipelines as a service",
        description=(
            "Start a pipeline run on an uploaded input, watch it (status, server-sent "
            "events), read its artifacts and report, deliver a review's decisions; GitHub "
            "webhooks start runs for changed diagrams."
        ),
        lifespan=lifespan,
    )
    errors.install(app)
    guarded = [Depends(require_token)] if config.auth_required else []
    unauthorized = errors.responses(401) if config.auth_required else None
    app.include_router(runs.router, dependencies=guarded, responses=unauthorized)
    app.include_router(agents.router, dependencies=guarded, responses=unauthorized)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _decisions_schema(errors.add_error_schemas(build_openapi()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
