"""Request and response models: they are the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestration.pipeline.queued_runs import ReviewWait, RunRecord, RunStatus, StageInfo


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputFile(_Strict):
    """The run's input: a diagram, an image or a JSON artifact, base64-encoded."""

    name: str = Field(
        description="File name (its suffix tells a diagram from an artifact)",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,127}$",
        examples=["webapp.drawio"],
    )
    content_base64: str = Field(description="The file's bytes, base64-encoded")


class RunRequest(_Strict):
    """Start a pipeline on one input. Give ``pipeline`` (a committed pipeline's name) or
    ``pipeline_yaml`` (a pipeline file's text)."""

    pipeline: str | None = Field(
        default=None,
        description="A committed pipeline: NAME for pipelines/NAME.yaml",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        examples=["synthforge"],
    )
    pipeline_yaml: str | None = Field(
        default=None, description="A pipeline file (YAML), instead of a committed one"
    )
    input: InputFile
    settings: list[str] = Field(
        default_factory=list,
        description="AGENT.KEY=VALUE, as --set of orchestration run",
        examples=[["interactive.yes=true"]],
    )
    run_id: str | None = Field(
        default=None,
        description="Run id (default: a new one)",
        pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$",
    )


class RunLinks(BaseModel):
    self: str
    events: str
    report: str
    decisions: str
    artifacts: str = Field(description="Prefix: append a stage name")


class RunView(BaseModel):
    """A run: status, stages with timings, usage, and where the review waits."""

    id: str
    pipeline: str
    input_name: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    stages: list[StageInfo]
    review: ReviewWait | None
    error: str | None
    failed_stage: str | None
    output_stage: str | None
    attempts: int
    worker: str | None = Field(description="HOST:PID of the last worker to run it")
    input_tokens: int = Field(description="Model tokens in, over every stage")
    output_tokens: int = Field(description="Model tokens out, over every stage")
    source: dict[str, Any] | None
    links: RunLinks

    @classmethod
    def of(cls, record: RunRecord) -> RunView:
        base = f"/v1/runs/{record.id}"
        return cls(
            id=record.id,
            pipeline=record.pipeline,
            input_name=record.input_name,
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            stages=record.stages,
            review=record.review,
            error=record.error,
            failed_stage=record.failed_stage,
            output_stage=record.output_stage,
            attempts=record.attempts,
            worker=record.worker,
            input_tokens=sum(s.input_tokens for s in record.stages),
            output_tokens=sum(s.output_tokens for s in record.stages),
            source=record.source,
            links=RunLinks(
                self=base,
                events=f"{base}/events",
                report=f"{base}/report",
                decisions=f"{base}/decisions",
                artifacts=f"{base}/artifacts/",
            ),
        )


class AgentSummary(BaseModel):
    name: str
    version: str
    description: str
    input_model: str
    output_model: str
    source: str


class AgentDetail(AgentSummary):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    settings_schema: dict[str, Any] | None = Field(description="None: takes no settings")


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    state: str = Field(
        description="The kind of state store (sqlite, postgresql, directory); where it is "
        "is not told to unauthenticated callers"
    )
    workers: int = Field(description="Workers in the server process (0: worker processes only)")


class WebhookAnswer(BaseModel):
    delivery: str
    event: str
    status: str = Field(description="accepted, pong, duplicate or ignored")
    detail: str | None = None
