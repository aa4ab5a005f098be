"""GitHub webhooks: ``POST /v1/webhooks/github``.

A delivery is verified and parsed with gidgethub's sans-I/O ``Event.from_http`` against
``FORGEFLOW_WEBHOOK_SECRET`` (``X-Hub-Signature-256`` only: the SHA-1 header is not
enough); a bad or missing signature is a 401 and nothing is stored. Each verified
``X-GitHub-Delivery`` is stored before the answer, so a redelivery is acknowledged and
not processed again. ``ping`` is answered; a ``push`` or ``pull_request`` (opened,
reopened, synchronize) is answered with a 202 at once and processed afterwards: each added
or changed diagram is fetched through the REST contents API and becomes a run of the
webhook pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Request
from fastapi.responses import JSONResponse

from agents.errors import AuthError, ConfigError, InputError
from orchestration.server.deps import State
from orchestration.server.errors import responses
from orchestration.server.github_runs import DELIVERY_KEY
from orchestration.server.models import WebhookAnswer

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = logging.getLogger("forgeflow.server")

_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,64}")
_deliveries_lock = threading.Lock()


@router.post(
    "/github",
    response_model=WebhookAnswer,
    status_code=202,
    summary="A GitHub webhook delivery (push, pull_request, ping)",
    responses={
        200: {"model": WebhookAnswer, "description": "ping answered, or nothing to do"},
        **responses(400, 401, 413, 415, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def github_webhook(
    request: Request,
    state: State,
    background: BackgroundTasks,
    x_github_event: Annotated[str | None, Header(description="The event's name")] = None,
    x_github_delivery: Annotated[str | None, Header(description="The delivery's id")] = None,
    x_hub_signature_256: Annotated[
        str | None, Header(description="sha256=HMAC of the body with the webhook secret")
    ] = None,
) -> Any:
    from gidgethub import BadRequest, ValidationFailure
    from gidgethub.sansio import Event

    secret = state.config.webhook_secret
    if not secret:
        raise ConfigError("webhooks are off: set FORGEFLOW_WEBHOOK_SECRET")
    body = await request.body()
    if not x_hub_signature_256:
        raise AuthError("X-Hub-Signature-256 is missing")
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers.pop("x-hub-signature", None)  # only the SHA-256 signature counts
    headers.setdefault("x-github-event", "")
    headers.setdefault("x-github-delivery", "")
    try:
        event = Event.from_http(headers, body, secret=secret)
    except ValidationFailure:
        raise AuthError(
            "X-Hub-Signature-256 does not match the body (check FORGEFLOW_WEBHOOK_SECRET)"
        ) from None
    except BadRequest as exc:
        if int(exc.status_code) == 415:
            return _error(415, "expected Content-Type: application/json")
        raise InputError("webhook body is not valid JSON") from None
    if not x_github_event or not x_github_delivery or not _DELIVERY.fullmatch(x_github_delivery):
        raise InputError("X-GitHub-Event and X-GitHub-Delivery (a GUID) are required")
    if not isinstance(event.data, dict):
        raise InputError("webhook body is not a JSON object")
    answer = WebhookAnswer(delivery=event.delivery_id, event=event.event, status="accepted")
    work = _wanted(event.event, event.data)
    first = await asyncio.to_thread(
        _remember, state, event.delivery_id, event.event, "queued" if work else "done"
    )
    if not first:
        answer.status = "duplicate"
        answer.detail = "this delivery was received before; not processed again"
        return JSONResponse(answer.model_dump(), status_code=200)
    if event.event == "ping":
        answer.status = "pong"
        return JSONResponse(answer.model_dump(), status_code=200)
    if not work:
        answer.status = "ignored"
        what = "no diagram added or changed" if event.event == "push" else "nothing to do"
        action = event.data.get("action")
        answer.detail = f"{what} ({event.event}{' ' + str(action) if action else ''})"
        return JSONResponse(answer.model_dump(), status_code=200)
    from orchestration.server.github_runs import process_delivery

    background.add_task(process_delivery, state, event.delivery_id, event.event, event.data)
    return answer


def _error(status: int, message: str) -> JSONResponse:
    from orchestration.server.errors import error_response

    return error_response(status, message)


def _wanted(event: str, data: dict[str, Any]) -> bool:
    """Whether the delivery may start runs (a push names its files; a pull request's are
    listed through the API afterwards)."""
    if event == "push":
        from orchestration.server.github_runs import push_diagrams

        return not data.get("deleted") and bool(push_diagrams(data))
    if event == "pull_request":
        return data.get("action") in ("opened", "reopened", "synchronize")
    return False


def _remember(state: Any, delivery: str, event: str, status: str) -> bool:
    """Store the delivery; False when it was stored before (a redelivery)."""
    from datetime import UTC, datetime

    key = DELIVERY_KEY + delivery
    with _deliveries_lock:
        if state.store.get_value(key) is not None:
            return False
        state.store.put_value(
            key,
            {
                "event": event,
                "received_at": datetime.now(UTC).isoformat(),
                "status": status,
                "runs": [],
            },
        )
    return True
