"""The agent contract: typed input, typed output, async set-up and clean-up."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from agents.documents import format_validation_error, json_path, load_model
from agents.errors import SchemaViolation
from agents.model_client import ModelClient

#: The longest setting value an error message repeats before cutting it short.
_SHOWN_VALUE = 60


class MCPToolSource(BaseModel):
    """Tools of an MCP server: started (stdio ``command``) or reached (streamable-HTTP
    ``url``) when the agent is set up, closed when it is torn down. Only the tools named
    in ``allow`` are offered to the model."""

    model_config = ConfigDict(extra="forbid")

    mcp: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$", description="A name for the server, used in messages"
    )
    command: list[str] | None = Field(
        default=None, min_length=1, description="stdio server: the program and its arguments"
    )
    url: str | None = Field(
        default=None, pattern=r"^https?://", description="streamable-HTTP server: its URL"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment of a stdio server's process"
    )
    allow: list[str] = Field(
        min_length=1, description="The server's tools the agent may call (an allow-list)"
    )
    timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds for start-up and for each call"
    )

    @model_validator(mode="after")
    def _one_transport(self) -> MCPToolSource:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP source {self.mcp!r}: give either 'command' or 'url'")
        return self


def _tool_kind(value: Any) -> str:
    return "mcp" if isinstance(value, dict | MCPToolSource) else "name"


#: One entry of ``AgentConfig.tools``: a tool's name (or ``agent:NAME``), or an MCP source.
#: The kind is decided by the value's shape, so an error names what is wrong with the
#: kind written rather than with every kind.
ToolEntry = Annotated[
    Annotated[str, Tag("name")] | Annotated[MCPToolSource, Tag("mcp")],
    Discriminator(_tool_kind),
]


class ToolPolicy(BaseModel):
    """The bounds of an agent's tool use."""

    model_config = ConfigDict(extra="forbid")

    max_rounds: int = Field(
        default=8, ge=1, le=100, description="Model replies asking for tools, at most, per run"
    )
    token_budget: int | None = Field(
        default=200_000,
        ge=1,
        description="Model tokens (in + out) one agent run may spend; None: no budget",
    )
    max_output_chars: int = Field(
        default=16_000, ge=256, le=1_000_000, description="A tool reply is cut to this length"
    )
    workspace: str = Field(
        default=".", description="The folder file tools work in; paths outside it are refused"
    )
    allow_writes: bool = Field(
        default=False, description="Whether tools that write (write_file) may be offered"
    )
    max_parallel: int = Field(
        default=4, ge=1, le=32, description="Tool calls of one round run at once, at most"
    )
    call_timeout: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Seconds one tool call may take; a slower one fails (the model is told)",
    )


class AgentConfig(BaseModel):
    """How one agent instance is set up."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str | None = Field(default=None, description="Model name, for model-backed agents")
    instructions: str = Field(default="", description="System instructions for a model")
    tools: list[ToolEntry] = Field(
        default_factory=list,
        description="Tools a model-backed agent may call: a tool's name (read_file, "
        "file_search, ...), 'agent:NAME' for a registered agent, or an MCP server's tools",
    )
    tool_policy: ToolPolicy = Field(
        default_factory=ToolPolicy, description="Bounds of tool use: rounds, tokens, sizes"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Agent-specific settings, checked against the agent's settings_model; "
        "set with --set KEY=VALUE",
    )


class AgentSettings(BaseModel):
    """Base of an agent's ``settings_model``: unknown keys are refused.

    Every field needs a default and a description (``python -m agents.run --settings
    AGENT`` shows them). Values arrive as text or booleans from ``--set KEY=VALUE`` and as
    YAML scalars from pipeline files, so numbers and booleans are parsed from text (lax
    mode) and a number is accepted where text is expected.
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


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
    #: The agent's settings (a model with ``extra="forbid"``, every field defaulted);
    #: None: the agent takes no settings and refuses any.
    settings_model: ClassVar[type[BaseModel] | None] = None

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
        if cls.settings_model is not None:
            _check_settings_model(cls.name, cls.settings_model)

    def __init__(
        self, config: AgentConfig | None = None, *, model_client: ModelClient | None = None
    ) -> None:
        self.config = config or AgentConfig(name=self.name)
        self.model_client = model_client
        #: ``config.settings`` validated: an instance of ``settings_model`` (None when the
        #: agent takes no settings).
        self.settings: Any = self.check_settings(self.config.settings, agent=self.config.name)

    @classmethod
    def check_settings(cls, raw: dict[str, Any], *, agent: str | None = None) -> BaseModel | None:
        """``raw`` validated against :attr:`settings_model`.

        A :class:`~agents.errors.SchemaViolation` names the agent (``agent``, default the
        class's name), the key and what is allowed, in one line. Nothing runs, so
        pipelines call this for every stage before the first one starts.
        """
        who = agent or cls.name
        model = cls.settings_model
        if model is None:
            if raw:
                got = ", ".join(repr(k) for k in raw)
                raise SchemaViolation(f"agent {who!r} takes no settings (got {got})")
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise SchemaViolation(settings_error(who, model, exc, raw)) from None

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
        return load_model(path, cls.input_model)


def _check_settings_model(agent: str, model: type[BaseModel]) -> None:
    """A settings model refuses unknown keys and can be built from nothing."""
    if model.model_config.get("extra") != "forbid":
        raise TypeError(
            f"agent {agent!r}: settings_model {model.__name__} must forbid unknown keys "
            '(model_config extra="forbid", or subclass agents.base.AgentSettings)'
        )
    for field_name, info in model.model_fields.items():
        if info.is_required() or not info.description:
            raise TypeError(
                f"agent {agent!r}: setting {field_name!r} of {model.__name__} needs a "
                "default and a description"
            )


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


def settings_error(
    agent: str, model: type[BaseModel], exc: ValidationError, raw: dict[str, Any]
) -> str:
    """One line for a refused setting: the agent, the key, and what is allowed.

    An unknown key is reported before a bad value (a typo explains more than a value).
    """
    errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    first = errors[0]
    loc = first.get("loc", ())
    key = str(loc[0]) if loc else "?"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if first.get("type") == "extra_forbidden":
        known = ", ".join(model.model_fields) or "none"
        return f"agent {agent!r}: unknown setting {key!r}; known settings: {known}{more}"
    value = raw.get(key, first.get("input"))
    shown = value if isinstance(value, str) else _json_text(value)
    if len(shown) > _SHOWN_VALUE:
        shown = shown[: _SHOWN_VALUE - 3] + "..."
    inner = json_path(loc[1:], root="") if len(loc) > 1 else ""
    msg = first.get("msg", "invalid")
    return f"agent {agent!r}: setting {key}={shown}: {inner + ': ' if inner else ''}{msg}{more}"


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, default=str)
