"""The MCP server over streamable HTTP: loopback by default, a bearer token off it.

The token is read from ``FORGEFLOW_MCP_TOKEN`` (never from the command line, where other
users of the machine could read it). Off loopback the server refuses to start without
one; with one, every request must carry ``Authorization: Bearer TOKEN`` or gets 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from agents.errors import InputError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

TOKEN_ENV = "FORGEFLOW_MCP_TOKEN"
DEFAULT_HOST = "127.0.0.1"
PATH = "/mcp"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPV6]:PORT`` or ``:PORT`` (loopback) as (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--http {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    host = host.strip("[]") or DEFAULT_HOST
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token(host: str, token: str | None) -> None:
    """Off loopback a token is required; an empty one is no token."""
    if not is_loopback(host) and not token:
        raise InputError(
            f"--http {host}: not a loopback address; set {TOKEN_ENV} to a secret bearer "
            "token that clients must send (or listen on 127.0.0.1)"
        )


class BearerAuth:
    """ASGI middleware: HTTP requests must carry ``Authorization: Bearer TOKEN``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                body = json.dumps({"error": "missing or wrong bearer token"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="forgeflow"'),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def serve_http(app: MCPServer, host: str, port: int, token: str | None) -> None:
    """Serve ``app`` on http://HOST:PORT/mcp until interrupted."""
    import anyio
    import uvicorn

    check_token(host, token)
    asgi: Any = app.streamable_http_app(streamable_http_path=PATH, host=host)
    if token:
        asgi = BearerAuth(asgi, token)
    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve)
