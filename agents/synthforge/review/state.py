"""The review of a pull request's diagrams, kept in the PR body between workflow runs.

A diagram's analysis that has items needing clarification (or whose review is required)
is **waiting for review**: the state records the digest of the diagram bytes it applies
to, the ids a reviewer may decide on, and every decision with who made it, when and in
which comment. ``/forgeflow`` commands add decisions (a later decision about a resource
replaces an earlier one); a push that changes the diagram keeps the decisions whose
resource still exists and moves the others to ``invalidated`` with the reason, so nothing
is dropped silently. The run resumes from the review stage with :func:`decisions_file`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.synthforge.models import ClassifiedArchitecture, Decision, DecisionsFile
from agents.synthforge.review.commands import Command, CommandError

#: The PR-body state key of the review.
STATE_KEY = "synthforge-review"
Status = Literal["waiting_review", "reviewed", "iac_requested"]


class RecordedDecision(BaseModel):
    decision: Decision
    by: str = Field(description="GitHub login of the commenter")
    at: str = Field(description="When the comment was made (ISO 8601)")
    comment_id: int | None = None
    command: str = Field(default="", description="The command line as written")
    reason: str = Field(default="", description="Why it was invalidated (invalidated only)")


class DiagramReview(BaseModel):
    path: str
    number: int = Field(ge=1, description="The diagram's number in the review table")
    digest: str = Field(description="sha256 of the diagram bytes the review applies to")
    status: Status = "waiting_review"
    resource_ids: list[str] = Field(default_factory=list, description="Ids a decision may name")
    unclear: list[str] = Field(default_factory=list, description="Ids needing clarification")
    types: dict[str, str] = Field(default_factory=dict, description="Each resource's type now")
    accept_rest: bool = False
    accepted_by: str | None = None
    decisions: list[RecordedDecision] = Field(default_factory=list)
    invalidated: list[RecordedDecision] = Field(default_factory=list)
    iac: Literal["terraform", "bicep", "both"] | None = None
    iac_requested_by: str | None = None
    classified: str | None = Field(
        default=None,
        description="The filter stage's artifact for this digest (zlib, base64), so a "
        "resumed run starts at the review stage",
    )
    summary: dict[str, Any] | None = Field(default=None, description="Figures of the last run")
    run: str | None = Field(default=None, description="Link to the run of the last analysis")

    @property
    def pending(self) -> list[str]:
        """Ids needing clarification that no decision covers yet."""
        decided = {r.decision.resource_id for r in self.decisions}
        return [i for i in self.unclear if i not in decided]

    @property
    def complete(self) -> bool:
        """Every item needing clarification decided, and the rest accepted."""
        return not self.pending and self.accept_rest


class ReviewState(BaseModel):
    version: Literal[1] = 1
    diagrams: dict[str, DiagramReview] = Field(default_factory=dict, description="By path")
    last_comment_id: int = Field(default=0, description="The newest comment already handled")


def review_ids(classified: ClassifiedArchitecture) -> tuple[list[str], list[str]]:
    """(every id a decision may name, the ids needing clarification)."""
    unclear = [u.icon_id for u in classified.needs_clarification]
    return [r.id for r in classified.resources] + unclear, unclear


def post(
    state: ReviewState,
    path: str,
    digest: str,
    classified: ClassifiedArchitecture,
    *,
    require_review: bool = False,
) -> tuple[DiagramReview | None, list[RecordedDecision]]:
    """Record the analysis of ``path`` at ``digest``; returns (its review or None, dropped).

    No review is opened when nothing needs clarification and review is not required. On a
    new digest the decisions whose resource is gone are returned (and kept under
    ``invalidated``); the others carry over.
    """
    ids, unclear = review_ids(classified)
    old = state.diagrams.get(path)
    if old is None:
        if not unclear and not require_review:
            return None, []
        number = 1 + max((d.number for d in state.diagrams.values()), default=0)
        review = DiagramReview(path=path, number=number, digest=digest)
        state.diagrams[path] = review
    else:
        review = old
    dropped: list[RecordedDecision] = []
    if review.digest != digest:
        known = set(ids)
        kept = []
        for rec in review.decisions:
            if rec.decision.action == "add" or rec.decision.resource_id in known:
                kept.append(rec)
            else:
                gone = rec.model_copy(
                    update={"reason": f"{rec.decision.resource_id!r} is not in the changed diagram"}
                )
                dropped.append(gone)
        review.decisions = kept
        review.invalidated.extend(dropped)
        review.digest = digest
        review.classified = None
        if review.status == "iac_requested":
            review.iac = None
    review.resource_ids = ids
    review.unclear = unclear
    review.types = {r.id: r.resource_type for r in classified.resources}
    review.status = "reviewed" if review.complete else "waiting_review"
    return review, dropped


def _target(state: ReviewState, command: Command) -> DiagramReview:
    reviews = sorted(state.diagrams.values(), key=lambda d: d.number)
    if command.diagram is not None:
        for review in reviews:
            if command.diagram in (str(review.number), review.path):
                return review
        raise CommandError(
            f"line {command.line}: no diagram {command.diagram!r} under review; "
            + (", ".join(f"{d.number}: {d.path}" for d in reviews) or "none is")
        )
    if len(reviews) == 1:
        return reviews[0]
    if not reviews:
        raise CommandError(f"line {command.line}: no diagram of this pull request is under review")
    listed = ", ".join(f"diagram={d.number} ({d.path})" for d in reviews)
    raise CommandError(
        f"line {command.line}: several diagrams are under review; add one of {listed}"
    )


def apply(
    state: ReviewState,
    command: Command,
    *,
    by: str,
    at: str,
    comment_id: int | None,
) -> DiagramReview | None:
    """Carry out one decision command; returns the review it changed (None for ``help``).

    Raises :class:`CommandError` (the reply) when the command names no known resource or
    diagram; nothing is changed then.
    """
    if command.verb == "help":
        return None
    review = _target(state, command)
    if command.verb == "iac":
        if not review.complete:
            waiting = ", ".join(review.pending) or "the rest (`/forgeflow accept all`)"
            raise CommandError(
                f"line {command.line}: diagram {review.number} ({review.path}) is not reviewed "
                f"yet; still to decide: {waiting}"
            )
        review.iac = command.iac
        review.iac_requested_by = by
        review.status = "iac_requested"
        return review
    if command.verb == "accept" and command.all:
        review.accept_rest = True
        review.accepted_by = by
    for decision in command.decisions:
        if decision.action != "add" and decision.resource_id not in review.resource_ids:
            raise CommandError(
                f"line {command.line}: diagram {review.number} has no resource "
                f"{decision.resource_id!r}; see the ids in the review table"
            )
        if decision.action == "add" and decision.resource_id in review.resource_ids:
            raise CommandError(
                f"line {command.line}: {decision.resource_id!r} already exists in diagram "
                f"{review.number}; use `set` to change it"
            )
    filled = []
    for decision in command.decisions:
        if decision.action == "correct" and not decision.resource_type:
            current = review.types.get(decision.resource_id)
            if current is None:
                raise CommandError(
                    f"line {command.line}: {decision.resource_id!r} needs clarification; "
                    "give its type=TYPE"
                )
            decision = decision.model_copy(update={"resource_type": current})
        filled.append(decision)
    for decision in filled:
        review.decisions = [
            r for r in review.decisions if r.decision.resource_id != decision.resource_id
        ]
        review.decisions.append(
            RecordedDecision(
                decision=decision, by=by, at=at, comment_id=comment_id, command=command.text
            )
        )
    review.status = "reviewed" if review.complete else "waiting_review"
    return review


def decisions_file(review: DiagramReview) -> DecisionsFile:
    """The decisions file the interactive stage applies when the run resumes.

    Resources no decision covers are accepted as classified (the analysis stays whole
    while the review is open); :attr:`DiagramReview.complete` says whether the review is
    finished, and IaC waits for it.
    """
    people = sorted({r.by for r in review.decisions} | {p for p in [review.accepted_by] if p})
    reviewer = "pull request: " + (", ".join(p for p in people if p) or "nobody yet")
    return DecisionsFile(
        reviewer=reviewer,
        decisions=[r.decision for r in review.decisions],
        accept_rest=True,
    )
