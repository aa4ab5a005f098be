"""The agent contract: typed input, typed output, async set-up and clean-up."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.errors import SchemaViolation
from agents.model_client import ModelClient


class AgentConfig(BaseModel):
    """How one agent instance is set up."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str | None = Field(default=None, description="Model name, for model-backed agents")
    instructions: str = Field(default="", description="System instructions for a model")
    tools: list[str] = Field(default_factory=list, description="Names of tools it may call")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Agent-specific settings (e.g. a decisions file); set with --set KEY=VALUE",
    )


class AgentResult(BaseModel):
    """Base of every agent output: how sure the agent is, and what went wrong, as data."""

    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=AgentResult)


class Agent(ABC, Generic[InT, OutT]):
    """One responsibility, with a pydantic ``input_model`` and ``output_model``.

    Subclasses set ``name``, ``input_model``, ``output_model`` (a subclass of
    :class:`AgentResult`) and implement :meth:`process`. Use the agent as an async
    context manager so :meth:`setup` and :meth:`teardown` run::

        async with EchoAgent() as agent:
            out = await agent.run(EchoInput(text="hi"))

    ``version`` is part of the result-cache key: bump it when the output for the same
    input changes.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[AgentResult]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls):
            return
        for attr in ("name", "input_model", "output_model"):
            if not hasattr(cls, attr):
                raise TypeError(f"agent class {cls.__qualname__} must set {attr!r}")
        if not issubclass(cls.output_model, AgentResult):
            raise TypeError(
                f"agent {cls.name!r}: output_model {cls.output_model.__name__} must "
                "subclass agents.AgentResult (confidence and errors are part of every output)"
            )

    def __init__(
        self, config: AgentConfig | None = None, *, model_client: ModelClient | None = None
    ) -> None:
        self.config = config or AgentConfig(name=self.name)
        self.model_client = model_client

    async def __aenter__(self) -> Agent[InT, OutT]:
        await self.setup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.teardown()

    async def setup(self) -> None:
        """Acquire what the agent needs (clients, files). Runs on ``async with`` entry."""

    async def teardown(self) -> None:
        """Release what :meth:`setup` acquired. Runs on ``async with`` exit."""

    @abstractmethod
    async def process(self, data: InT) -> OutT:
        """Turn one validated input into one output."""

    async def run(self, data: BaseModel | dict[str, Any]) -> OutT:
        """Validate ``data`` as the input model, process it, and check the output type."""
        typed = (
            data
            if isinstance(data, self.input_model)
            else coerce_model(self.input_model, data, what=f"input of agent {self.name!r}")
        )
        out = await self.process(typed)  # type: ignore[arg-type]
        if not isinstance(out, self.output_model):
            raise TypeError(
                f"agent {self.name!r} returned {type(out).__name__}, "
                f"expected {self.output_model.__name__}"
            )
        return out

    @classmethod
    def load_input(cls, path: Path) -> BaseModel:
        """Read this agent's input from ``path``.

        The default reads a JSON artifact (or bare JSON of the input model). Agents that
        take other files (a diagram, say) override this.
        """
        from orchestration.artifact import load_model

        return load_model(path, cls.input_model)


ModelT = TypeVar("ModelT", bound=BaseModel)


def coerce_model(model: type[ModelT], data: BaseModel | dict[str, Any], *, what: str) -> ModelT:
    """Return ``data`` as an instance of ``model``, validating dicts and foreign models."""
    if isinstance(data, model):
        return data
    raw = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SchemaViolation(f"{what}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError, *, root: str = "$") -> str:
    """One line naming the JSON path and the rule broken by the first error."""
    errors = exc.errors()
    first = errors[0]
    path = json_path(first.get("loc", ()), root=root)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {first.get('msg', 'invalid')}{more}"


def json_path(loc: tuple[Any, ...] | list[Any], *, root: str = "$") -> str:
    """Render a pydantic/jsonschema location as a JSONPath such as ``$.icons[3].label``."""
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
