"""Event bus: typed events, concurrent handlers, failure isolation, correlation chains."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

import pytest

from orchestration.patterns.event_bus import Event, EventBus, PublishResult


class DiagramUploaded(Event):
    path: str


class DiagramAnalysed(Event):
    resources: int


class ReportPublished(Event):
    event_type: ClassVar[str] = "report.published"
    url: str


def test_event_type_is_derived_from_the_class_and_serialised() -> None:
    event = DiagramUploaded(correlation_id="c1", path="a.drawio")
    doc = event.model_dump(mode="json")
    assert doc["type"] == "DiagramUploaded"
    assert ReportPublished(correlation_id="c1", url="u").type == "report.published"
    assert DiagramUploaded.model_validate(doc) == event


def test_correlation_id_is_required() -> None:
    with pytest.raises(ValueError, match="correlation_id"):
        DiagramUploaded(path="a.drawio")  # type: ignore[call-arg]


async def test_a_failing_handler_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[str] = []

    @bus.subscribe(DiagramUploaded)
    async def broken(event: DiagramUploaded) -> None:
        raise RuntimeError("parser crashed")

    @bus.subscribe(DiagramUploaded)
    async def recorder(event: DiagramUploaded) -> None:
        await asyncio.sleep(0)
        seen.append(event.path)

    with caplog.at_level(logging.ERROR, logger="forgeflow.events"):
        result = await bus.publish(DiagramUploaded(correlation_id="c1", path="a.drawio"))
    assert seen == ["a.drawio"]
    assert result.handled and not result.ok
    assert [(o.handler.rsplit(".", 1)[-1], o.error) for o in result.outcomes] == [
        ("broken", "RuntimeError: parser crashed"),
        ("recorder", None),
    ]
    [record] = [r for r in caplog.records if r.name == "forgeflow.events"]
    assert record.levelno == logging.ERROR
    assert "broken" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_handlers_of_one_event_run_concurrently() -> None:
    bus = EventBus()
    both_started = asyncio.Event()
    started: list[str] = []

    async def waits_for_the_other(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both_started.set()
        await both_started.wait()  # would hang if handlers ran one after another

    async def first(event: DiagramUploaded) -> None:
        await waits_for_the_other("first")

    async def second(event: DiagramUploaded) -> None:
        await waits_for_the_other("second")

    bus.subscribe(DiagramUploaded, first)
    bus.subscribe(DiagramUploaded, second)
    result = await asyncio.wait_for(
        bus.publish(DiagramUploaded(correlation_id="c", path="p")), timeout=5
    )
    assert result.ok
    assert sorted(started) == ["first", "second"]


async def test_publishing_with_no_handler_warns_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    event = DiagramAnalysed(correlation_id="c9", resources=3)
    with caplog.at_level(logging.WARNING, logger="forgeflow.events"):
        result = await bus.publish(event)
    assert not result.handled
    assert not result.ok
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert (
        record.getMessage()
        == f"no handler for event DiagramAnalysed {event.event_id} (correlation c9)"
    )
    assert bus.events_for("c9") == [event]


async def test_follow_up_events_form_a_correlation_chain() -> None:
    bus = EventBus()

    @bus.subscribe(DiagramUploaded)
    async def analyse(event: DiagramUploaded) -> None:
        await bus.publish(event.follow_up(DiagramAnalysed, resources=7))

    @bus.subscribe(DiagramAnalysed)
    async def report(event: DiagramAnalysed) -> None:
        await bus.publish(event.follow_up(ReportPublished, url=f"r/{event.resources}"))

    @bus.subscribe(ReportPublished)
    async def done(event: ReportPublished) -> None:
        return None

    start = DiagramUploaded(correlation_id="run-1", path="a.drawio")
    await bus.publish(start)
    await bus.publish(DiagramUploaded(correlation_id="run-2", path="b.drawio"))
    chain = bus.events_for("run-1")
    assert [e.type for e in chain] == ["DiagramUploaded", "DiagramAnalysed", "report.published"]
    assert chain[0] is start
    assert [e.causation_id for e in chain] == [None, chain[0].event_id, chain[1].event_id]
    assert isinstance(chain[2], ReportPublished) and chain[2].url == "r/7"
    assert len(bus.events_for("run-2")) == 3


async def test_a_base_class_subscription_sees_every_event() -> None:
    bus = EventBus()
    seen: list[str] = []

    @bus.subscribe(Event)
    async def audit(event: Event) -> None:
        seen.append(event.type)

    await bus.publish(DiagramUploaded(correlation_id="c", path="p"))
    await bus.publish(DiagramAnalysed(correlation_id="c", resources=1))
    assert seen == ["DiagramUploaded", "DiagramAnalysed"]


async def test_an_endless_handler_loop_is_cut_at_the_depth_limit() -> None:
    bus = EventBus(max_depth=3)
    results: list[PublishResult] = []

    @bus.subscribe(DiagramUploaded)
    async def again(event: DiagramUploaded) -> None:
        results.append(await bus.publish(event.follow_up(DiagramUploaded, path=event.path)))

    top = await bus.publish(DiagramUploaded(correlation_id="loop", path="p"))
    assert top.ok
    assert len(bus.events_for("loop")) == 3
    innermost = results[0]
    [failure] = innermost.failures
    assert failure.error is not None
    assert failure.error.endswith("is nested 3 publishes deep; the limit is 3 (a handler loop?)")


def test_sync_handlers_are_refused() -> None:
    bus = EventBus()

    def not_async(event: Event) -> None:
        return None

    # a sync handler is what is being refused, so the type checker is told to let it pass
    with pytest.raises(TypeError, match="must be an async function"):
        bus.subscribe(DiagramUploaded, not_async)  # type: ignore[type-var]
