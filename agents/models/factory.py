"""The model client for the configured endpoint (or none), made only when one is configured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from agents.models.config import endpoint_from_env

if TYPE_CHECKING:
    from agents.model_client import ModelClient


def model_client_from_env(
    env: Mapping[str, str] | None = None,
    *,
    base_url: str | None = None,
    api_version: str | None = None,
    model: str | None = None,
) -> ModelClient | None:
    """A hosted-model client for the configured endpoint, or None when none is configured.

    Only with an endpoint configured is :mod:`agents.models.openai_client` (and the ``openai``
    SDK) imported.
    """
    endpoint = endpoint_from_env(env, base_url=base_url, api_version=api_version, model=model)
    if endpoint is None:
        return None
    from agents.models.openai_client import OpenAIModelClient

    return OpenAIModelClient(endpoint)
