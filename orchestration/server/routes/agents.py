"""The registry's agents with their schemas."""

from __future__ import annotations

from fastapi import APIRouter

from agents.errors import NotFoundError, UnknownAgentError
from agents.registry import default_registry
from orchestration.server.errors import responses
from orchestration.server.models import AgentDetail, AgentSummary

router = APIRouter(prefix="/v1/agents", tags=["agents"])


def _summaries() -> list[AgentSummary]:
    return [
        AgentSummary(
            name=info.name,
            version=info.version,
            description=info.description,
            input_model=info.input_model,
            output_model=info.output_model,
            source=info.source,
        )
        for info in default_registry().describe()
    ]


@router.get("", response_model=list[AgentSummary], summary="Agents and their types")
def list_agents() -> list[AgentSummary]:
    return _summaries()


@router.get(
    "/{name}",
    response_model=AgentDetail,
    summary="An agent's input, output and settings schemas",
    responses=responses(404),
)
def get_agent(name: str) -> AgentDetail:
    registry = default_registry()
    try:
        cls = registry.get(name)
    except UnknownAgentError as exc:
        raise NotFoundError(exc.one_line()) from None
    summary = next(s for s in _summaries() if s.name == name)
    settings = cls.settings_model.model_json_schema() if cls.settings_model else None
    return AgentDetail(
        **summary.model_dump(),
        input_schema=cls.input_model.model_json_schema(),
        output_schema=cls.output_model.model_json_schema(),
        settings_schema=settings,
    )
