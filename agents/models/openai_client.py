"""The hosted-model client: any OpenAI-compatible chat-completions endpoint.

:class:`OpenAIModelClient` implements :class:`agents.model_client.ModelClient` with the
``openai`` SDK (imported when a client is made, not with this module). Every request goes
through

- a :class:`~orchestration.resilience.circuit_breaker.CircuitBreaker`: after repeated transport
  failures (429, 5xx, timeouts, refused connections) it opens, and later calls fail at
  once with a clear message instead of waiting on the network;
- :func:`~orchestration.resilience.retry.retry_async`: a 429 waits what ``Retry-After`` asks, a
  5xx, a timeout or a dropped connection backs off exponentially. The SDK's own retries
  are off (``max_retries=0``) so that these govern.

:func:`complete_structured` asks any :class:`ModelClient` for an answer shaped like a
pydantic model: the model's JSON Schema goes out as the response format, the reply is
validated, and an invalid reply is sent back with the validation error, a bounded number
of times. What cannot be fixed ends in a :class:`ModelCallError`, which an agent lets
propagate: ``execute()`` records it as the failed run's error in the artifact.

The API key is revealed only to the SDK; messages built here never contain it, and any
server text quoted in an error has it scrubbed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from agents.base import format_validation_error
from agents.model_client import (
    ChatMessage,
    ModelClient,
    ModelReply,
    ModelUsage,
    ToolBox,
    ToolCall,
    note_model_call,
)
from agents.models.config import ModelConfigError, ModelEndpoint, estimate_cost

if TYPE_CHECKING:
    from orchestration.resilience.circuit_breaker import CircuitBreaker
    from orchestration.resilience.retry import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: How many times a structured answer is asked for in all (the first ask included).
DEFAULT_STRUCTURED_ATTEMPTS = 3


class ModelCallError(RuntimeError):
    """A model call failed for good: the endpoint kept failing, or the reply never fit.

    Not a user error: the agent that made the call fails, and its artifact records this
    message as the error.
    """


class InvalidModelReply(ModelCallError):
    """Every reply broke the requested schema; ``problems`` lists why, one per reply."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class ModelUnavailable(ModelCallError):
    """The endpoint's circuit is open: the call was refused without touching the network."""


class ToolLoopError(ModelCallError):
    """The tool-calling loop hit a bound: the model still asked for tools after the last
    allowed round, or the run spent its token budget. The agent run fails with this."""


# --------------------------------------------------------------------------- schemas


def schema_allows_strict(schema: dict[str, Any]) -> bool:
    """Whether ``schema`` meets OpenAI's strict structured-output rules.

    Every object (also under ``$defs``) must list all its properties as required and set
    ``additionalProperties: false``. pydantic models with optional fields or defaults do
    not; their schema is then sent without ``strict``.
    """

    def ok(node: Any) -> bool:
        if isinstance(node, list):
            return all(ok(item) for item in node)
        if not isinstance(node, dict):
            return True
        if node.get("type") == "object" or "properties" in node:
            props = node.get("properties", {})
            if node.get("additionalProperties") is not False:
                return False
            if set(node.get("required", [])) != set(props):
                return False
        return all(ok(value) for key, value in node.items() if key not in ("enum", "const"))

    return ok(schema)


def response_format(schema: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """The chat-completions ``response_format`` for ``schema`` (``json_schema`` type)."""
    title = name or str(schema.get("title") or "output")
    safe = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in title)[:64] or "output"
    return {
        "type": "json_schema",
        "json_schema": {"name": safe, "schema": schema, "strict": schema_allows_strict(schema)},
    }


# --------------------------------------------------------------------------- structured


async def complete_structured(
    client: ModelClient,
    messages: Sequence[ChatMessage],
    output_model: type[T],
    *,
    model: str | None = None,
    max_attempts: int = DEFAULT_STRUCTURED_ATTEMPTS,
    check: Callable[[T], str | None] | None = None,
) -> T:
    """Ask ``client`` for an ``output_model`` and return it validated.

    The model's JSON Schema is the response format. A reply that does not validate, or
    that ``check`` rejects (it returns the reason, or None when the value is fine), is
    answered with the reason and asked again, ``max_attempts`` times in all. Then
    :class:`InvalidModelReply` is raised naming the last problem.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    schema = output_model.model_json_schema()
    conversation = list(messages)
    problems: list[str] = []
    for _ in range(max_attempts):
        reply = await client.complete(conversation, model=model, response_schema=schema)
        problem = _problem(reply.content, output_model, check)
        if isinstance(problem, output_model):
            return problem
        assert isinstance(problem, str)
        problems.append(problem)
        log.info("model reply rejected (%d of %d): %s", len(problems), max_attempts, problem)
        conversation += _rejected(reply.content, problem, output_model)
    which = model or getattr(client, "model", None) or "the model"
    raise InvalidModelReply(
        f"{which}: no reply matched {output_model.__name__} in {max_attempts} attempts; "
        f"last problem: {problems[-1]}",
        problems,
    )


@dataclass
class TokenMeter:
    """Model tokens spent so far against one budget (shared by the loops of one agent run)."""

    spent: int = 0
    calls: int = 0


async def complete_with_tools(
    client: ModelClient,
    messages: Sequence[ChatMessage],
    output_model: type[T],
    tools: ToolBox,
    *,
    model: str | None = None,
    max_rounds: int = 8,
    token_budget: int | None = None,
    max_attempts: int = DEFAULT_STRUCTURED_ATTEMPTS,
    who: str = "the agent",
    meter: TokenMeter | None = None,
) -> T:
    """The tool-calling loop: ask, run the tools the model asks for, answer, repeat.

    Each request offers ``tools`` and asks for an ``output_model`` (its JSON Schema as the
    response format). A reply with tool calls is one round: the calls run concurrently
    (the tool box bounds how many at once), each answered by a ``tool`` message in the
    order asked, and the model is asked again. A reply without tool calls is the answer:
    validated, and sent back with the problem when it does not fit (``max_attempts`` in
    all). Errors of tools and bad arguments are the tool box's replies, not exceptions.

    Bounds: a reply asking for tools after ``max_rounds`` rounds, or model tokens (in +
    out) beyond ``token_budget``, end the loop with :class:`ToolLoopError`. Tokens are
    counted on ``meter`` (a fresh one: this loop alone), so several loops of one agent run
    can share one budget.
    """
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, not {max_rounds}")
    schema = output_model.model_json_schema()
    definitions = tools.definitions()
    conversation = list(messages)
    meter = meter if meter is not None else TokenMeter()
    rounds = 0
    problems: list[str] = []
    while True:
        meter.calls += 1
        if definitions:
            reply = await client.complete(
                conversation, model=model, response_schema=schema, tools=definitions
            )
        else:  # no tools: any client serves, also one that knows nothing of tools
            reply = await client.complete(conversation, model=model, response_schema=schema)
        meter.spent += reply.usage.input_tokens + reply.usage.output_tokens
        if token_budget is not None and meter.spent > token_budget:
            calls = meter.calls
            raise ToolLoopError(
                f"{who}: token budget of {token_budget:,} spent ({meter.spent:,} tokens in "
                f"{calls} model call{'s' if calls != 1 else ''})"
            )
        if reply.tool_calls:
            if rounds >= max_rounds:
                asked = _short(", ".join(sorted({c.name for c in reply.tool_calls})), 120)
                raise ToolLoopError(
                    f"{who}: the model still asked for tools ({asked}) after {max_rounds} "
                    f"round(s), the limit (tool_policy.max_rounds)"
                )
            rounds += 1
            log.info("tool round %d: %s", rounds, ", ".join(c.name for c in reply.tool_calls))
            results = await asyncio.gather(*(tools.call(c) for c in reply.tool_calls))
            conversation.append(
                ChatMessage(
                    role="assistant",
                    content=reply.content or None,
                    tool_calls=list(reply.tool_calls),
                )
            )
            conversation += [
                ChatMessage(role="tool", tool_call_id=c.id, content=text)
                for c, text in zip(reply.tool_calls, results, strict=True)
            ]
            continue
        problem = _problem(reply.content, output_model, None)
        if isinstance(problem, output_model):
            return problem
        assert isinstance(problem, str)
        problems.append(problem)
        if len(problems) >= max_attempts:
            raise InvalidModelReply(
                f"{who}: no reply matched {output_model.__name__} in {max_attempts} "
                f"attempts; last problem: {problem}",
                problems,
            )
        conversation += _rejected(reply.content, problem, output_model)


def _rejected(content: str, problem: str, output_model: type[BaseModel]) -> list[ChatMessage]:
    """The messages that send a rejected reply back with the reason."""
    return [
        ChatMessage(role="assistant", content=content),
        ChatMessage(
            role="user",
            content=(
                f"Your reply was rejected: {problem}. Reply again with only the corrected "
                f"JSON document, valid against the {output_model.__name__} schema."
            ),
        ),
    ]


def _problem(text: str, output_model: type[T], check: Callable[[T], str | None] | None) -> T | str:
    """The validated value, or one line saying what is wrong with ``text``."""
    try:
        value = output_model.model_validate_json(_strip_fence(text))
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return "the reply is not a JSON document"
        return format_validation_error(exc)
    if check is not None:
        reason = check(value)
        if reason:
            return reason
    return value


def _strip_fence(text: str) -> str:
    """The JSON inside a markdown code fence, which some servers add; else ``text``."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        body = stripped[3:-3]
        first_line, _, rest = body.partition("\n")
        return rest if first_line.strip().isalpha() or not first_line.strip() else body
    return stripped


# --------------------------------------------------------------------------- the client

Sleep = Callable[[float], Awaitable[Any]]


class OpenAIModelClient:
    """A :class:`ModelClient` for an OpenAI-compatible endpoint (OpenAI, Azure, self-hosted).

    ``model`` (the endpoint's default model) answers calls that name none. ``policy``,
    ``breaker``, ``sleep`` and ``rand`` are injectable so that tests neither wait nor
    depend on chance. The key never appears in ``repr``, messages or logs.
    """

    def __init__(
        self,
        endpoint: ModelEndpoint,
        *,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        from orchestration.resilience.circuit_breaker import CircuitBreaker
        from orchestration.resilience.retry import RetryPolicy

        self.endpoint = endpoint
        self.model = endpoint.model
        self.policy = policy or RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=60.0)
        self.breaker = breaker or CircuitBreaker(
            f"model:{endpoint.host}",
            failure_threshold=5,
            reset_timeout=60.0,
            is_failure=_is_transport_failure,
        )
        self._sleep = sleep
        self._rand = rand
        self._sdk = _make_sdk_client(endpoint)

    def __repr__(self) -> str:
        where = f"{self.endpoint.kind}, {self.endpoint.host}"
        return f"OpenAIModelClient({where}, model={self.model!r})"

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections."""
        await self._sdk.close()

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        response_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply:
        """One chat completion, retried and guarded by the circuit breaker.

        With ``tools`` the reply may carry ``tool_calls`` (several: to run in parallel)
        instead of an answer; :func:`complete_with_tools` runs them and asks again.
        """
        from orchestration.resilience.circuit_breaker import CircuitOpenError
        from orchestration.resilience.retry import RetryableError, retry_async

        name = model or self.model
        if not name:
            raise ModelConfigError(
                "no model named: set the agent's model or FORGEFLOW_MODEL "
                "(for Azure OpenAI, the deployment name)"
            )
        request: dict[str, Any] = {
            "model": name,
            "messages": [m.to_openai() for m in messages],
        }
        if response_schema is not None:
            request["response_format"] = response_format(response_schema)
        if tools:
            request["tools"] = tools
            request["parallel_tool_calls"] = True

        async def attempt() -> ModelReply:
            return await self.breaker.call(self._once, request)

        try:
            reply = await retry_async(attempt, self.policy, sleep=self._sleep, rand=self._rand)
        except CircuitOpenError as exc:
            raise ModelUnavailable(
                f"model endpoint {self.endpoint.host}: not called, {exc.one_line()} "
                "(it kept failing)"
            ) from None
        except RetryableError as exc:
            raise ModelCallError(
                f"model endpoint {self.endpoint.host}: gave up after "
                f"{self.policy.max_attempts} attempts: {exc}"
            ) from None
        note_model_call(reply)
        return reply

    async def _once(self, request: dict[str, Any]) -> ModelReply:
        """One HTTP request; failures become :class:`RetryableError` or a final error."""
        import openai

        from orchestration.resilience.retry import RetryableError, retry_delay_from_headers

        where = f"model endpoint {self.endpoint.host}"
        try:
            response = await self._sdk.chat.completions.create(
                **request, timeout=self.endpoint.timeout
            )
        except _reply_too_large() as exc:
            raise ModelCallError(f"{where}: {exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModelCallError(
                f"{where}: the endpoint's reply is not valid JSON/UTF-8 "
                "(is FORGEFLOW_MODEL_BASE_URL an OpenAI-compatible API?)"
            ) from None
        except openai.APITimeoutError:
            raise RetryableError(f"no answer within {self.endpoint.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise RetryableError(f"cannot connect: {self._scrub(str(exc))}") from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = self._scrub(_short(str(body.get("message") or exc.message)))
            if status == 429 or status >= 500:
                wait = retry_delay_from_headers(dict(exc.response.headers), now=time.time())
                raise RetryableError(f"HTTP {status}: {detail}", retry_after=wait) from None
            if status in (401, 403):
                raise ModelConfigError(
                    f"{where} refused the API key (HTTP {status}); check "
                    "FORGEFLOW_MODEL_API_KEY and FORGEFLOW_MODEL_BASE_URL"
                ) from None
            if status == 404:
                raise ModelConfigError(
                    f"{where}: model or deployment {request['model']!r} not found (HTTP 404)"
                ) from None
            raise ModelCallError(f"{where}: HTTP {status}: {detail}") from None
        return self._reply(response, request["model"])

    def _reply(self, response: Any, asked_model: str) -> ModelReply:
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise ModelCallError(f"model endpoint {self.endpoint.host}: the reply has no choices")
        message = choices[0].message
        refusal = getattr(message, "refusal", None)
        calls = [
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
            for c in getattr(message, "tool_calls", None) or []
            if getattr(c, "function", None) is not None
        ]
        if message.content is None and refusal and not calls:
            raise ModelCallError(f"the model refused: {self._scrub(_short(str(refusal)))}")
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        model = str(getattr(response, "model", None) or asked_model)
        # Price by the name asked for: servers answer with dated snapshot names, and an
        # Azure deployment named after its model is priced as that model.
        cost = estimate_cost(asked_model, tokens_in, tokens_out)
        if cost is None:
            cost = estimate_cost(model, tokens_in, tokens_out)
        return ModelReply(
            content=message.content or "",
            model=model,
            usage=ModelUsage(input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost),
            tool_calls=calls,
        )

    def _scrub(self, text: str) -> str:
        return scrub_key(text, self.endpoint.api_key.reveal())


_WORD = re.compile(r"[A-Za-z0-9_*-]{4,}")


def scrub_key(text: str, key: str) -> str:
    """``text`` with the key, and any word holding a piece of it, replaced by ``***``.

    Servers quote keys partly masked (``sk-proj-****abcd``): a word of which any run of
    four or more unmasked characters occurs in the key is removed whole.
    """
    if len(key) < 4:
        return text
    text = text.replace(key, "***")

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        pieces = word.split("*")
        return "***" if any(len(p) >= 4 and p in key for p in pieces) else word

    return _WORD.sub(replace, text)


def _is_transport_failure(exc: BaseException) -> bool:
    """What opens the circuit: failures of the endpoint, not of the request or the reply."""
    from orchestration.resilience.retry import RetryableError

    return isinstance(exc, RetryableError)


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _make_sdk_client(endpoint: ModelEndpoint) -> Any:
    """The ``openai`` SDK's async client for ``endpoint``, with its own retries off."""
    try:
        import openai
    except ImportError:
        raise ModelConfigError(
            "a model endpoint is configured but the openai package is not installed; "
            "pip install openai"
        ) from None
    # Self-hosted servers often need no key; the SDK insists on one.
    key = endpoint.api_key.reveal() or "unused"
    http_client = _bounded_http_client(endpoint.timeout)
    if endpoint.kind == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=endpoint.base_url,
            api_version=endpoint.api_version,
            api_key=key,
            timeout=endpoint.timeout,
            max_retries=0,
            http_client=http_client,
        )
    return openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=key,
        timeout=endpoint.timeout,
        max_retries=0,
        http_client=http_client,
    )


#: Largest reply body read from a model endpoint, in bytes; a longer one is refused.
MAX_REPLY_BYTES = 4 * 1024 * 1024


@functools.cache
def _reply_too_large() -> type[Exception]:
    """The error a too-long reply raises inside the SDK (an ``OpenAIError``, which the SDK
    passes on as it is, neither retried nor wrapped)."""
    import openai

    class ReplyTooLarge(openai.OpenAIError):
        pass

    return ReplyTooLarge


def _bounded_http_client(timeout: float) -> Any:
    """The SDK's HTTP client with a transport that reads at most :data:`MAX_REPLY_BYTES`
    of any reply body (by its ``Content-Length``, and while it streams in)."""
    import importlib

    import openai

    # the HTTP library the SDK is built on (httpx, or its successor in newer SDKs)
    mro = openai.DefaultAsyncHttpxClient.__mro__[1:]
    base = next(c for c in mro if c.__name__ == "AsyncClient")
    httpx: Any = importlib.import_module(base.__module__.split(".")[0])
    too_large = _reply_too_large()
    limit = MAX_REPLY_BYTES
    refused = f"the endpoint's reply is over the {limit // (1024 * 1024)} MB limit; refused"

    class BoundedStream(httpx.AsyncByteStream):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        async def __aiter__(self) -> Any:
            seen = 0
            async for chunk in self._inner:
                seen += len(chunk)
                if seen > limit:
                    raise too_large(refused)
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    class BoundedTransport(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self._inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            response = await self._inner.handle_async_request(request)
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                await response.aclose()
                raise too_large(refused)
            return httpx.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=BoundedStream(response.stream),
                extensions=response.extensions,
            )

        async def aclose(self) -> None:
            await self._inner.aclose()

    return openai.DefaultAsyncHttpxClient(transport=BoundedTransport(), timeout=timeout)
