"""The feedback-loop pattern: generate, validate, fix, validate again, at most N times.

A validator is an agent whose output is a :class:`ValidationReport` (``valid`` and a list
of :class:`Issue`). A fixer is an agent whose input model has the fields ``candidate``
(the generator's output type) and ``issues`` (``list[Issue]``) — :class:`FixRequest` is a
ready-made generic one — and whose output is the generator's output type again.

The loop returns the valid result, or, when the limit is reached (or no fixer exists, or
nothing left is fixable), the best attempt: the one with the fewest error issues. The
issues left are its findings, each with a ``reason``; a candidate model that declares
``findings: list[Issue]`` gets them in the output itself. A validator may also report
``accepted`` issues: ones the candidate suppresses on purpose, each with its stated
reason; they do not make it invalid, and a candidate model that declares
``accepted: list[Issue]`` gets them too, so nothing is suppressed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from agents.base import Agent, AgentResult, coerce_model
from agents.errors import ForgeflowError, PipelineError
from orchestration import tracing
from orchestration.patterns.sequential import AgentSession
from orchestration.patterns.typecheck import fields_incompatibility, incompatibility
from orchestration.runtime.execution import AgentRun, RunContext

__all__ = [
    "FeedbackLoop",
    "FixRequest",
    "Issue",
    "IterationRecord",
    "LoopResult",
    "ValidationReport",
]

CandidateT = TypeVar("CandidateT", bound=BaseModel)


class Issue(BaseModel):
    """One problem a validator found in a candidate."""

    code: str = Field(description="Stable identifier of the kind of problem, e.g. 'TF001'")
    message: str
    severity: Literal["error", "warning"] = "error"
    location: str | None = Field(default=None, description="Where: a file:line or a path")
    fixable: bool = Field(default=True, description="Whether a fixer may be able to fix it")
    identity: str | None = Field(
        default=None,
        description="What makes it the same issue across iterations when its location "
        "may move (e.g. a check on a resource, whatever line the resource is on)",
    )
    reason: str | None = Field(
        default=None,
        description="Why it is left as it is, when it is known (no fix exists, a decision "
        "belongs to a person, the loop ran out of iterations)",
    )

    def key(self) -> tuple[str, str | None, str]:
        """What identifies the same issue across iterations: its ``identity`` when set,
        else code, location and message."""
        if self.identity is not None:
            return (self.code, self.identity, "")
        return (self.code, self.location, self.message)


class ValidationReport(AgentResult):
    """A validator's output: whether the candidate is valid, and what is wrong with it."""

    valid: bool
    issues: list[Issue] = Field(default_factory=list)
    accepted: list[Issue] = Field(
        default_factory=list,
        description="Issues the candidate suppresses on purpose, each with its stated "
        "reason (e.g. a checker's false positive); not counted against valid",
    )

    @property
    def error_count(self) -> int:
        return sum(1 for issue in self.issues if issue.severity == "error")


class FixRequest(BaseModel, Generic[CandidateT]):
    """The input of a fixer: the candidate to fix and the issues to fix in it.

    Use ``FixRequest[MyOutput]`` as a fixer's ``input_model``, or any model with the same
    two fields.
    """

    candidate: CandidateT
    issues: list[Issue] = Field(default_factory=list)


@dataclass
class IterationRecord:
    """One validation: the issues it found, and which of them the next one no longer found.

    ``issues_fixed`` stays empty for the last iteration (nothing validated after it).
    """

    iteration: int
    issues_found: list[Issue] = field(default_factory=list)
    issues_fixed: list[Issue] = field(default_factory=list)
    valid: bool = False


@dataclass
class LoopResult:
    """What a feedback loop produced.

    ``output`` is the valid candidate, or the best attempt (fewest error issues, then
    fewest issues, then the later one), or None when nothing was generated.
    ``remaining_issues`` are the issues of ``output``'s validation, ``accepted`` the
    issues it suppresses with a stated reason. ``error`` says why the loop stopped
    early, if an agent failed.
    """

    output: AgentResult | None = None
    valid: bool = False
    remaining_issues: list[Issue] = field(default_factory=list)
    accepted: list[Issue] = field(default_factory=list)
    iterations: list[IterationRecord] = field(default_factory=list)
    runs: list[AgentRun] = field(default_factory=list)
    best_iteration: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the output was validated as valid."""
        return self.valid and self.output is not None


class FeedbackLoop:
    """generator → validator → (fixer → validator)*, at most ``max_iterations`` validations.

    Types are checked at construction (:class:`~agents.errors.PipelineError`): the
    validator must take the generator's output and return a :class:`ValidationReport`;
    the fixer must take ``{candidate, issues}`` and return the generator's output type
    (or a model that fits it, which is then converted to it).
    Without a fixer the loop stops after the first validation. Only issues marked
    ``fixable`` are sent to the fixer; when none is, the loop stops.

    Stage names: ``{name}/generate``, ``{name}/validate#N``, ``{name}/fix#N``.
    """

    def __init__(
        self,
        generator: Agent[Any, Any],
        validator: Agent[Any, Any],
        fixer: Agent[Any, Any] | None = None,
        max_iterations: int = 3,
        *,
        name: str = "loop",
    ) -> None:
        if max_iterations < 1:
            raise PipelineError(f"loop {name!r}: max_iterations must be at least 1")
        self.check_types(generator, validator, fixer, name=name)
        self.generator = generator
        self.validator = validator
        self.fixer = fixer
        self.max_iterations = max_iterations
        self.name = name

    @staticmethod
    def check_types(
        generator: Agent[Any, Any] | type[Agent[Any, Any]],
        validator: Agent[Any, Any] | type[Agent[Any, Any]],
        fixer: Agent[Any, Any] | type[Agent[Any, Any]] | None = None,
        *,
        name: str = "loop",
    ) -> None:
        """Raise :class:`PipelineError` unless the agents (or agent classes) fit as a loop.

        A pipeline file calls this while it is checked, before anything runs.
        """
        gen_out = generator.output_model
        if not issubclass(validator.output_model, ValidationReport):
            raise PipelineError(
                f"loop {name!r}: validator {validator.name!r} returns "
                f"{validator.output_model.__name__}, not a ValidationReport"
            )
        why = incompatibility(gen_out, validator.input_model)
        if why is not None:
            raise PipelineError(
                f"loop {name!r}: validator {validator.name!r} input "
                f"{validator.input_model.__name__} cannot take output {gen_out.__name__} of "
                f"generator {generator.name!r}: {why}"
            )
        if fixer is not None:
            why = fields_incompatibility(
                {"candidate": gen_out, "issues": list[Issue]}, "the fix request", fixer.input_model
            )
            if why is not None:
                raise PipelineError(
                    f"loop {name!r}: fixer {fixer.name!r} input {fixer.input_model.__name__} "
                    f"cannot take a fix request for {gen_out.__name__}: {why}"
                )
            why = incompatibility(fixer.output_model, gen_out)
            if why is not None:
                raise PipelineError(
                    f"loop {name!r}: fixer {fixer.name!r} returns "
                    f"{fixer.output_model.__name__}, not the generator's {gen_out.__name__}: "
                    f"{why}"
                )

    async def run(
        self, data: BaseModel | dict[str, Any], ctx: RunContext | None = None
    ) -> LoopResult:
        """Generate from ``data``, then validate and fix until valid or out of iterations.

        Never raises for a failing agent: a failed generator gives ``output=None``; a
        failed validator or fixer ends the loop with the best attempt so far and
        ``error`` set.
        """
        ctx = ctx or RunContext()
        with tracing.span(
            f"loop {self.name}",
            {
                "forgeflow.loop": self.name,
                "forgeflow.max_iterations": self.max_iterations,
                "forgeflow.run_id": ctx.run_id,
            },
        ) as span:
            result = await self._run(data, ctx)
            span.set_attributes(
                {
                    "forgeflow.iterations": len(result.iterations),
                    "forgeflow.valid": result.valid,
                    "forgeflow.best_iteration": result.best_iteration,
                    "forgeflow.remaining_issues": len(result.remaining_issues),
                }
            )
            if result.error:
                span.fail("agent_failed")
        return result

    async def _run(self, data: BaseModel | dict[str, Any], ctx: RunContext) -> LoopResult:
        result = LoopResult()
        attempts: list[tuple[int, AgentResult, ValidationReport]] = []
        async with AgentSession() as session:
            run = await session.run(self.generator, data, ctx, stage=f"{self.name}/generate")
            result.runs.append(run)
            if not run.ok or run.output is None:
                result.error = f"generator {self.generator.name!r} failed: {run.error}"
                return result
            candidate: AgentResult = run.output
            for iteration in range(1, self.max_iterations + 1):
                with tracing.span(
                    f"loop_iteration {self.name}#{iteration}",
                    {"forgeflow.loop": self.name, "forgeflow.iteration": iteration},
                ) as iteration_span:
                    candidate, stop = await self._iterate(
                        session, ctx, result, attempts, candidate, iteration, iteration_span
                    )
                if stop:
                    break
        if attempts:
            best_iteration, best, report = _best(attempts)
            remaining = [
                issue
                if issue.reason
                else issue.model_copy(update={"reason": self._why_left(issue, len(attempts))})
                for issue in report.issues
            ]
            result.output = _with_findings(best, remaining, report.accepted)
            result.valid = report.valid
            result.remaining_issues = remaining
            result.accepted = list(report.accepted)
            result.best_iteration = best_iteration
        else:  # the first validation failed: the unvalidated candidate is all there is
            result.output = candidate
        return result

    def _why_left(self, issue: Issue, validations: int) -> str:
        if self.fixer is None:
            return "the loop has no fixer"
        if not issue.fixable:
            return "the validator marks it as not fixable"
        if validations >= self.max_iterations:
            return f"still found after {validations} validations (the loop's limit)"
        return "the fixer's change did not make it pass"

    async def _iterate(
        self,
        session: AgentSession,
        ctx: RunContext,
        result: LoopResult,
        attempts: list[tuple[int, AgentResult, ValidationReport]],
        candidate: AgentResult,
        iteration: int,
        span: tracing.Span,
    ) -> tuple[AgentResult, bool]:
        """One validation, and the fix it calls for: the next candidate, and whether to stop."""
        stage = f"{self.name}/validate#{iteration}"
        run = await session.run(self.validator, candidate, ctx, stage=stage)
        result.runs.append(run)
        if not run.ok or not isinstance(run.output, ValidationReport):
            result.error = f"validator {self.validator.name!r} failed: {run.error}"
            span.fail("validator_failed")
            return candidate, True
        report = run.output
        self._record(result, iteration, report)
        attempts.append((iteration, candidate, report))
        span.set_attributes(
            {
                "forgeflow.valid": report.valid,
                "forgeflow.issues": len(report.issues),
                "forgeflow.error_issues": report.error_count,
            }
        )
        if report.valid or self.fixer is None or iteration == self.max_iterations:
            return candidate, True
        fixable = [issue for issue in report.issues if issue.fixable]
        if not fixable:
            return candidate, True
        request = {
            "candidate": candidate.model_dump(mode="json"),
            "issues": [issue.model_dump(mode="json") for issue in fixable],
        }
        span.set("forgeflow.issues_sent_to_fixer", len(fixable))
        stage = f"{self.name}/fix#{iteration}"
        run = await session.run(self.fixer, request, ctx, stage=stage)
        result.runs.append(run)
        if not run.ok or run.output is None:
            result.error = f"fixer {self.fixer.name!r} failed: {run.error}"
            span.fail("fixer_failed")
            return candidate, True
        # a structurally compatible fixer output becomes the generator's type
        try:
            candidate = coerce_model(
                self.generator.output_model,
                run.output,
                what=f"output of fixer {self.fixer.name!r}",
            )
        except ForgeflowError as exc:
            result.error = exc.one_line()
            span.fail(type(exc).__name__)
            return candidate, True
        return candidate, False

    @staticmethod
    def _record(result: LoopResult, iteration: int, report: ValidationReport) -> None:
        if result.iterations:
            previous = result.iterations[-1]
            still = {issue.key() for issue in report.issues}
            previous.issues_fixed = [i for i in previous.issues_found if i.key() not in still]
        result.iterations.append(
            IterationRecord(
                iteration=iteration, issues_found=list(report.issues), valid=report.valid
            )
        )


def _with_findings(
    candidate: AgentResult, issues: list[Issue], accepted: list[Issue]
) -> AgentResult:
    """``candidate`` with ``findings`` set to ``issues`` and ``accepted`` to ``accepted``
    where its model declares those fields (``list[Issue]``), so the loop's output itself
    says what is left and what is suppressed on purpose."""
    fields = type(candidate).model_fields
    update = {
        name: list(value)
        for name, value in (("findings", issues), ("accepted", accepted))
        if name in fields
    }
    return candidate.model_copy(update=update) if update else candidate


def _best(
    attempts: list[tuple[int, AgentResult, ValidationReport]],
) -> tuple[int, AgentResult, ValidationReport]:
    """The valid attempt, else the fewest errors, then fewest issues, then the later one."""
    for attempt in attempts:
        if attempt[2].valid:
            return attempt
    return min(reversed(attempts), key=lambda a: (a[2].error_count, len(a[2].issues)))
