"""The ``interactive`` agent: a human reviews the classified architecture.

Input :class:`ClassifiedArchitecture`, output :class:`ReviewedArchitecture` carrying a
:class:`Review` (who, how, and every decision). The mode comes from the agent's settings
(``python -m agents.run interactive IN --set KEY=VALUE``):

* ``decisions=FILE`` — a :class:`DecisionsFile` JSON document (schema in
  ``schemas/DecisionsFile.json``); nothing is asked;
* ``yes=true`` — accept every resource as classified (reviewer ``auto (--yes)``);
* otherwise, when standard input is a terminal, ask about each resource (confirm, correct
  the type, remove), then about each item that needs clarification (pick a candidate, type
  a resource type, remove or skip), then offer to add resources.

With none of these it stops with an :class:`InputError`. Items needing clarification that
no decision resolves stay in ``needs_clarification``.

The prompt I/O goes through a :class:`Prompter`, so a script or a test can drive a terminal
review: :class:`ClickPrompter` talks to the process's terminal through ``click``;
:class:`StreamPrompter` reads answers from any text stream.
"""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TextIO, cast

from pydantic import Field, ValidationError

from agents.base import Agent, AgentConfig, AgentSettings, format_validation_error
from agents.errors import InputError, SchemaViolation, cut_line
from agents.model_client import ModelClient
from agents.synthforge.analysis.filter import name_from_type
from agents.synthforge.analysis.heap import FewerCollections
from agents.synthforge.analysis.icon_map import IconMap, load_icon_map, provider_of_type
from agents.synthforge.models import (
    ClassifiedArchitecture,
    Decision,
    DecisionsFile,
    NonArchitectural,
    Provider,
    Resource,
    Review,
    ReviewedArchitecture,
)

NO_MODE = (
    "interactive review needs a terminal, a decisions file (--set decisions=FILE) or --set yes=true"
)
AUTO_REVIEWER = "auto (--yes)"

Method = Literal["terminal", "decisions_file", "accept_all"]


# --------------------------------------------------------------------------- prompt I/O


class Prompter(Protocol):
    """Asks the reviewer questions. Implementations raise :class:`InputError` on end of input."""

    def echo(self, text: str = "") -> None:
        """Show one line."""

    def prompt(self, text: str, *, default: str | None = None, choices: Sequence[str] = ()) -> str:
        """Ask for a value; with ``choices`` only one of them (case-insensitive) is accepted."""

    def confirm(self, text: str, *, default: bool = False) -> bool:
        """Ask a yes/no question."""


class ClickPrompter:
    """Prompts on the process's standard input and output, through :mod:`click`."""

    def echo(self, text: str = "") -> None:
        import click

        click.echo(text)

    def prompt(self, text: str, *, default: str | None = None, choices: Sequence[str] = ()) -> str:
        import click

        kind: Any = click.Choice(list(choices), case_sensitive=False) if choices else str
        try:
            value = click.prompt(text, default=default, type=kind, show_default=bool(default))
        except click.Abort:
            raise InputError("interactive review aborted: input ended before it was done") from None
        return str(value).strip()

    def confirm(self, text: str, *, default: bool = False) -> bool:
        import click

        try:
            return bool(click.confirm(text, default=default))
        except click.Abort:
            raise InputError("interactive review aborted: input ended before it was done") from None


class StreamPrompter:
    """Reads answers line by line from ``answers``; writes questions to ``output``.

    Invalid answers are reported and asked again, as on a terminal.
    """

    def __init__(self, answers: TextIO, output: TextIO | None = None) -> None:
        self.answers = answers
        self.output = output if output is not None else sys.stderr

    def echo(self, text: str = "") -> None:
        self.output.write(text + "\n")

    def _read(self, question: str) -> str:
        self.output.write(question)
        line = self.answers.readline()
        if not line:
            raise InputError("interactive review aborted: input ended before it was done")
        self.output.write(line if line.endswith("\n") else line + "\n")
        return line.strip()

    def prompt(self, text: str, *, default: str | None = None, choices: Sequence[str] = ()) -> str:
        shown = f" ({'/'.join(choices)})" if choices else ""
        shown += f" [{default}]" if default else ""
        while True:
            answer = self._read(f"{text}{shown}: ") or (default or "")
            if not choices:
                return answer
            for choice in choices:
                if answer.lower() == choice.lower():
                    return choice
            self.echo(f"Error: {answer!r} is not one of {', '.join(choices)}.")

    def confirm(self, text: str, *, default: bool = False) -> bool:
        while True:
            answer = self._read(f"{text} [{'Y/n' if default else 'y/N'}]: ").lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.echo("Error: answer y or n.")


# --------------------------------------------------------------------------- settings


class InteractiveSettings(AgentSettings):
    """Settings of the ``interactive`` agent: how the review is done without a terminal."""

    decisions: str | None = Field(
        default=None,
        description="A decisions file (JSON, schema DecisionsFile): apply it, ask nothing",
    )
    yes: bool = Field(
        default=False, description="Accept every resource as classified (reviewer 'auto (--yes)')"
    )


def truthy(value: Any) -> bool:
    """``True`` for a true bool or a string like ``true``/``yes``/``1``/``on``."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "on"}


def load_decisions(path: Path) -> DecisionsFile:
    """Read and validate a decisions file; errors name the file and the JSON path."""
    from orchestration.runtime.artifact import read_json

    doc = read_json(path)
    try:
        return DecisionsFile.model_validate(doc)
    except ValidationError as exc:
        raise SchemaViolation(
            f"{path}: {format_validation_error(exc)} (expected a DecisionsFile)"
        ) from None


# --------------------------------------------------------------------------- decisions


def apply_decisions(
    classified: ClassifiedArchitecture,
    decisions: Sequence[Decision],
    *,
    reviewer: str,
    method: Method,
    accept_rest: bool = True,
    where: str = "decisions",
) -> ReviewedArchitecture:
    """Apply the reviewer's decisions and return the reviewed architecture.

    ``confirm``/``correct``/``remove`` name a resource or an item needing clarification
    (by its icon id); ``add`` names a new id; ``split`` names a resource whose merged
    drawings (duplicates) should be resources of their own again. With ``accept_rest``
    every resource no decision mentions is confirmed; without it every resource must be
    decided. ``where`` names the source of the decisions in error messages (a file, say).
    """
    icon_map = load_icon_map()
    resources = {r.id: r for r in classified.resources}
    unclear = {u.icon_id: u for u in classified.needs_clarification}
    non_arch = list(classified.non_architectural)
    decided: set[str] = set()
    recorded: list[Decision] = []
    added: list[Resource] = []
    type_warnings: list[str] = []

    for n, decision in enumerate(decisions):
        at = f"{where}: $.decisions[{n}]"
        rid = decision.resource_id
        if rid in decided:
            raise InputError(f"{at}.resource_id: resource {rid!r} already has a decision")
        decided.add(rid)
        if decision.action == "add":
            if rid in resources or rid in unclear or any(a.id == rid for a in added):
                raise InputError(f"{at}.resource_id: {rid!r} already exists; add needs a new id")
            rtype = _required_type(decision, at, icon_map, type_warnings)
            added.append(
                Resource(
                    id=rid,
                    name=decision.name or name_from_type(rtype, decision.kind),
                    provider=_provider(rtype, "unknown"),
                    resource_type=rtype,
                    kind=decision.kind,
                    category=icon_map.category_of(rtype),
                    mapping_source=_by(reviewer, "added", decision.note),
                )
            )
        elif rid in resources:
            current = resources[rid]
            if decision.action == "remove":
                del resources[rid]
            elif decision.action == "correct":
                rtype = _required_type(decision, at, icon_map, type_warnings)
                resources[rid] = current.model_copy(
                    update={
                        "resource_type": rtype,
                        "kind": decision.kind,
                        "name": decision.name or current.name,
                        "provider": _provider(rtype, current.provider),
                        "category": icon_map.category_of(rtype),
                        "mapping_source": _by(reviewer, "corrected", decision.note),
                    }
                )
            elif decision.action == "split":
                if not current.drawings:
                    raise InputError(
                        f"{at}.action: resource {rid!r} has no other drawings to split off"
                    )
                resources[rid] = current.model_copy(update={"drawings": []})
                for drawing in current.drawings:
                    added.append(
                        current.model_copy(
                            update={
                                "id": drawing,
                                "icon_id": drawing,
                                "drawings": [],
                                "mapping_source": _by(reviewer, "split", decision.note),
                            }
                        )
                    )
            elif decision.name:
                resources[rid] = current.model_copy(update={"name": decision.name})
        elif rid in unclear:
            item = unclear[rid]
            if decision.action == "remove":
                del unclear[rid]
                reason = decision.note or "not part of the architecture"
                non_arch.append(
                    NonArchitectural(
                        icon_id=item.icon_id,
                        icon_key=item.icon_key,
                        label=item.label,
                        reason=f"reviewer {reviewer}: {reason}",
                    )
                )
            else:
                clarified = decision.resource_type
                if clarified is None:
                    options = ", ".join(item.candidates) or "none"
                    raise InputError(
                        f"{at}.resource_type: {rid!r} needs clarification; "
                        f"give its resource_type (candidates: {options})"
                    )
                _check_type(clarified, f"{at}.resource_type", icon_map, type_warnings)
                del unclear[rid]
                added.append(
                    Resource(
                        id=rid,
                        icon_id=rid,
                        name=decision.name
                        or item.label
                        or name_from_type(clarified, decision.kind),
                        provider=_provider(clarified, "unknown"),
                        resource_type=clarified,
                        kind=decision.kind,
                        category=icon_map.category_of(clarified),
                        containers=_containers_of(classified, rid),
                        mapping_source=_by(reviewer, "clarified", decision.note),
                    )
                )
        else:
            known = sorted(resources) + sorted(unclear)
            raise InputError(
                f"{at}.resource_id: unknown resource {rid!r}; "
                f"known ids: {', '.join(known) or 'none'}"
            )
        recorded.append(decision)

    rest = [r for r in classified.resources if r.id not in decided]
    if rest and not accept_rest:
        raise InputError(
            f"{where}: $.accept_rest is false but no decision covers "
            f"{', '.join(r.id for r in rest)}"
        )
    recorded.extend(
        Decision(action="confirm", resource_id=r.id, note="accepted as classified") for r in rest
    )

    kept = [resources[r.id] for r in classified.resources if r.id in resources]
    remaining = [u for u in classified.needs_clarification if u.icon_id in unclear]
    warnings = [w for w in classified.warnings if "need clarification" not in w]
    warnings += type_warnings
    if remaining:
        warnings.append(
            f"{len(remaining)} icon(s) still need clarification after review: "
            + ", ".join(u.icon_id for u in remaining)
        )
    return ReviewedArchitecture(
        source=classified.source,
        resources=kept + added,
        non_architectural=non_arch,
        needs_clarification=remaining,
        containers=list(classified.containers),
        connections=list(classified.connections),
        shapes=list(classified.shapes),
        confidence=1.0 if not remaining else classified.confidence,
        errors=list(classified.errors),
        warnings=warnings,
        review=Review(reviewer=reviewer, method=method, decisions=recorded),
    )


def _required_type(decision: Decision, at: str, icon_map: IconMap, warnings: list[str]) -> str:
    if not decision.resource_type:
        raise InputError(f"{at}.resource_type: {decision.action} needs a resource_type")
    return _check_type(decision.resource_type, f"{at}.resource_type", icon_map, warnings)


#: An ARM type (``Microsoft.Web/sites``, ``Microsoft.Sql/servers/databases``).
_ARM_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+(/[A-Za-z][A-Za-z0-9]*)+")
#: A CloudFormation type (``AWS::S3::Bucket``).
_CFN_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")


def _check_type(rtype: str, at: str, icon_map: IconMap, warnings: list[str]) -> str:
    """``rtype`` when it is an ARM or CloudFormation type; a type of that shape that the
    icon map does not know is accepted with a warning naming it, anything else refused."""
    if not (_ARM_TYPE.fullmatch(rtype) or _CFN_TYPE.fullmatch(rtype)):
        raise InputError(
            f"{at}: {cut_line(rtype, 120)!r} is not a resource type: give an ARM type "
            "(Microsoft.Web/sites) or a CloudFormation type (AWS::S3::Bucket)"
        )
    if not icon_map.knows_type(rtype):
        warnings.append(
            f"{at}: resource type {rtype!r} is not one Forgeflow knows; "
            "the security, flow and cost analyses may not cover it"
        )
    return rtype


def _provider(resource_type: str, fallback: str) -> Provider:
    by_type = provider_of_type(resource_type)
    return cast(Provider, by_type if by_type in ("azure", "aws") else fallback)


def _by(reviewer: str, what: str, note: str) -> str:
    return f"{what} by reviewer {reviewer}" + (f": {note}" if note else "")


def _containers_of(classified: ClassifiedArchitecture, icon_id: str) -> list[str]:
    """Best effort: the containers of another resource on the same icon id (none known)."""
    for r in classified.resources:
        if r.icon_id == icon_id:
            return list(r.containers)
    return []


# --------------------------------------------------------------------------- terminal


def terminal_decisions(classified: ClassifiedArchitecture, io: Prompter) -> list[Decision]:
    """Ask the reviewer about every resource and unclear item; return their decisions."""
    decisions: list[Decision] = []
    total = len(classified.resources)
    io.echo(f"Review of {classified.source}: {total} resource(s).")
    for n, r in enumerate(classified.resources, 1):
        shown_kind = f" (kind {r.kind})" if r.kind else ""
        inside = f" in {' > '.join(r.containers)}" if r.containers else ""
        io.echo(f"[{n}/{total}] {r.name} [{r.id}]: {r.resource_type}{shown_kind}{inside}")
        action = io.prompt(
            "  confirm, correct or remove",
            default="confirm",
            choices=("confirm", "correct", "remove"),
        )
        if action == "correct":
            rtype = _ask_type(io, default=r.resource_type)
            new_kind = io.prompt("  kind (empty for none)", default=r.kind or "") or None
            name = io.prompt("  name", default=r.name)
            decisions.append(
                Decision(
                    action="correct",
                    resource_id=r.id,
                    resource_type=rtype,
                    kind=new_kind,
                    name=name,
                )
            )
        else:
            decisions.append(Decision(action=action, resource_id=r.id))  # type: ignore[arg-type]

    for item in classified.needs_clarification:
        io.echo(
            f"Needs clarification: {item.label or '(no label)'} [{item.icon_id}] {item.icon_key}"
        )
        for i, cand in enumerate(item.candidates, 1):
            io.echo(f"  {i}. {cand}")
        answer = io.prompt("  number, resource type, 'remove' or 'skip'", default="skip")
        if answer.lower() == "skip":
            continue
        if answer.lower() == "remove":
            decisions.append(Decision(action="remove", resource_id=item.icon_id))
            continue
        if answer.isdigit() and 1 <= int(answer) <= len(item.candidates):
            answer = item.candidates[int(answer) - 1]
        kind = io.prompt("  kind (empty for none)", default="") or None
        name = io.prompt("  name", default=item.label or name_from_type(answer, kind))
        decisions.append(
            Decision(
                action="correct",
                resource_id=item.icon_id,
                resource_type=answer,
                kind=kind,
                name=name,
            )
        )

    taken = {r.id for r in classified.resources} | {
        u.icon_id for u in classified.needs_clarification
    }
    while io.confirm("Add a resource?", default=False):
        rid = io.prompt("  id")
        while not rid or rid in taken:
            io.echo(f"Error: id {rid!r} is empty or already used.")
            rid = io.prompt("  id")
        taken.add(rid)
        rtype = _ask_type(io)
        kind = io.prompt("  kind (empty for none)", default="") or None
        name = io.prompt("  name", default=name_from_type(rtype, kind))
        decisions.append(
            Decision(action="add", resource_id=rid, resource_type=rtype, kind=kind, name=name)
        )
    return decisions


def _ask_type(io: Prompter, default: str | None = None) -> str:
    rtype = io.prompt("  resource type", default=default)
    while not rtype:
        io.echo("Error: a resource type is needed, e.g. Microsoft.Web/sites or AWS::S3::Bucket.")
        rtype = io.prompt("  resource type", default=default)
    return rtype


# --------------------------------------------------------------------------- agent


class InteractiveAgent(FewerCollections, Agent[ClassifiedArchitecture, ReviewedArchitecture]):
    """Human review of a classified architecture: by terminal, decisions file or --yes."""

    name: ClassVar[str] = "interactive"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = (
        "Human review: confirm, correct, remove or add resources (terminal, decisions file, --yes)"
    )
    input_model = ClassifiedArchitecture
    output_model = ReviewedArchitecture
    settings_model = InteractiveSettings
    settings: InteractiveSettings
    #: The document a review delivers (through any door) when a run waits before this
    #: agent; it reaches the agent as ``decisions=FILE``.
    decisions_model: ClassVar[type[DecisionsFile]] = DecisionsFile

    def __init__(
        self,
        config: AgentConfig | None = None,
        *,
        model_client: ModelClient | None = None,
        prompter: Prompter | None = None,
        is_terminal: Callable[[], bool] | None = None,
        user: str | None = None,
    ) -> None:
        super().__init__(config, model_client=model_client)
        self._prompter = prompter
        self._is_terminal = is_terminal or (lambda: sys.stdin.isatty())
        self._user = user
        self._mode: tuple[Method, DecisionsFile | None] | None = None

    async def setup(self) -> None:
        """Resolve the review mode now, so a bad decisions file fails before any work."""
        self.mode()

    def mode(self) -> tuple[Method, DecisionsFile | None]:
        """The review method and, for a decisions file, its validated content."""
        if self._mode is not None:
            return self._mode
        settings = self.settings
        mode: tuple[Method, DecisionsFile | None]
        if settings.decisions:
            mode = ("decisions_file", load_decisions(Path(settings.decisions)))
        elif settings.yes:
            mode = ("accept_all", None)
        elif self._prompter is not None or self._is_terminal():
            mode = ("terminal", None)
        else:
            raise InputError(NO_MODE)
        self._mode = mode
        return mode

    async def process(self, data: ClassifiedArchitecture) -> ReviewedArchitecture:
        """Review ``data`` in the configured mode."""
        method, decisions_file = self.mode()
        if method == "decisions_file":
            assert decisions_file is not None
            return apply_decisions(
                data,
                decisions_file.decisions,
                reviewer=decisions_file.reviewer,
                method=method,
                accept_rest=decisions_file.accept_rest,
                where=f"decisions file {self.settings.decisions}",
            )
        if method == "accept_all":
            return apply_decisions(data, [], reviewer=AUTO_REVIEWER, method=method)
        io = self._prompter or ClickPrompter()
        decisions = terminal_decisions(data, io)
        return apply_decisions(
            data,
            decisions,
            reviewer=f"terminal: {self._user or _login_name()}",
            method="terminal",
            where="terminal review",
        )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
