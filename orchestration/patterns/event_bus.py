"""The event-driven pattern: typed events, async handlers, correlation chains.

An :class:`Event` is a pydantic model with an ``event_id``, a required ``correlation_id``
that ties a chain of events together, a ``created_at`` time and a ``type`` derived from
its class. Handlers subscribe to an event class; publishing runs every handler of that
class (and of its Event base classes) concurrently. A handler that raises is logged on the
``forgeflow.events`` logger and recorded in the :class:`PublishResult`; the others still
run. A handler may publish follow-up events (see :meth:`Event.follow_up`); the bus keeps a
history so a correlation id's whole chain can be listed with :meth:`EventBus.events_for`.

This is the in-process counterpart of the ``repository_dispatch`` chains of the workflow
suite, where each run dispatches the next event with the same correlation id.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar, overload

from pydantic import BaseModel, Field, computed_field

from agents.errors import PipelineError
from orchestration.runtime.artifact import new_id, now
from orchestration.runtime.execution import describe_error

__all__ = ["Event", "EventBus", "Handler", "HandlerOutcome", "PublishResult"]

log = logging.getLogger("forgeflow.events")

E = TypeVar("E", bound="Event")
Handler = Callable[[Any], Awaitable[object]]
H = TypeVar("H", bound=Handler)


class Event(BaseModel):
    """Base of every event. Subclass it with the event's own fields.

    ``type`` is the class name unless the subclass sets ``event_type``; it is part of the
    JSON form of the event, so a consumer elsewhere can tell events apart.
    """

    event_type: ClassVar[str] = "Event"

    event_id: str = Field(default_factory=new_id, description="Unique id of this event")
    correlation_id: str = Field(description="Ties together the events of one chain")
    causation_id: str | None = Field(
        default=None, description="event_id of the event whose handler published this one"
    )
    created_at: datetime = Field(default_factory=now)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__

    def follow_up(self, event_cls: type[E], **fields: Any) -> E:
        """A new ``event_cls`` event in the same chain, caused by this one."""
        return event_cls(correlation_id=self.correlation_id, causation_id=self.event_id, **fields)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def type(self) -> str:
        """The event type, derived from the class."""
        return self.event_type


@dataclass(frozen=True)
class HandlerOutcome:
    """How one handler dealt with one event: ``error`` is None when it succeeded."""

    handler: str
    error: str | None = None
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class PublishResult:
    """What publishing one event did: one outcome per handler that ran."""

    event: Event
    outcomes: list[HandlerOutcome] = field(default_factory=list)

    @property
    def handled(self) -> bool:
        """False when no handler was subscribed to the event's type."""
        return bool(self.outcomes)

    @property
    def failures(self) -> list[HandlerOutcome]:
        """The outcomes of the handlers that raised."""
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        """True when some handler ran and none failed."""
        return self.handled and not self.failures


def _handler_name(handler: Handler) -> str:
    return str(getattr(handler, "__qualname__", None) or repr(handler))


def _is_async(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004 - an async callable object
    return call is not None and inspect.iscoroutinefunction(call)


class EventBus:
    """Typed publish/subscribe with concurrent async handlers and a history.

    ``max_depth`` bounds how deep handlers may nest follow-up publishes (a handler
    publishing an event whose handler publishes ...): a publish beyond it raises
    :class:`~agents.errors.PipelineError`, which fails the handler that attempted it.
    ``history_limit`` keeps only the most recent events (None: all).
    """

    def __init__(self, *, max_depth: int = 50, history_limit: int | None = None) -> None:
        self.max_depth = max_depth
        self._handlers: dict[type[Event], list[Handler]] = {}
        self.history: deque[Event] = deque(maxlen=history_limit)
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar(
            f"forgeflow_event_depth_{id(self)}", default=0
        )

    @overload
    def subscribe(self, event_type: type[Event]) -> Callable[[H], H]: ...

    @overload
    def subscribe(self, event_type: type[Event], handler: H) -> H: ...

    def subscribe(self, event_type: type[Event], handler: H | None = None) -> H | Callable[[H], H]:
        """Run the async ``handler(event)`` for every published ``event_type`` event.

        Also a decorator: ``@bus.subscribe(DiagramUploaded)``. Subscribing to a base class
        receives its subclasses' events too.
        """
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise TypeError(f"subscribe() needs an Event subclass, not {event_type!r}")

        def add(fn: H) -> H:
            if not _is_async(fn):
                raise TypeError(f"event handler {_handler_name(fn)} must be an async function")
            self._handlers.setdefault(event_type, []).append(fn)
            return fn

        return add if handler is None else add(handler)

    def unsubscribe(self, event_type: type[Event], handler: Handler) -> None:
        """Stop running ``handler`` for ``event_type``; no error if it was not subscribed."""
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def handlers_for(self, event_type: type[Event]) -> list[Handler]:
        """The handlers a ``event_type`` event runs, most specific class first."""
        found: list[Handler] = []
        for cls in event_type.__mro__:
            if isinstance(cls, type) and issubclass(cls, Event):
                found.extend(self._handlers.get(cls, []))
        return found

    async def publish(self, event: Event) -> PublishResult:
        """Run every handler of ``event``'s type concurrently and report each outcome.

        The event is added to :attr:`history` first, so follow-ups appear after it.
        With no handler, a warning is logged and the result says it was not handled.
        """
        if not isinstance(event, Event):
            raise TypeError(f"publish() needs an Event, not {type(event).__name__}")
        depth = self._depth.get()
        if depth >= self.max_depth:
            raise PipelineError(
                f"event {event.type} (correlation {event.correlation_id}) is nested "
                f"{depth} publishes deep; the limit is {self.max_depth} (a handler loop?)"
            )
        self.history.append(event)
        handlers = self.handlers_for(type(event))
        if not handlers:
            log.warning(
                "no handler for event %s %s (correlation %s)",
                event.type,
                event.event_id,
                event.correlation_id,
            )
            return PublishResult(event)
        token = self._depth.set(depth + 1)
        try:
            if len(handlers) == 1:  # nothing to run concurrently: skip gather's tasks
                outcomes = [await self._call(handlers[0], event)]
            else:
                outcomes = await asyncio.gather(*(self._call(h, event) for h in handlers))
        finally:
            self._depth.reset(token)
        return PublishResult(event, list(outcomes))

    async def _call(self, handler: Handler, event: Event) -> HandlerOutcome:
        name = _handler_name(handler)
        try:
            await handler(event)
        except Exception as exc:
            log.error(
                "handler %s failed on event %s %s (correlation %s)",
                name,
                event.type,
                event.event_id,
                event.correlation_id,
                exc_info=exc,
            )
            return HandlerOutcome(handler=name, error=describe_error(exc), exception=exc)
        return HandlerOutcome(handler=name)

    def events_for(self, correlation_id: str) -> list[Event]:
        """The published events of one chain, in publish order."""
        return [e for e in self.history if e.correlation_id == correlation_id]
