"""A local stand-in for an OpenAI-compatible chat-completions endpoint, on 127.0.0.1.

It speaks the protocol the ``openai`` SDK speaks:

- ``POST /v1/chat/completions`` (OpenAI and self-hosted servers, key in
  ``Authorization: Bearer …``);
- ``POST /openai/deployments/{deployment}/chat/completions?api-version=…`` (Azure
  OpenAI, key in the ``api-key`` header).

Each request is checked the way the real service checks it: a JSON body with ``model``
(OpenAI path) and ``messages``; every message a known role with text content or a list of
``text``/``image_url`` parts (an image as an ``https`` URL or a ``data:image/png|jpeg;
base64,…`` URL that decodes); ``response_format`` of type ``text``, ``json_object`` or
``json_schema`` with a valid ``name`` and a ``schema`` object, and with ``strict`` only
where the schema meets the strict rules. A bad request gets a 400 with OpenAI's error body.

Tool calling is spoken as the service speaks it: ``tools`` entries of type ``function``
(a valid, unique name, ``parameters`` a JSON Schema object), and in the conversation an
assistant message with ``tool_calls`` (ids, ``type: function``, ``function.name`` and
``function.arguments`` as text) must be followed by one ``tool`` message per call id
before anything else; a ``tool`` message answering no pending call is refused. A
:class:`ToolCalls` reply answers with ``tool_calls`` (fresh ids, ``finish_reason:
tool_calls``) and no content.

Replies come from a script (:meth:`OpenAIStub.push`), in order, else from ``default``:
a content string/dict/model, a :class:`ToolCalls`, or a fault — an HTTP status with
headers (429 with ``Retry-After``, 500) or a delay before answering (to outlast a client
timeout). Every request is recorded (:attr:`OpenAIStub.requests`).

Also here: :func:`guard_network`, which fails any connection that is not to loopback or
a Unix socket (used as the ``no_external_network`` fixture).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import BaseModel

if TYPE_CHECKING:
    from agents.models.openai_client import OpenAIModelClient

_ROLES = {"system", "developer", "user", "assistant", "tool"}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATA_URL = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp);base64,(?P<data>.+)$", re.S)
_AZURE_PATH = re.compile(r"^/openai/deployments/(?P<deployment>[^/]+)/chat/completions$")


@dataclass
class Fault:
    """An answer that is not a completion: ``status`` with ``headers`` and an error body,
    and/or ``delay`` seconds of silence first."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "the server had an error"
    delay: float = 0.0


@dataclass
class ToolCalls:
    """A reply asking for tools: ``(name, arguments)`` pairs, arguments a dict (sent as
    JSON text) or raw text (a model writing broken JSON)."""

    calls: list[tuple[str, dict[str, Any] | str]]

    @classmethod
    def of(cls, *calls: tuple[str, dict[str, Any] | str]) -> ToolCalls:
        return cls(list(calls))


@dataclass
class Delay:
    """Wait ``seconds`` before answering with ``then`` (a content or a fault)."""

    seconds: float
    then: Any = "{}"


@dataclass
class Recorded:
    """One request as the stand-in saw it."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any
    status: int = 0

    @property
    def deployment(self) -> str | None:
        match = _AZURE_PATH.match(self.path)
        return match["deployment"] if match else None


def strict_problem(schema: Any, where: str = "schema") -> str | None:
    """Why ``schema`` may not be used with ``strict: true``, or None (OpenAI's rules)."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            found = strict_problem(item, f"{where}[{i}]")
            if found:
                return found
        return None
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"{where}: 'additionalProperties' must be false in strict mode"
        missing = set(schema.get("properties", {})) - set(schema.get("required", []))
        if missing:
            return f"{where}: all properties must be required in strict mode ({sorted(missing)})"
    for key, value in schema.items():
        if key in ("enum", "const", "default", "examples"):
            continue
        found = strict_problem(value, f"{where}.{key}")
        if found:
            return found
    return None


def request_problem(body: Any, *, azure: bool) -> tuple[str, str | None] | None:
    """(message, param) when ``body`` is not a valid chat-completions request."""
    if not isinstance(body, dict):
        return "the body must be a JSON object", None
    if not azure and not isinstance(body.get("model"), str):
        return "you must provide a model parameter", "model"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array", "messages"
    problem = tools_problem(body)
    if problem is not None:
        return problem
    pending: list[str] = []  # tool call ids still to be answered
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES:
            return f"{where}: 'role' must be one of {sorted(_ROLES)}", f"{where}.role"
        role = msg["role"]
        if pending and role != "tool":
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(pending)}",
                f"{where}.role",
            )
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in pending:
                return (
                    f"Invalid parameter: {where}: messages with role 'tool' must be a response "
                    "to a preceding message with 'tool_calls'",
                    f"{where}.tool_call_id",
                )
            pending.remove(call_id)
        if role == "assistant" and msg.get("tool_calls") is not None:
            ids = calls_problem(msg["tool_calls"], where)
            if isinstance(ids, tuple):
                return ids
            pending = ids
        content = msg.get("content")
        if isinstance(content, str):
            continue
        if content is None and role == "assistant" and msg.get("tool_calls"):
            continue
        if not isinstance(content, list) or not content:
            return f"{where}: 'content' must be a string or an array of parts", where
        for j, part in enumerate(content):
            pwhere = f"{where}.content[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                if not isinstance(part.get("text"), str):
                    return f"{pwhere}: a text part needs 'text'", pwhere
            elif kind == "image_url":
                if msg["role"] != "user":
                    return f"{pwhere}: image parts are only allowed in user messages", pwhere
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else None
                if not isinstance(url, str):
                    return f"{pwhere}: an image_url part needs image_url.url", pwhere
                if image.get("detail", "auto") not in ("auto", "low", "high"):
                    return f"{pwhere}: image_url.detail must be auto, low or high", pwhere
                match = _DATA_URL.match(url)
                if match:
                    try:
                        base64.b64decode(match["data"], validate=True)
                    except (binascii.Error, ValueError):
                        return f"{pwhere}: the image data URL is not valid base64", pwhere
                elif not url.startswith("https://"):
                    return f"{pwhere}: image URL must be https or a base64 data URL", pwhere
            else:
                return f"{pwhere}: unknown content part type {kind!r}", pwhere
    if pending:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages "
            f"responding to each 'tool_call_id'; unanswered: {', '.join(pending)}",
            "messages",
        )
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return "response_format.type must be text, json_object or json_schema", (
                "response_format.type"
            )
        if kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict):
                return "response_format.json_schema is required", "response_format.json_schema"
            if not isinstance(spec.get("name"), str) or not _NAME.match(spec["name"]):
                return "response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$", (
                    "response_format.json_schema.name"
                )
            if not isinstance(spec.get("schema"), dict):
                return "response_format.json_schema.schema must be an object", (
                    "response_format.json_schema.schema"
                )
            if spec.get("strict"):
                problem = strict_problem(spec["schema"])
                if problem:
                    return f"Invalid schema for response_format: {problem}", (
                        "response_format.json_schema.schema"
                    )
    return None


def tools_problem(body: dict[str, Any]) -> tuple[str, str | None] | None:
    """Why the request's ``tools`` (and ``parallel_tool_calls``) are not valid, or None."""
    tools = body.get("tools")
    if "parallel_tool_calls" in body and not isinstance(body["parallel_tool_calls"], bool):
        return "parallel_tool_calls must be a boolean", "parallel_tool_calls"
    if tools is None:
        return None
    if not isinstance(tools, list) or not tools:
        return "'tools' must be a non-empty array", "tools"
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"{where}.type: only 'function' tools are supported", f"{where}.type"
        fn = tool.get("function")
        if not isinstance(fn, dict):
            return f"{where}.function is required", f"{where}.function"
        name = fn.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            return f"{where}.function.name must match ^[a-zA-Z0-9_-]{{1,64}}$", (
                f"{where}.function.name"
            )
        if name in names:
            return f"{where}.function.name: duplicate tool name {name!r}", f"{where}.function"
        names.add(name)
        if "description" in fn and not isinstance(fn["description"], str):
            return f"{where}.function.description must be a string", f"{where}.function"
        params = fn.get("parameters")
        if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
            return f"{where}.function.parameters must be a JSON Schema object", (
                f"{where}.function.parameters"
            )
        if fn.get("strict") and params is not None:
            problem = strict_problem(params, f"{where}.function.parameters")
            if problem:
                return f"Invalid schema for function {name!r}: {problem}", f"{where}.function"
    return None


def calls_problem(calls: Any, where: str) -> list[str] | tuple[str, str]:
    """The ids of an assistant message's ``tool_calls``, or (message, param) when bad."""
    if not isinstance(calls, list) or not calls:
        return f"{where}.tool_calls must be a non-empty array", f"{where}.tool_calls"
    ids: list[str] = []
    for j, call in enumerate(calls):
        cwhere = f"{where}.tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call.get("id") if isinstance(call, dict) else None, str)
            or call.get("type") != "function"
            or not isinstance(fn, dict)
            or not isinstance(fn.get("name"), str)
            or not isinstance(fn.get("arguments"), str)
        ):
            return (
                f"{cwhere}: a tool call needs 'id', type 'function' and function.name and "
                "function.arguments (a string)",
                cwhere,
            )
        ids.append(call["id"])
    return ids


class OpenAIStub:
    """The stand-in server. Use as a context manager, or through the ``openai_stub`` fixture.

    ``key`` is the API key it accepts (None: any). ``default`` answers requests when the
    script is empty: a content, or a function of the request body returning one.
    """

    def __init__(
        self,
        *,
        key: str | None = None,
        default: Any = None,
        api_version: str = "2024-10-21",
    ) -> None:
        self.key = key
        self.default = default
        self.api_version = api_version
        self.requests: list[Recorded] = []
        self._script: list[Any] = []
        self._call_ids = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- script

    def push(self, *items: Any) -> OpenAIStub:
        """Queue replies: content (str, dict, pydantic model), :class:`ToolCalls`,
        :class:`Fault` or :class:`Delay`."""
        with self._lock:
            self._script.extend(items)
        return self

    def _next(self, body: Any) -> Any:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        if callable(self.default):
            return self.default(body)
        if self.default is not None:
            return self.default
        return Fault(status=500, message="the stand-in has no reply scripted")

    # -- server

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an OpenAI-style client is pointed at."""
        return f"{self.root}/v1"

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``: what an Azure-style client is pointed at."""
        assert self._server is not None, "the stand-in is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OpenAIStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the test output stays readable."""

            def do_POST(self) -> None:  # noqa: N802
                stub._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                stub._send(self, 404, {"error": {"message": "not found", "type": "not_found"}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers that are delaying
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handling

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None
        headers = {k.lower(): v for k, v in handler.headers.items()}
        rec = Recorded(parts.path, query, headers, body)
        with self._lock:
            self.requests.append(rec)
        azure = _AZURE_PATH.match(parts.path)
        if parts.path != "/v1/chat/completions" and not azure:
            return self._error(handler, rec, 404, f"no route {parts.path}", "not_found")
        if azure and query.get("api-version") != [self.api_version]:
            return self._error(
                handler, rec, 404, "Resource not found (api-version missing or unknown)", None
            )
        if self.key is not None:
            given = (
                handler.headers.get("api-key")
                if azure
                else (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
            )
            if given != self.key:
                return self._error(
                    handler, rec, 401, "Incorrect API key provided", "invalid_api_key"
                )
        problem = request_problem(body, azure=bool(azure))
        if problem is not None:
            message, param = problem
            return self._error(handler, rec, 400, message, "invalid_request_error", param)
        item = self._next(body)
        if isinstance(item, Delay):
            if self._stop.wait(item.seconds):
                return None
            item = item.then
        if isinstance(item, Fault):
            if item.delay and self._stop.wait(item.delay):
                return None
            code = "rate_limit_exceeded" if item.status == 429 else "server_error"
            return self._error(handler, rec, item.status, item.message, code, headers=item.headers)
        model = azure["deployment"] if azure else body["model"]
        self._complete(handler, rec, body, model, item)
        return None

    def _complete(
        self, handler: BaseHTTPRequestHandler, rec: Recorded, body: Any, model: str, item: Any
    ) -> None:
        if isinstance(item, ToolCalls):
            if not body.get("tools"):
                return self._error(
                    handler, rec, 500, "scripted tool calls, but no tools offered", None
                )
            with self._lock:
                first = self._call_ids
                self._call_ids += len(item.calls)
            calls = [
                {
                    "id": f"call_stub{first + n}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for n, (name, args) in enumerate(item.calls)
            ]
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": calls,
            }
            written = sum(len(c["function"]["arguments"]) for c in calls)
            finish = "tool_calls"
        else:
            if isinstance(item, BaseModel):
                content = item.model_dump_json()
            elif isinstance(item, dict | list):
                content = json.dumps(item)
            else:
                content = str(item)
            message = {"role": "assistant", "content": content, "refusal": None}
            written = len(content)
            finish = "stop"
        prompt_tokens = sum(_tokens(m) for m in body["messages"])
        completion_tokens = max(1, written // 4)
        payload = {
            "id": f"chatcmpl-stub{len(self.requests)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        rec.status = 200
        self._send(handler, 200, payload)
        return None

    def _error(
        self,
        handler: BaseHTTPRequestHandler,
        rec: Recorded,
        status: int,
        message: str,
        code: str | None,
        param: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        rec.status = status
        kind = "invalid_request_error" if status < 500 else "server_error"
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
        self._send(handler, status, body, headers)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass


def _tokens(message: dict[str, Any]) -> int:
    """A stable token count: 4 characters of text a token, 85 per image (low detail)."""
    content = message.get("content")
    calls = message.get("tool_calls") or []
    extra = sum(len(json.dumps(c)) // 4 for c in calls)
    if isinstance(content, str):
        return max(1, len(content) // 4) + extra
    total = extra
    for part in content or []:
        total += 85 if part.get("type") == "image_url" else max(1, len(part.get("text", "")) // 4)
    return total


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    """A started stand-in accepting the key ``sk-test-stub``; stopped after the test."""
    with OpenAIStub(key="sk-test-stub") as stub:
        yield stub


def client_for(stub: OpenAIStub, model: str) -> OpenAIModelClient:
    """An ``OpenAIModelClient`` of ``stub`` with its key: two attempts, no real waiting."""
    from agents.models.config import ModelEndpoint, Secret
    from agents.models.openai_client import OpenAIModelClient
    from orchestration.resilience.retry import RetryPolicy

    async def no_wait(_: float) -> None:
        return None

    endpoint = ModelEndpoint(stub.base_url, Secret(stub.key or "sk-any"), model=model)
    return OpenAIModelClient(endpoint, policy=RetryPolicy(max_attempts=2), sleep=no_wait)


# --------------------------------------------------------------------------- network guard


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def guard_network(on_connect: Callable[[Any], None] | None = None) -> Iterator[list[Any]]:
    """Refuse every socket connection that is not loopback or a Unix socket.

    Yields the list of every address connected to (loopback included), so a caller can
    also assert that nothing connected at all. A refused connection raises ``OSError``
    naming the address; name lookups of other hosts are refused likewise.
    """
    seen: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        seen.append(address)
        if on_connect is not None:
            on_connect(address)
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else str(address)
        if not is_loopback(str(host)):
            raise OSError(f"network guard: connection to {address!r} refused (not loopback)")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not is_loopback(str(name)):
            raise OSError(f"network guard: name lookup of {name!r} refused (not loopback)")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    try:
        yield seen
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo


@pytest.fixture
def no_external_network() -> Iterator[list[Any]]:
    """Fail the test if it connects anywhere but loopback; yields the addresses used."""
    with guard_network() as seen:
        yield seen
