"""The hosted-model client against the local OpenAI-compatible stand-in (tests/openai_stub.py).

Covers what a user of a hosted model would notice: configuration, a valid reply, 429 with
``Retry-After``, 500, a timeout, a reply that breaks the schema and then a good one, a
reply that never validates (a failed artifact), the circuit breaker failing fast, the
Azure protocol, usage and cost in the run summary, and the cache key covering model and
prompt. Waits go through an injected sleep: nothing here waits for real except the one
short client timeout.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from openai_stub import Delay, Fault, OpenAIStub, no_external_network  # noqa: F401 (a fixture)
from pydantic import BaseModel, ConfigDict

from agents.base import Agent, AgentConfig
from agents.builtin import TextInput, WordCount
from agents.errors import ForgeflowError
from agents.model_client import ChatMessage
from agents.models.config import (
    ModelConfigError,
    ModelEndpoint,
    Secret,
    endpoint_from_env,
    estimate_cost,
    price_of,
)
from agents.models.factory import model_client_from_env
from agents.models.openai_client import (
    InvalidModelReply,
    ModelCallError,
    ModelUnavailable,
    OpenAIModelClient,
    complete_structured,
    schema_allows_strict,
)
from orchestration.resilience.circuit_breaker import CircuitBreaker
from orchestration.resilience.retry import RetryPolicy
from orchestration.runtime.artifact import ArtifactStatus, write_artifact
from orchestration.runtime.cache import DirectoryCache
from orchestration.runtime.execution import RunContext, execute
from orchestration.runtime.monitoring import RunMonitor

# Only loopback (the stand-in) may be reached; anything else fails the test.
pytestmark = pytest.mark.usefixtures("no_external_network")

KEY = "sk-test-stub"
GOOD = {"text": "three short words", "words": 3, "characters": 17}
USER = [ChatMessage(role="user", content="Count the words of: three short words")]


class Sleeps:
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


ClientFactory = Callable[..., OpenAIModelClient]


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    with OpenAIStub(key=KEY) as server:
        yield server


@pytest.fixture
async def make_client(stub: OpenAIStub) -> AsyncIterator[ClientFactory]:
    """Clients pointed at the stand-in (OpenAI protocol unless ``azure=True``); closed after."""
    made: list[OpenAIModelClient] = []

    def factory(
        *,
        model: str = "gpt-4o-mini",
        azure: bool = False,
        timeout: float = 30.0,
        attempts: int = 4,
        sleep: Sleeps | None = None,
        breaker: CircuitBreaker | None = None,
        key: str = KEY,
    ) -> OpenAIModelClient:
        endpoint = ModelEndpoint(
            base_url=stub.root if azure else stub.base_url,
            api_key=Secret(key),
            api_version=stub.api_version if azure else None,
            model=model,
            timeout=timeout,
        )
        client = OpenAIModelClient(
            endpoint,
            policy=RetryPolicy(max_attempts=attempts, base_delay=1.0, max_delay=60.0),
            breaker=breaker,
            sleep=sleep or Sleeps(),
            rand=lambda: 0.5,
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, None, id="nothing-configured"),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "", "FORGEFLOW_MODEL_API_KEY": "", "FORGEFLOW_MODEL": ""},
            None,
            id="empty-values-as-a-workflow-passes-them",
        ),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "https://api.openai.com/v1/", "FORGEFLOW_MODEL": "o3"},
            ("openai", "https://api.openai.com/v1", "o3"),
            id="openai",
        ),
        pytest.param(
            {
                "FORGEFLOW_MODEL_BASE_URL": "https://res.openai.azure.com",
                "FORGEFLOW_MODEL_API_VERSION": "2024-10-21",
                "FORGEFLOW_MODEL": "my-deployment",
            },
            ("azure", "https://res.openai.azure.com", "my-deployment"),
            id="azure",
        ),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "http://localhost:8000/v1"},
            ("openai", "http://localhost:8000/v1", None),
            id="self-hosted-no-key",
        ),
    ],
)
def test_endpoint_from_env(env: dict[str, str], expected: tuple[str, str, str | None] | None):
    endpoint = endpoint_from_env(env)
    if expected is None:
        assert endpoint is None
        assert model_client_from_env(env) is None
        return
    assert endpoint is not None
    assert (endpoint.kind, endpoint.base_url, endpoint.model) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"FORGEFLOW_MODEL_API_KEY": "sk-abc"},
            "FORGEFLOW_MODEL_API_KEY is set but FORGEFLOW_MODEL_BASE_URL is not",
            id="key-without-url",
        ),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "api.openai.com"},
            "is not an http(s) URL",
            id="url-without-scheme",
        ),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "http://h/v1", "FORGEFLOW_MODEL_TIMEOUT": "soon"},
            "FORGEFLOW_MODEL_TIMEOUT 'soon' is not a number",
            id="bad-timeout",
        ),
        pytest.param(
            {"FORGEFLOW_MODEL_BASE_URL": "http://h/v1", "FORGEFLOW_MODEL_TIMEOUT": "-1"},
            "must be a positive number",
            id="negative-timeout",
        ),
    ],
)
def test_bad_configuration_is_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ModelConfigError) as info:
        endpoint_from_env(env)
    assert message in info.value.one_line()
    assert "sk-abc" not in str(info.value)


def test_cli_values_win_over_environment() -> None:
    env = {"FORGEFLOW_MODEL_BASE_URL": "http://env/v1", "FORGEFLOW_MODEL": "env-model"}
    endpoint = endpoint_from_env(env, base_url="http://cli/v1", model="cli-model")
    assert endpoint is not None
    assert (endpoint.base_url, endpoint.model) == ("http://cli/v1", "cli-model")


def test_the_key_does_not_show_in_repr() -> None:
    endpoint = endpoint_from_env(
        {"FORGEFLOW_MODEL_BASE_URL": "http://h/v1", "FORGEFLOW_MODEL_API_KEY": "sk-hidden-1"}
    )
    assert endpoint is not None
    assert "sk-hidden-1" not in repr(endpoint)
    assert "sk-hidden-1" not in str(endpoint.api_key)
    assert endpoint.api_key.reveal() == "sk-hidden-1"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("gpt-4o-mini", 0.15 + 0.60, id="listed"),
        pytest.param("gpt-4o-2024-08-06", 2.50 + 10.00, id="dated-snapshot"),
        pytest.param("GPT-4.1", 2.00 + 8.00, id="case-insensitive"),
        pytest.param("llama3-local", None, id="unknown"),
    ],
)
def test_cost_per_million_tokens_each_way(model: str, expected: float | None) -> None:
    cost = estimate_cost(model, 1_000_000, 1_000_000)
    assert cost == (pytest.approx(expected) if expected is not None else None)
    assert (price_of(model) is None) == (expected is None)


# --------------------------------------------------------------------------- the protocol


async def test_valid_reply(stub: OpenAIStub, make_client: ClientFactory) -> None:
    stub.push(GOOD)
    client = make_client()
    reply = await client.complete(USER, response_schema=WordCount.model_json_schema())
    assert json.loads(reply.content) == GOOD
    assert reply.model == "gpt-4o-mini"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.usage.cost_usd == pytest.approx(
        estimate_cost("gpt-4o-mini", reply.usage.input_tokens, reply.usage.output_tokens)
    )
    (request,) = stub.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    fmt = request.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "WordCount"
    assert fmt["json_schema"]["schema"]["properties"]["words"]["type"] == "integer"
    # WordCount has defaults, so it is not sent as strict (the service would refuse it).
    assert fmt["json_schema"]["strict"] is False


class Strict(BaseModel):
    """A model that meets the strict structured-output rules."""

    model_config = ConfigDict(extra="forbid")

    name: str
    size: int


async def test_strict_where_the_schema_allows(stub: OpenAIStub, make_client: ClientFactory):
    assert schema_allows_strict(Strict.model_json_schema())
    stub.push({"name": "x", "size": 1})
    value = await complete_structured(make_client(), USER, Strict)
    assert value == Strict(name="x", size=1)
    assert stub.requests[0].status == 200
    assert stub.requests[0].body["response_format"]["json_schema"]["strict"] is True


async def test_429_waits_what_retry_after_says(stub: OpenAIStub, make_client: ClientFactory):
    sleeps = Sleeps()
    stub.push(Fault(429, {"Retry-After": "7"}, "Rate limit reached"), GOOD)
    reply = await make_client(sleep=sleeps).complete(USER)
    assert json.loads(reply.content) == GOOD
    assert sleeps.waits == [7.0]
    assert [r.status for r in stub.requests] == [429, 200]


async def test_500_backs_off_then_succeeds(stub: OpenAIStub, make_client: ClientFactory):
    sleeps = Sleeps()
    stub.push(Fault(500), Fault(503), GOOD)
    reply = await make_client(sleep=sleeps).complete(USER)
    assert json.loads(reply.content) == GOOD
    # full jitter with rand() = 0.5: half of 1 s, then half of 2 s
    assert sleeps.waits == [0.5, 1.0]
    assert [r.status for r in stub.requests] == [500, 503, 200]


async def test_5xx_until_attempts_run_out_is_a_clear_failure(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    stub.push(Fault(500), Fault(500), Fault(500))
    with pytest.raises(ModelCallError) as info:
        await make_client(attempts=3).complete(USER)
    assert "gave up after 3 attempts: HTTP 500" in str(info.value)
    assert len(stub.requests) == 3


async def test_timeout_is_retried(stub: OpenAIStub, make_client: ClientFactory) -> None:
    sleeps = Sleeps()
    stub.push(Delay(30.0, then=GOOD), GOOD)
    reply = await make_client(timeout=0.3, sleep=sleeps).complete(USER)
    assert json.loads(reply.content) == GOOD
    assert len(sleeps.waits) == 1
    assert len(stub.requests) == 2


async def test_schema_breaking_reply_is_asked_again_with_the_error(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    stub.push({"text": "three short words", "words": "many"}, GOOD)
    value = await complete_structured(make_client(), USER, WordCount)
    assert value.words == 3
    first, second = stub.requests
    assert len(second.body["messages"]) == len(first.body["messages"]) + 2
    echoed, correction = second.body["messages"][-2:]
    assert echoed["role"] == "assistant" and '"many"' in echoed["content"]
    assert correction["role"] == "user"
    assert "$.words" in correction["content"]


async def test_not_json_is_asked_again(stub: OpenAIStub, make_client: ClientFactory) -> None:
    stub.push("Sure! Here are the counts.", GOOD)
    await complete_structured(make_client(), USER, WordCount)
    assert "not a JSON document" in stub.requests[1].body["messages"][-1]["content"]


class AskAgent(Agent[TextInput, WordCount]):
    """A model-backed agent for the tests: counts words by asking the model."""

    name = "ask"
    input_model = TextInput
    output_model = WordCount

    async def process(self, data: TextInput) -> WordCount:
        assert self.model_client is not None
        messages = [
            ChatMessage(role="system", content=self.config.instructions or "Count words."),
            ChatMessage(role="user", content=data.text),
        ]
        return await complete_structured(
            self.model_client, messages, WordCount, model=self.config.model
        )


async def test_a_reply_that_never_validates_fails_the_run_in_its_artifact(
    stub: OpenAIStub, make_client: ClientFactory, tmp_path: Path
) -> None:
    stub.default = {"words": -1}
    agent = AskAgent(AgentConfig(name="ask"), model_client=make_client())
    run = await execute(agent, {"text": "three short words"}, RunContext())
    assert not run.ok
    assert len(stub.requests) == 3  # asked, then asked again twice
    path = write_artifact(tmp_path / "ask.json", run.envelope)
    doc = json.loads(path.read_text())
    assert doc["status"] == ArtifactStatus.FAILED.value
    assert "InvalidModelReply" in doc["error"]
    assert "no reply matched WordCount in 3 attempts" in doc["error"]
    assert isinstance(run.exception, InvalidModelReply)
    assert not isinstance(run.exception, ForgeflowError)  # an agent failure, not a usage error


async def test_breaker_opens_and_later_calls_fail_fast(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(
        "model:test",
        failure_threshold=2,
        reset_timeout=60.0,
        clock=lambda: now[0],
        is_failure=lambda exc: type(exc).__name__ == "RetryableError",
    )
    client = make_client(attempts=1, breaker=breaker)
    stub.default = Fault(500)
    for _ in range(2):
        with pytest.raises(ModelCallError, match="HTTP 500"):
            await client.complete(USER)
    assert len(stub.requests) == 2
    with pytest.raises(ModelUnavailable) as info:
        await client.complete(USER)
    assert len(stub.requests) == 2  # refused without a request
    assert "circuit 'model:test' is open after 2 failures" in str(info.value)
    now[0] += 61  # after the pause one probe goes through, and its success closes it
    stub.default = GOOD
    assert json.loads((await client.complete(USER)).content) == GOOD
    assert len(stub.requests) == 3


async def test_azure_protocol(stub: OpenAIStub, make_client: ClientFactory) -> None:
    stub.push(GOOD)
    client = make_client(azure=True, model="wordcounter")
    await complete_structured(client, USER, WordCount)
    (request,) = stub.requests
    assert request.deployment == "wordcounter"
    assert request.query["api-version"] == [stub.api_version]
    assert request.headers["api-key"] == KEY
    assert request.status == 200


async def test_a_refused_key_is_a_configuration_error_without_the_key(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    client = make_client(key="sk-wrong-key-123")
    with pytest.raises(ModelConfigError) as info:
        await client.complete(USER)
    assert "refused the API key (HTTP 401)" in info.value.one_line()
    assert "sk-wrong-key-123" not in str(info.value)
    assert len(stub.requests) == 1  # not retried


async def test_no_model_named_is_a_configuration_error(make_client: ClientFactory) -> None:
    client = make_client(model="")
    client.model = None
    with pytest.raises(ModelConfigError, match="no model named"):
        await client.complete(USER)


async def test_stand_in_refuses_a_malformed_request(make_client: ClientFactory) -> None:
    client = make_client()
    bad = [ChatMessage(role="user", content=[{"type": "image_url", "image_url": {"url": "x"}}])]
    with pytest.raises(ModelCallError, match="HTTP 400"):
        await client.complete(bad)


# --------------------------------------------------------------------------- usage and cache


async def test_usage_and_cost_reach_the_run_summary(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    stub.default = GOOD
    monitor = RunMonitor()
    ctx = RunContext(monitor=monitor)
    priced = AskAgent(AgentConfig(name="ask", model="gpt-4o-mini"), model_client=make_client())
    unpriced = AskAgent(AgentConfig(name="ask", model="llama3-local"), model_client=make_client())
    await execute(priced, {"text": "one"}, ctx, stage="priced")
    await execute(unpriced, {"text": "two"}, ctx, stage="unpriced")
    first, second = monitor.records
    assert first.input_tokens > 0 and first.output_tokens > 0
    assert first.cost_usd is not None and first.cost_usd > 0
    assert second.cost_usd is None and second.unpriced_models == ["llama3-local"]
    summary = monitor.summary_markdown()
    assert "model tokens in/out | est. cost" in summary
    assert f"{first.input_tokens:,} / {first.output_tokens:,} | ${first.cost_usd:.4f}" in summary
    assert "unknown (llama3-local)" in summary
    assert "**Model usage:** 2 calls" in summary
    assert "no price known for llama3-local" in summary


async def test_summary_without_model_calls_has_no_token_column() -> None:
    from agents.builtin import EchoAgent

    monitor = RunMonitor()
    await execute(EchoAgent(), {"text": "x"}, RunContext(monitor=monitor))
    assert "tokens" not in monitor.summary_markdown()


async def test_run_context_hands_its_client_to_agents(
    stub: OpenAIStub, make_client: ClientFactory
) -> None:
    stub.default = GOOD
    run = await execute(AskAgent(), {"text": "x"}, RunContext(model_client=make_client()))
    assert run.ok and len(run.usage) == 1


async def test_cache_key_covers_model_prompt_and_input(
    stub: OpenAIStub, make_client: ClientFactory, tmp_path: Path
) -> None:
    stub.default = GOOD
    client = make_client()
    ctx = RunContext(cache=DirectoryCache(tmp_path / "cache"))

    async def run(text: str, *, model: str = "gpt-4o-mini", instructions: str = "Count.") -> Any:
        config = AgentConfig(name="ask", model=model, instructions=instructions)
        return await execute(AskAgent(config, model_client=client), {"text": text}, ctx)

    assert not (await run("a b")).cached
    assert (await run("a b")).cached  # unchanged: no model call
    assert len(stub.requests) == 1
    assert not (await run("a b", instructions="Count carefully.")).cached
    assert not (await run("a b", model="gpt-4.1")).cached
    assert not (await run("a b c")).cached
    assert len(stub.requests) == 4


async def test_usage_is_in_the_structured_log_line(
    stub: OpenAIStub, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="forgeflow.runs")
    stub.default = GOOD
    agent = AskAgent(AgentConfig(name="ask", model="gpt-4o-mini"), model_client=make_client())
    await execute(agent, {"text": "one"}, RunContext(monitor=RunMonitor()))
    (record,) = [r for r in caplog.records if r.name == "forgeflow.runs"]
    assert record.model_calls == 1  # type: ignore[attr-defined]
    assert record.input_tokens > 0 and record.output_tokens > 0  # type: ignore[attr-defined]
    assert record.cost_usd > 0  # type: ignore[attr-defined]
    assert "1 model call," in record.getMessage()
