"""What ``python -m orchestration serve`` is configured with, and the checks made on it.

Tokens (``FORGEFLOW_API_TOKENS``) are comma-separated: each a token, or ``sha256:HEX``,
the SHA-256 of one. Only hashes are kept; a presented token is hashed and compared with
each in constant time. The server refuses to listen beyond loopback without tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.errors import ConfigError

#: The embedded default: workers in the server process on a SQLite file.
DEFAULT_STATE = "sqlite:///.forgeflow/server.db"
DEFAULT_DATA_DIR = Path(".forgeflow") / "server"
#: Largest request body (a 20 MB diagram, base64-encoded in JSON, fits).
DEFAULT_MAX_BODY = 32 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Settings a request may give (the rest name files or programs on the server's machine,
#: or are the operator's: --allow-set adds to these).
DEFAULT_ALLOWED_SETTINGS = frozenset(
    {"interactive.yes", "cost_estimation.region", "module_development.iac"}
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_tokens(text: str | None) -> tuple[str, ...]:
    """``FORGEFLOW_API_TOKENS`` as SHA-256 hex digests (empty: no authentication)."""
    hashes = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("sha256:"):
            value = item.removeprefix("sha256:").lower()
            if not _HEX64.fullmatch(value):
                raise ConfigError(
                    "FORGEFLOW_API_TOKENS: a 'sha256:' entry needs 64 hex digits "
                    "(the SHA-256 of the token)"
                )
            hashes.append(value)
        else:
            hashes.append(token_hash(item))
    return tuple(hashes)


def token_ok(presented: str, hashes: tuple[str, ...]) -> bool:
    """Whether ``presented`` is one of the configured tokens (constant time per entry)."""
    digest = token_hash(presented)
    found = False
    for expected in hashes:
        found |= hmac.compare_digest(digest, expected)
    return found


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ServerConfig:
    """Everything the app and its workers need."""

    state: str = DEFAULT_STATE
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    #: Run workers inside the server process (False: ``orchestration worker`` processes
    #: on a PostgreSQL store take the runs).
    embedded_workers: bool = True
    token_hashes: tuple[str, ...] = ()
    webhook_secret: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    pipelines_dir: Path = Path("pipelines")
    max_body_bytes: int = DEFAULT_MAX_BODY
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    webhook_pipeline: str = "synthforge"
    webhook_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    allowed_settings: frozenset[str] = DEFAULT_ALLOWED_SETTINGS

    @property
    def auth_required(self) -> bool:
        return bool(self.token_hashes)

    @property
    def is_postgres(self) -> bool:
        return self.state.startswith(("postgresql:", "postgres:"))

    def check(self) -> None:
        """Refuse configurations that would expose runs or cannot work."""
        if not is_loopback_host(self.host) and not self.token_hashes:
            raise ConfigError(
                f"--host {self.host}: listening beyond loopback needs API tokens; "
                "set FORGEFLOW_API_TOKENS (tokens or sha256: hashes of them)"
            )
        if self.workers < 0:
            raise ConfigError("--workers: must be 0 or more")
        if not self.embedded_workers and not self.is_postgres:
            raise ConfigError(
                "--queue postgres needs a PostgreSQL state store (--state postgresql://...)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **kwargs: Any) -> ServerConfig:
        """A config from options (``kwargs``) and the environment's tokens, secret, GitHub."""
        config = cls(**{k: v for k, v in kwargs.items() if v is not None})
        config.token_hashes = parse_tokens(env.get("FORGEFLOW_API_TOKENS"))
        config.webhook_secret = env.get("FORGEFLOW_WEBHOOK_SECRET") or None
        config.github_token = env.get("GITHUB_TOKEN") or None
        if env.get("GITHUB_API_URL"):
            config.github_api_url = env["GITHUB_API_URL"].rstrip("/")
        return config
