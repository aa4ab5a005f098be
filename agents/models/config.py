"""Where the hosted model is: endpoint, key and API version, from the environment or the CLI.

Forgeflow talks to any OpenAI-compatible chat-completions endpoint:

==========================  ===========================================================
``FORGEFLOW_MODEL_BASE_URL``  ``https://api.openai.com/v1`` for OpenAI, the resource URL
                              (``https://NAME.openai.azure.com``) for Azure OpenAI, or a
                              self-hosted server's ``http://HOST:PORT/v1``
``FORGEFLOW_MODEL_API_KEY``   the key (a secret: never logged nor written anywhere)
``FORGEFLOW_MODEL_API_VERSION``  Azure OpenAI only (e.g. ``2024-10-21``); setting it
                              selects the Azure protocol (deployment in the path)
``FORGEFLOW_MODEL``           the model (Azure: the deployment) for agents whose
                              ``AgentConfig.model`` is empty
``FORGEFLOW_MODEL_TIMEOUT``   seconds per request (default 60)
==========================  ===========================================================

Nothing configured means no client: agents stay deterministic and nothing touches the
network. The ``openai`` SDK is imported only when a client is actually made.

This module also holds the dated price table used to estimate the cost of a call.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agents.errors import ForgeflowError

if TYPE_CHECKING:
    pass

ENV_BASE_URL = "FORGEFLOW_MODEL_BASE_URL"
ENV_API_KEY = "FORGEFLOW_MODEL_API_KEY"
ENV_API_VERSION = "FORGEFLOW_MODEL_API_VERSION"
ENV_MODEL = "FORGEFLOW_MODEL"
ENV_TIMEOUT = "FORGEFLOW_MODEL_TIMEOUT"

DEFAULT_TIMEOUT = 60.0


class ModelConfigError(ForgeflowError):
    """The model endpoint is configured wrongly (bad URL, key without URL, bad timeout)."""


class Secret:
    """A string that does not show itself: ``repr``/``str`` print ``'***'``.

    Use :meth:`reveal` at the one place the value is needed (the HTTP client).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ModelEndpoint:
    """An OpenAI-compatible endpoint. ``api_version`` set means Azure OpenAI."""

    base_url: str
    api_key: Secret = field(default_factory=lambda: Secret(""))
    api_version: str | None = None
    model: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def kind(self) -> str:
        """``"azure"`` or ``"openai"`` (any server speaking the OpenAI protocol)."""
        return "azure" if self.api_version else "openai"

    @property
    def host(self) -> str:
        """The host (and port) of the endpoint, for messages: never the key."""
        return urlsplit(self.base_url).netloc or self.base_url


def endpoint_from_env(
    env: Mapping[str, str] | None = None,
    *,
    base_url: str | None = None,
    api_version: str | None = None,
    model: str | None = None,
    timeout: float | None = None,
) -> ModelEndpoint | None:
    """The configured endpoint, or None when no base URL is set anywhere.

    Keyword arguments (from CLI options) win over the environment. The key is read from
    ``FORGEFLOW_MODEL_API_KEY`` only, so that it never appears on a command line.
    Raises :class:`ModelConfigError` for a key without a URL, a URL that is not
    ``http(s)://HOST…``, or a timeout that is not a positive number.
    """
    env = os.environ if env is None else env
    url = (base_url or env.get(ENV_BASE_URL) or "").strip()
    key = (env.get(ENV_API_KEY) or "").strip()
    if not url:
        if key:
            raise ModelConfigError(
                f"{ENV_API_KEY} is set but {ENV_BASE_URL} is not; set it to the endpoint "
                "(https://api.openai.com/v1 for OpenAI)"
            )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ModelConfigError(
            f"{ENV_BASE_URL} {url!r} is not an http(s) URL; e.g. https://api.openai.com/v1"
        )
    version = (api_version or env.get(ENV_API_VERSION) or "").strip() or None
    chosen_model = (model or env.get(ENV_MODEL) or "").strip() or None
    seconds = timeout
    if seconds is None:
        raw = (env.get(ENV_TIMEOUT) or "").strip()
        try:
            seconds = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise ModelConfigError(f"{ENV_TIMEOUT} {raw!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ModelConfigError(f"{ENV_TIMEOUT} must be a positive number of seconds")
    return ModelEndpoint(
        base_url=url.rstrip("/"),
        api_key=Secret(key),
        api_version=version,
        model=chosen_model,
        timeout=seconds,
    )


# --------------------------------------------------------------------------- prices

#: When the prices below were last checked against the providers' public price lists.
PRICES_AS_OF = "2025-06-01"

#: US dollars per million (input, output) tokens, standard tier, by model name. Dated
#: snapshots (``gpt-4o-2024-08-06``) are priced as their model. Azure deployments are
#: priced only when the deployment is named after the model.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
}

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_of(model: str) -> tuple[float, float] | None:
    """(input, output) US dollars per million tokens for ``model``, or None if unknown."""
    name = model.strip().lower()
    return PRICES_PER_MILLION.get(name) or PRICES_PER_MILLION.get(_SNAPSHOT.sub("", name))


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated US dollars for one call (prices as of :data:`PRICES_AS_OF`); None if the
    model is not in :data:`PRICES_PER_MILLION`."""
    price = price_of(model)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
