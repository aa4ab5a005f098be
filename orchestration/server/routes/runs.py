"""Runs: start, watch (status, server-sent events), read artifacts and reports, review."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from agents.errors import InputError
from orchestration.pipeline.queued_runs import (
    FINISHED,
    EventType,
    RunStatus,
    decode_base64,
    read_report,
    read_run,
    read_stage,
    start_run,
    submit_decisions,
)
from orchestration.runtime.artifact import Envelope
from orchestration.server.deps import State
from orchestration.server.errors import responses
from orchestration.server.models import RunRequest, RunView
from orchestration.server.pipelines import committed_pipeline

router = APIRouter(prefix="/v1/runs", tags=["runs"])

#: Seconds between two looks at a run while streaming its events.
EVENT_POLL_S = 0.2
#: A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0


#: One server-sent event: ``id``, ``event`` (the type) and ``data`` (a RunEvent as JSON).
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string", "enum": list(EventType.__args__)},  # type: ignore[attr-defined]
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The event as JSON (schema RunEvent)",
        },
    },
    "required": ["id", "event", "data"],
}


@router.post(
    "",
    status_code=202,
    response_model=RunView,
    summary="Start a pipeline on an input; answers at once",
    responses=responses(400, 409, 413, 422, 503),
)
async def create_run(body: RunRequest, state: State, response: Response) -> RunView:
    from orchestration.pipeline.runner import parse_settings

    if (body.pipeline is None) == (body.pipeline_yaml is None):
        raise InputError(
            "give pipeline (a committed pipeline's name) or pipeline_yaml, one of them"
        )
    text = (
        committed_pipeline(state, body.pipeline)
        if body.pipeline is not None
        else str(body.pipeline_yaml)
    )
    settings = parse_settings(body.settings)
    data = decode_base64(body.input.content_base64, "input.content_base64")
    record = await asyncio.to_thread(
        start_run,
        state.store,
        pipeline_yaml=text,
        input_name=body.input.name,
        input_bytes=data,
        settings=settings,
        run_id=body.run_id,
        allowed_settings=state.config.allowed_settings,
        trusted_pipeline=body.pipeline is not None,
    )
    await state.dispatcher.submit_async(record.id)
    response.headers["Location"] = f"/v1/runs/{record.id}"
    return RunView.of(record)


@router.get(
    "/{run_id}",
    response_model=RunView,
    summary="A run: status, stages with timings, usage",
    responses=responses(404, 503),
)
async def get_run(run_id: str, state: State) -> RunView:
    return RunView.of(await asyncio.to_thread(read_run, state.store, run_id))


@router.get(
    "/{run_id}/artifacts/{stage:path}",
    response_model=Envelope,
    summary="The artifact a stage stored (e.g. vision, analysis/security)",
    responses=responses(404, 503),
)
async def get_artifact(run_id: str, stage: str, state: State) -> Any:
    env = await asyncio.to_thread(read_stage, state.store, run_id, stage)
    return env.model_dump(mode="json")


@router.get(
    "/{run_id}/report",
    response_class=PlainTextResponse,
    summary="The markdown report of a finished run",
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        **responses(404, 503),
    },
)
async def get_report(run_id: str, state: State) -> PlainTextResponse:
    text = await asyncio.to_thread(read_report, state.store, run_id)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get(
    "/{run_id}/events",
    summary="Server-sent events: stage started/finished/failed, waiting for review, done",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An event stream; it ends when the run finishes or waits for review",
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        },
        **responses(404, 503),
    },
)
async def run_events(
    run_id: str,
    state: State,
    last_event_id: Annotated[str | None, Header(description="Resume after this event")] = None,
) -> StreamingResponse:
    await asyncio.to_thread(read_run, state.store, run_id)  # 404 before the stream starts
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0

    async def stream() -> AsyncIterator[str]:
        sent = after
        quiet = 0.0
        while True:
            record = await asyncio.to_thread(read_run, state.store, run_id)
            for event in record.events[sent:]:
                yield f"id: {event.id}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"
                sent = event.id
                quiet = 0.0
            if record.status in FINISHED or record.status is RunStatus.WAITING_FOR_REVIEW:
                return
            await asyncio.sleep(EVENT_POLL_S)
            quiet += EVENT_POLL_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.post(
    "/{run_id}/decisions",
    status_code=202,
    response_model=RunView,
    summary="A review's decisions; the run resumes from its review stage",
    responses=responses(400, 404, 409, 413, 422, 503),
)
async def post_decisions(
    run_id: str, body: Annotated[dict[str, Any], Body()], state: State
) -> RunView:
    record = await asyncio.to_thread(submit_decisions, state.store, run_id, body)
    await state.dispatcher.submit_async(record.id)
    return RunView.of(record)
