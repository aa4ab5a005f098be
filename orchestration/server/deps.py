"""Dependencies of the routes: the server's state (config, store, workers) and auth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agents.errors import AuthError
from orchestration.server.config import ServerConfig, token_ok
from orchestration.state.base import StateStore


class Dispatcher(Protocol):
    """Hands runs to workers."""

    workers: int

    async def start(self, store: StateStore) -> list[str]:
        """Start; return the ids of runs queued again (left unfinished before)."""

    async def stop(self) -> None:
        """Stop taking runs."""

    def submit(self, run_id: str) -> None:
        """Queue a run (from any thread); returns once it is queued."""

    async def submit_async(self, run_id: str) -> None:
        """Queue a run from the event loop."""


@dataclass
class ServerState:
    config: ServerConfig
    store: StateStore
    dispatcher: Dispatcher


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.forgeflow
    return state


State = Annotated[ServerState, Depends(server_state)]

_bearer = HTTPBearer(auto_error=False, description="A token of FORGEFLOW_API_TOKENS")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries one of the configured bearer tokens."""
    hashes = request.app.state.forgeflow.config.token_hashes
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token: send Authorization: Bearer TOKEN")
    if not token_ok(credentials.credentials, hashes):
        raise AuthError("bearer token not accepted")
