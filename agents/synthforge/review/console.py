"""The pull request as the review console: one ``/forgeflow`` comment handled end to end.

:func:`handle_comment` is what the ``issue_comment`` workflow runs (through
``python -m agents.synthforge.review comment``), with the default branch's Forgeflow and a
token that may write to the pull request. It:

1. ignores comments that are not on a pull request or hold no ``/forgeflow`` line;
2. asks GitHub's collaborator-permission endpoint for the commenter's role (never
   ``author_association``): anyone without write, maintain or admin gets a short reply and
   nothing runs;
3. acknowledges with a 👀 reaction, then handles, in order, every ``/forgeflow`` comment
   newer than the last one handled (so a run that GitHub's concurrency queue replaced is
   not lost: the next run picks its command up), each by a permitted author;
4. records each decision in the PR-body state (who, when, which comment) and re-runs the
   analysis **from the review stage** on the classified architecture kept in the state, so
   vision and filter are not recomputed while the diagram is unchanged; a changed diagram
   (read from the pull request's head through the contents API, as data) is analysed
   anew and the decisions for resources it no longer has are invalidated, with a note;
5. updates the review's sticky comment (decisions, what changed in flows, security and
   cost, the review table) and replies to lines it could not carry out;
6. for ``/forgeflow iac`` on a reviewed diagram, runs the IaC loop and leaves the modules
   (and a patch) for the workflow's next job, which commits them to a same-repository
   branch or uploads them for a fork.

Nothing from the pull request is run: the diagram is bytes, labels are escaped text.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.errors import ForgeflowError, InputError
from agents.synthforge.models import ArchitectureAnalysis, ClassifiedArchitecture
from agents.synthforge.review.commands import HELP, CommandError, has_command, parse_comment
from agents.synthforge.review.state import (
    STATE_KEY,
    DiagramReview,
    ReviewState,
    apply,
    decisions_file,
    post,
)

#: Roles that may answer a review (GitHub's role names; ``maintain`` reads as ``write`` in
#: the legacy ``permission`` field).
ALLOWED_ROLES = frozenset({"admin", "maintain", "write"})
#: The sticky comment of the review.
STICKY_KEY = "synthforge-review"
#: A classified architecture larger than this (compressed, base64) is not kept in the PR
#: body; the analysis then starts again from the diagram.
MAX_EMBEDDED = 30_000
#: Largest diagram read from the contents API.
MAX_DIAGRAM_BYTES = 10 * 1024 * 1024


@dataclass
class CommentEvent:
    """What an ``issue_comment`` delivery says, checked."""

    repo: str
    number: int
    comment_id: int
    login: str
    body: str
    created_at: str
    fork: bool = False


def event_from_payload(payload: dict[str, Any]) -> CommentEvent | None:
    """The comment of an ``issue_comment.created`` payload on a pull request, else None."""
    if payload.get("action") != "created":
        return None
    issue = payload.get("issue") or {}
    if not issue.get("pull_request"):
        return None  # a comment on a plain issue
    comment = payload.get("comment") or {}
    try:
        return CommentEvent(
            repo=str(payload["repository"]["full_name"]),
            number=int(issue["number"]),
            comment_id=int(comment["id"]),
            login=str(comment["user"]["login"]),
            body=str(comment.get("body") or ""),
            created_at=str(comment.get("created_at") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"issue_comment payload: missing or bad field {exc}") from None


@dataclass
class Outcome:
    """What one comment led to (also written for the workflow's later steps)."""

    handled: list[int] = field(default_factory=list)
    refused: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)
    iac: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "handled": self.handled,
            "refused": self.refused,
            "errors": self.errors,
            "warnings": self.warnings,
            "rerun": self.rerun,
            "iac": self.iac,
            "runs": self.runs,
        }


# --------------------------------------------------------------------------- GitHub


async def role_of(client: Any, repo: str, login: str) -> str:
    """``login``'s role on ``repo`` from the collaborator-permission endpoint; 'none' if none."""
    from github import UnknownObjectException

    def ask() -> str:
        try:
            return str(client.repo(repo).get_collaborator_role_name(login) or "none")
        except UnknownObjectException:  # not a collaborator
            return "none"

    return await client.call(f"GET permission of {login} on {repo}", ask)


async def react(client: Any, repo: str, number: int, comment_id: int, content: str) -> None:
    def go() -> None:
        client.repo(repo).get_issue(number).get_comment(comment_id).create_reaction(content)

    await client.call(f"POST reaction on comment {comment_id}", go)


async def reply(client: Any, repo: str, number: int, text: str) -> None:
    from orchestration.runtime.markdown import neutralise

    body = neutralise(text)  # a quoted command or login never pings nor links anyone

    def go() -> None:
        client.repo(repo).get_issue(number).create_comment(body)

    await client.call(f"POST reply on {repo}#{number}", go)


async def new_comments(client: Any, repo: str, number: int, after: int) -> list[Any]:
    """The pull request's comments with an id above ``after``, oldest first."""

    def go() -> list[Any]:
        items = client.repo(repo).get_issue(number).get_comments()
        return sorted((c for c in items if c.id > after), key=lambda c: c.id)

    return await client.call(f"GET comments of {repo}#{number}", go)


async def head_of(client: Any, repo: str, number: int) -> tuple[str, str, bool]:
    """(head commit sha, head branch, whether the head is a fork) of the pull request."""

    def go() -> tuple[str, str, bool]:
        pull = client.repo(repo).get_pull(number)
        head_repo = pull.head.repo
        fork = head_repo is None or head_repo.full_name.lower() != repo.lower()
        return str(pull.head.sha), str(pull.head.ref), fork

    return await client.call(f"GET pull request {repo}#{number}", go)


async def diagram_bytes(client: Any, repo: str, path: str, ref: str) -> bytes:
    """The diagram at ``ref`` through the contents API: data, never checked out."""

    def go() -> bytes:
        content = client.repo(repo).get_contents(path, ref=ref)
        if isinstance(content, list):
            raise InputError(f"{path}: is a folder at {ref[:12]}, expected a diagram")
        if content.type != "file":
            raise InputError(f"{path}: is a {content.type} at {ref[:12]}, expected a file")
        if content.size > MAX_DIAGRAM_BYTES:
            raise InputError(f"{path}: {content.size} bytes, over {MAX_DIAGRAM_BYTES}")
        return bytes(content.decoded_content)

    return await client.call(f"GET contents {path}@{ref[:12]}", go)


# --------------------------------------------------------------------------- state


def embed(envelope_json: str) -> str | None:
    """A stage artifact as compact text for the PR body, or None when it is too large."""
    packed = base64.b64encode(zlib.compress(envelope_json.encode("utf-8"), 9)).decode("ascii")
    return packed if len(packed) <= MAX_EMBEDDED else None


def unembed(packed: str) -> str:
    raw = base64.b64decode(packed.encode("ascii"), validate=True)
    d = zlib.decompressobj()
    text = d.decompress(raw, 16 * 1024 * 1024)
    if d.unconsumed_tail:
        raise InputError("the classified architecture in the PR body is too large")
    return text.decode("utf-8")


# --------------------------------------------------------------------------- runs


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_of(analysis: ArchitectureAnalysis) -> dict[str, Any]:
    """The figures the comment compares between two runs."""
    network = analysis.network
    flows = list(network.flows) if network is not None else []
    private = sum(1 for f in flows if f.private)
    security = analysis.security.resources if analysis.security is not None else []
    cost = analysis.cost.total_monthly if analysis.cost is not None else None
    return {
        "resources": len(analysis.architecture.resources),
        "flows": len(flows),
        "private_flows": private,
        "role_assignments": sum(len(s.role_assignments) for s in security),
        "private_endpoints": sum(1 for s in security if s.private_endpoint is not None),
        "monthly_cost": cost,
    }


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """Lines saying how the figures moved (empty when nothing did)."""
    if not before:
        return []
    names = {
        "resources": "resources",
        "flows": "network flows",
        "private_flows": "private flows",
        "role_assignments": "role assignments",
        "private_endpoints": "private endpoints",
        "monthly_cost": "estimated monthly cost",
    }
    out = []
    for key, label in names.items():
        a, b = before.get(key), after.get(key)
        if a != b:
            fa = f"{a:,.2f}" if isinstance(a, float) else str(a)
            fb = f"{b:,.2f}" if isinstance(b, float) else str(b)
            out.append(f"{label}: {fa} → {fb}")
    return out


@dataclass
class Workspace:
    """Where a comment's runs put their files, and the result cache they share."""

    root: Path
    cache: Path | None = None

    def folder(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def _safe_name(path: str) -> str:
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:10]
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in Path(path).stem)[:40]
    return f"{stem or 'diagram'}-{digest}"


def rerun(
    review: DiagramReview,
    workspace: Workspace,
    *,
    diagram: bytes,
    digest: str,
    run_id: str,
) -> tuple[ArchitectureAnalysis, ClassifiedArchitecture, Path, dict[str, Any]]:
    """Run the analysis again with the review's decisions.

    From the review stage on the kept classified architecture when the diagram is the one
    reviewed; from the diagram otherwise. Returns (analysis, classified, run folder, record).
    """
    from orchestration.pipeline.runner import run_pipeline_file
    from orchestration.pipeline.shipped_pipelines import shipped_pipeline

    name = _safe_name(review.path)
    here = workspace.folder("runs", name, run_id)
    decisions = here / "decisions.json"
    decisions.write_text(decisions_file(review).model_dump_json(indent=2), encoding="utf-8")
    settings = {"interactive": {"decisions": str(decisions)}}
    classified_text = (
        unembed(review.classified) if review.classified and review.digest == digest else None
    )
    if classified_text is not None:
        source = here / "filter.json"
        source.write_text(classified_text, encoding="utf-8")
        pipeline = shipped_pipeline("synthforge-review")
    else:
        suffix = Path(review.path).suffix or ".drawio"
        source = here / f"diagram{suffix}"
        source.write_bytes(diagram)
        pipeline = shipped_pipeline("synthforge")
    report = run_pipeline_file(
        pipeline,
        source,
        state=str(workspace.folder("state")),
        run_id=run_id,
        out_dir=here / "out",
        settings=settings,
        cache_dir=workspace.cache,
    )
    if not report.ok or report.output is None:
        raise ForgeflowError(
            f"{review.path}: the analysis failed at {report.failed_stage}: {report.error}"
        )
    from orchestration.runtime.artifact import read_artifact

    analysis = read_artifact(report.output, ArchitectureAnalysis).typed(ArchitectureAnalysis)
    if classified_text is not None:
        classified = read_artifact(source, ClassifiedArchitecture).typed(ClassifiedArchitecture)
    else:
        classified = read_artifact(here / "out" / "filter.json", ClassifiedArchitecture).typed(
            ClassifiedArchitecture
        )
        review.classified = embed((here / "out" / "filter.json").read_text(encoding="utf-8"))
    record = {
        "pipeline": pipeline.name,
        "stages": sorted(p.stem for p in (here / "out").glob("*.json") if p.stem != "output"),
        "from": "review stage" if classified_text is not None else "diagram",
    }
    return analysis, classified, here, record


# --------------------------------------------------------------------------- the comment


def _md(text: object) -> str:
    """Inert inline text; mentions and issue links are made inert for the whole comment
    where every comment is posted (``reply``, ``upsert_sticky_comment``)."""
    from agents.synthforge.analysis.report import md

    return md(text)


def review_table(review: DiagramReview, classified: ClassifiedArchitecture) -> str:
    """The items to decide (needing clarification first), as a markdown table."""
    decided = {r.decision.resource_id: r for r in review.decisions}
    rows = [
        "| ID | icon or category | label | proposed type | evidence | candidates | decision |",
        "|---|---|---|---|---|---|---|",
    ]

    def decision_of(rid: str) -> str:
        rec = decided.get(rid)
        if rec is None:
            return "accepted (all)" if review.accept_rest else "—"
        d = rec.decision
        what = {"confirm": "confirmed", "correct": "set", "remove": "removed", "add": "added"}[
            d.action
        ]
        extra = f" {_md(d.resource_type)}" if d.resource_type else ""
        return f"{what}{extra} by {_md(rec.by)}"

    for item in classified.needs_clarification:
        icon = item.icon_key.rsplit("/", 1)[-1]
        cands = ", ".join(f"{n}. {_md(c)}" for n, c in enumerate(item.candidates[:5], start=1))
        rows.append(
            f"| `{_md(item.icon_id)}` | {_md(icon)} | {_md(item.label)} | ❓ | "
            f"needs clarification | {cands or '—'} | {decision_of(item.icon_id)} |"
        )
    for r in classified.resources:
        icon = ""
        evidence = getattr(r, "evidence", None) or r.mapping_source
        rows.append(
            f"| `{_md(r.id)}` | {_md(icon or r.category)} | {_md(r.name)} | "
            f"{_md(r.resource_type)} | {_md(evidence)} | — | {decision_of(r.id)} |"
        )
    for rec in review.decisions:
        if rec.decision.action == "add":
            rows.append(
                f"| `{_md(rec.decision.resource_id)}` | — | {_md(rec.decision.name or '')} | "
                f"{_md(rec.decision.resource_type)} | added by a reviewer | — | "
                f"{decision_of(rec.decision.resource_id)} |"
            )
    return "\n".join(rows)


STATUS_TEXT = {
    "waiting_review": "⏸️ waiting for review",
    "reviewed": "✅ reviewed",
    "iac_requested": "🏗️ reviewed; modules requested",
}


def comment_markdown(
    state: ReviewState,
    sections: dict[str, tuple[ClassifiedArchitecture, ArchitectureAnalysis | None, list[str]]],
) -> str:
    """The review's sticky comment: per diagram its status, decisions and table."""
    out = ["## SynthForge review", ""]
    out.append(
        "Answer with `/forgeflow …` comments (write access needed); `/forgeflow help` lists "
        "them. Decisions are recorded in this pull request's description."
    )
    for review in sorted(state.diagrams.values(), key=lambda d: d.number):
        out += ["", f"### {review.number}. {_md(review.path)} — {STATUS_TEXT[review.status]}", ""]
        out.append(f"Diagram `{review.digest[:12]}`.")
        if review.pending:
            out.append("Still to decide: " + ", ".join(f"`{_md(i)}`" for i in review.pending) + ".")
        elif not review.accept_rest:
            out.append("Every unclear item is decided; `/forgeflow accept all` confirms the rest.")
        for rec in review.invalidated[-10:]:
            out.append(
                f"- ⚠️ decision `{_md(rec.command or rec.decision.action)}` by {_md(rec.by)} no "
                f"longer applies: {_md(rec.reason)}"
            )
        section = sections.get(review.path)
        if section is None:
            continue
        classified, analysis, moved = section
        if moved:
            out += ["", "What changed: " + "; ".join(_md(m) for m in moved) + "."]
        out += ["", review_table(review, classified)]
        if analysis is not None:
            out += [
                "",
                "<details><summary>The analysis with these decisions</summary>",
                "",
                analysis.report_markdown,
                "",
                "</details>",
            ]
    return "\n".join(out) + "\n"


async def handle_comment(
    event: CommentEvent,
    client: Any,
    workspace: Workspace,
    *,
    settle: float = 2.0,
    run_url: str | None = None,
) -> Outcome:
    """Handle ``event`` (see the module docstring) and say what was done."""
    from orchestration.github.pr_state import PullRequestState, upsert_sticky_comment

    outcome = Outcome()
    commands, errors = parse_comment(event.body)
    if not commands and not errors:
        return outcome
    role = await role_of(client, event.repo, event.login)
    if role not in ALLOWED_ROLES:
        outcome.refused = (
            f"Only people with write, maintain or admin access can answer the review; "
            f"{_md(event.login)} has {_md(role)}. Nothing was run."
        )
        await reply(client, event.repo, event.number, outcome.refused)
        return outcome
    await react(client, event.repo, event.number, event.comment_id, "eyes")

    store = PullRequestState(event.repo, event.number, client, settle=settle)
    raw = await store.get(STATE_KEY)
    try:
        state = ReviewState.model_validate(raw) if raw else ReviewState()
    except ValueError:
        raise InputError("the review state in the pull request's description is damaged") from None

    # every /forgeflow comment since the last one handled, oldest first
    pending: list[tuple[int, str, str, str]] = []
    roles = {event.login: role}
    for comment in await new_comments(client, event.repo, event.number, state.last_comment_id):
        login = comment.user.login
        if comment.id != event.comment_id and not has_command(comment.body):
            continue
        if login not in roles:
            roles[login] = await role_of(client, event.repo, login)
        if roles[login] not in ALLOWED_ROLES:
            continue
        when = comment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if comment.created_at else _now()
        pending.append((comment.id, login, comment.body or "", when))
    if (
        not any(cid == event.comment_id for cid, *_ in pending)
        and event.comment_id > state.last_comment_id
    ):
        pending.append((event.comment_id, event.login, event.body, event.created_at or _now()))
    pending.sort()

    touched: dict[str, DiagramReview] = {}
    wants_help = False
    for cid, login, body, when in pending:
        cmds, errs = parse_comment(body)
        if cid == event.comment_id:
            outcome.errors += [str(e) for e in errs]
        for cmd in cmds:
            if cmd.verb == "help":
                wants_help = wants_help or cid == event.comment_id
                continue
            try:
                review = apply(state, cmd, by=login, at=when, comment_id=cid)
            except CommandError as exc:
                if cid == event.comment_id:
                    outcome.errors.append(str(exc))
                continue
            if review is not None:
                touched[review.path] = review
                for d in cmd.decisions:
                    if d.resource_type and not _known_type(d.resource_type):
                        outcome.warnings.append(
                            f"line {cmd.line}: type {d.resource_type} is not one Forgeflow knows; "
                            "it is kept, but it gets no price and no module"
                        )
        outcome.handled.append(cid)
        state.last_comment_id = max(state.last_comment_id, cid)

    sections: dict[str, tuple[ClassifiedArchitecture, ArchitectureAnalysis | None, list[str]]] = {}
    head_sha, head_ref, fork = (
        await head_of(client, event.repo, event.number) if touched else ("", "", False)
    )
    for path, review in sorted(touched.items()):
        data = await diagram_bytes(client, event.repo, path, head_sha)
        digest = hashlib.sha256(data).hexdigest()
        run_id = f"review-{event.number}-{event.comment_id}-{review.number}"
        from_review = review.classified is not None and digest == review.digest
        analysis, classified, folder, record = await asyncio.to_thread(
            rerun, review, workspace, diagram=data, digest=digest, run_id=run_id
        )
        if not from_review and digest == review.digest:
            outcome.warnings.append(
                f"the classified architecture of {path} is too large to keep in this pull "
                f"request's description (over {MAX_EMBEDDED:,} characters compressed), so "
                "the analysis ran again from the diagram, not from the review stage"
            )
        if digest != review.digest:
            embedded = review.classified  # the rerun's, of the changed diagram
            kept_review, dropped = post(state, path, digest, classified)
            assert kept_review is not None
            review = kept_review
            for rec in dropped:
                outcome.warnings.append(
                    f"the diagram {path} changed: decision `{rec.command}` by {rec.by} no longer "
                    f"applies ({rec.reason})"
                )
            if dropped:  # the decisions changed: analyse once more with those that remain
                analysis, classified, folder, record = await asyncio.to_thread(
                    rerun, review, workspace, diagram=data, digest=digest, run_id=run_id + "-b"
                )
            else:  # post forgot the old diagram's; the rerun's is of this one, keep it
                review.classified = embedded
        summary = summary_of(analysis)
        moved = changes(review.summary, summary)
        review.summary = summary
        review.run = run_url
        sections[path] = (classified, analysis, moved)
        outcome.rerun.append(path)
        outcome.runs[path] = {**record, "folder": str(folder)}
        if review.status == "iac_requested" and review.iac:
            outcome.iac.append(
                {
                    "path": path,
                    "iac": review.iac,
                    # relative to the workspace: the next job downloads it elsewhere
                    "analysis": (folder / "out" / "output.json")
                    .relative_to(workspace.root)
                    .as_posix(),
                    "requested_by": review.iac_requested_by,
                    "head_sha": head_sha,
                    "head_ref": head_ref,
                    "fork": fork,
                    "run_id": run_id,
                }
            )
    await store.update(STATE_KEY, state.model_dump(mode="json"))
    if touched:
        markdown = comment_markdown(state, sections)
        await upsert_sticky_comment(event.repo, event.number, STICKY_KEY, markdown, client=client)
    lines = []
    if wants_help:
        lines.append(HELP)
    if outcome.errors:
        lines.append("Not carried out:\n" + "\n".join(f"- {_md(e)}" for e in outcome.errors))
    if outcome.warnings:
        lines.append("Note:\n" + "\n".join(f"- {_md(w)}" for w in outcome.warnings))
    if lines:
        await reply(client, event.repo, event.number, "\n\n".join(lines))
    await react(
        client,
        event.repo,
        event.number,
        event.comment_id,
        "confused" if outcome.errors else "+1",
    )
    return outcome


def _known_type(resource_type: str) -> bool:
    """Whether the icon map knows ``resource_type`` (the interactive stage's own test)."""
    from agents.synthforge.analysis.icon_map import load_icon_map

    return load_icon_map().knows_type(resource_type)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


async def open_reviews(
    client: Any,
    repo: str,
    number: int,
    artifacts: dict[str, Path],
    *,
    head_sha: str,
    run_url: str | None = None,
    require_review: bool = False,
    settle: float = 2.0,
) -> ReviewState:
    """After the pull request's analysis: open (or refresh) the review of each diagram.

    ``artifacts`` maps a diagram's path to the folder of its analysis run (holding
    ``filter.json`` and ``output.json``). The diagram's digest is taken from its bytes at
    ``head_sha`` through the contents API. A diagram with nothing to clarify opens no
    review unless ``require_review``; decisions made before a push carry over where their
    resource still exists.
    """
    from orchestration.github.pr_state import PullRequestState, upsert_sticky_comment
    from orchestration.runtime.artifact import read_artifact

    store = PullRequestState(repo, number, client, settle=settle)
    raw = await store.get(STATE_KEY)
    state = ReviewState.model_validate(raw) if raw else ReviewState()
    sections: dict[str, tuple[ClassifiedArchitecture, ArchitectureAnalysis | None, list[str]]] = {}
    for path, folder in sorted(artifacts.items()):
        filter_file = folder / "filter.json"
        if not filter_file.is_file():
            continue
        classified = read_artifact(filter_file, ClassifiedArchitecture).typed(
            ClassifiedArchitecture
        )
        if not classified.needs_clarification and not require_review and path not in state.diagrams:
            continue  # nothing to review, and no review to refresh: no request made
        data = await diagram_bytes(client, repo, path, head_sha)
        digest = hashlib.sha256(data).hexdigest()
        review, dropped = post(state, path, digest, classified, require_review=require_review)
        if review is None:
            continue
        review.classified = embed(filter_file.read_text(encoding="utf-8"))
        analysis = None
        output = folder / "output.json"
        if output.is_file():
            analysis = read_artifact(output, ArchitectureAnalysis).typed(ArchitectureAnalysis)
        moved: list[str] = []
        if analysis is not None:
            summary = summary_of(analysis)
            moved = changes(review.summary, summary)
            review.summary = summary
        review.run = run_url
        sections[path] = (classified, analysis, moved)
    if not state.diagrams:
        return state  # no review: the body and the comments are left as they are
    await store.update(STATE_KEY, state.model_dump(mode="json"))
    if sections:
        markdown = comment_markdown(state, sections)
        await upsert_sticky_comment(repo, number, STICKY_KEY, markdown, client=client)
    return state
