"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter

from agents.errors import StateStoreError
from orchestration.server.deps import State
from orchestration.server.errors import responses
from orchestration.server.models import Health, Ready

router = APIRouter(tags=["health"])
log = logging.getLogger("forgeflow.server")


@router.get("/healthz", response_model=Health, summary="The process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Ready,
    summary="The state store is reachable",
    responses=responses(503),
)
async def readyz(state: State) -> Ready:
    try:
        await asyncio.to_thread(state.store.get_value, "forgeflow.readyz")
    except Exception as exc:
        log.warning("readyz: state store %s: %s", state.store.location, exc)
        raise StateStoreError("state store not reachable; see the server log") from exc
    workers = state.dispatcher.workers
    location = state.store.location
    kind = location.split(":", 1)[0] if "://" in location else "directory"
    return Ready(status="ready", state=kind, workers=workers)
