"""One JSON error shape for every failure: ``{"error": {"code": ..., "message": ...}}``.

``message`` is the one line the CLI would print after ``error:`` for the same mistake.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agents.base import json_path
from agents.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    ForgeflowError,
    NotFoundError,
    StateStoreError,
)

log = logging.getLogger("forgeflow.server")


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable word: bad_input, unauthorized, not_found, ...")
    message: str = Field(description="One line naming the thing and what is wrong")


class ErrorBody(BaseModel):
    error: ErrorDetail


_STATUS_CODE = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "bad_input",
    500: "internal_error",
    503: "unavailable",
}

_DESCRIPTIONS = {
    400: "Malformed request body (not JSON)",
    401: "Missing or wrong bearer token (or webhook signature)",
    404: "No such run, stage, report or agent",
    409: "The run is not in a state that allows this",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Bad input (the CLI's one-line message)",
    503: "Not available (state store unreachable, or not configured)",
}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": _STATUS_CODE.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


ERROR_SCHEMA_REF = "#/components/schemas/ErrorBody"


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route may give: always JSON, whatever the
    route's own content type (a report is markdown, its errors are not)."""
    return {
        code: {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
        }
        for code in codes
    }


def add_error_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put ErrorBody (and what it refers to) into the document's components."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(defs)
    components["ErrorBody"] = schema
    return openapi


def status_of(exc: ForgeflowError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, StateStoreError | ConfigError):
        return 503
    return 422


def _one_line_validation(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = list(first.get("loc", ()))
    where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "request"
    path = json_path(loc[1:]) if len(loc) > 1 else "$"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where} {path}: {first.get('msg', 'invalid')}{more}"


def install(app: FastAPI) -> None:
    @app.exception_handler(ForgeflowError)
    async def _forgeflow(_: Request, exc: ForgeflowError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.one_line(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _one_line_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, dict(exc.headers or {}) or None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "internal error; see the server log")
