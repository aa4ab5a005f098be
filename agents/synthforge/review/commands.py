"""``/forgeflow`` commands in pull-request comments, parsed into the decisions model.

One command per line; lines that do not start with ``/forgeflow`` are ignored, so a
comment may explain itself around its commands::

    /forgeflow accept all                     confirm every resource not otherwise decided
    /forgeflow accept ID [ID ...]             confirm these resources as classified
    /forgeflow set ID type=TYPE [kind=K] [name="A name"] [note="why"]
    /forgeflow remove ID [note="why"]
    /forgeflow add ID type=TYPE [kind=K] [name="A name"] [note="why"]
    /forgeflow iac [terraform|bicep|both]     generate the modules of the reviewed architecture
    /forgeflow help

With several diagrams waiting for review, ``diagram=N`` (the number in the review table)
or ``diagram=PATH`` says which one a command is for. A value with spaces is quoted
(``name="Front door"``). Every field is checked with the same :class:`Decision` model the
interactive agent and the decisions file use; anything else is a :class:`CommandError`
naming the line and what is wrong, which the workflow posts back as a reply.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agents.documents import format_validation_error
from agents.errors import InputError
from agents.synthforge.models import Decision

PREFIX = "/forgeflow"
#: Longest comment body read for commands (GitHub allows 65,536 characters).
MAX_BODY = 65_536
#: At most this many commands in one comment.
MAX_COMMANDS = 50
_ID = re.compile(r"[A-Za-z0-9_.:/\-]{1,200}")
_TYPE = re.compile(
    r"[A-Za-z0-9]+(?:[./:][A-Za-z0-9]+)+(?:/[A-Za-z0-9]+)*|[A-Za-z0-9]+(?:::[A-Za-z0-9]+)+"
)
_FIELDS = {"type", "kind", "name", "note", "diagram"}
IacChoice = Literal["terraform", "bicep", "both"]

HELP = """\
Forgeflow review commands (one per line, by someone with write access):

- `/forgeflow accept all` — confirm every resource not otherwise decided
- `/forgeflow accept ID [ID …]` — confirm these resources as classified
- `/forgeflow set ID type=TYPE [kind=K] [name="…"] [note="…"]` — correct a resource
- `/forgeflow remove ID [note="…"]` — drop a resource that is not part of the architecture
- `/forgeflow add ID type=TYPE [name="…"]` — add a resource the drawing lacks
- `/forgeflow iac [terraform|bicep|both]` — generate the modules of the reviewed architecture
- `/forgeflow help` — this list

With several diagrams under review, add `diagram=N` (its number in the review table)."""


class CommandError(InputError):
    """A ``/forgeflow`` line that cannot be carried out; the message is the reply."""


class Command(BaseModel):
    """One parsed command line."""

    verb: Literal["accept", "set", "remove", "add", "iac", "help"]
    line: int = Field(description="1-based line of the comment it came from")
    text: str = Field(description="The command as written (for the reply)")
    diagram: str | None = Field(default=None, description="diagram=N or diagram=PATH")
    all: bool = False
    decisions: list[Decision] = Field(default_factory=list)
    iac: IacChoice = "both"


def _fail(line: int, text: str, why: str) -> CommandError:
    shown = text if len(text) <= 120 else text[:117] + "..."
    return CommandError(f"line {line}: `{shown}`: {why}")


def _split(line: int, text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:  # an unclosed quote
        raise _fail(line, text, f'cannot read it ({exc}); quote values with "…"') from None


def _fields(line: int, text: str, words: list[str]) -> tuple[list[str], dict[str, str]]:
    plain: list[str] = []
    fields: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            if fields:
                raise _fail(line, text, f"{word!r} after KEY=VALUE fields; ids come first")
            plain.append(word)
            continue
        if key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise _fail(line, text, f"unknown field {key!r}; fields: {known}")
        if key in fields:
            raise _fail(line, text, f"{key}= given twice")
        fields[key] = value
    return plain, fields


def _decision(line: int, text: str, **values: str | None) -> Decision:
    try:
        return Decision.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise _fail(line, text, format_validation_error(exc)) from None


def _check_id(line: int, text: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise _fail(line, text, f"{value!r} is not a resource id (see the review table)")
    return value


def _check_type(line: int, text: str, value: str | None, verb: str) -> str:
    if not value:
        raise _fail(line, text, f"`{verb}` needs type=TYPE (an ARM or CloudFormation type)")
    if not _TYPE.fullmatch(value):
        raise _fail(
            line,
            text,
            f"type={value!r} is not a resource type such as Microsoft.Web/sites or AWS::S3::Bucket",
        )
    return value


def parse_line(line: int, text: str) -> Command:
    """One ``/forgeflow …`` line as a :class:`Command`; :class:`CommandError` otherwise."""
    words = _split(line, text)
    if not words or words[0] != PREFIX:
        raise _fail(line, text, f"does not start with {PREFIX}")
    if len(words) == 1:
        raise _fail(line, text, "no command; try `/forgeflow help`")
    verb, rest = words[1], words[2:]
    plain, fields = _fields(line, text, rest)
    diagram = fields.pop("diagram", None)
    base: dict[str, Any] = {"line": line, "text": text, "diagram": diagram}
    if verb == "help":
        if plain or fields:
            raise _fail(line, text, "`help` takes nothing more")
        return Command(verb="help", **base)
    if verb == "accept":
        if fields:
            raise _fail(line, text, "`accept` takes ids or `all`, no fields")
        if plain == ["all"]:
            return Command(verb="accept", all=True, **base)
        if not plain:
            raise _fail(line, text, "`accept` needs `all` or resource ids")
        if "all" in plain:
            raise _fail(line, text, "`accept all` takes no ids")
        decisions = [
            _decision(line, text, action="confirm", resource_id=_check_id(line, text, rid))
            for rid in plain
        ]
        return Command(verb="accept", decisions=decisions, **base)
    if verb in ("set", "add", "remove"):
        if len(plain) != 1:
            raise _fail(line, text, f"`{verb}` takes exactly one resource id")
        rid = _check_id(line, text, plain[0])
        if verb == "remove":
            extra = set(fields) - {"note"}
            if extra:
                raise _fail(line, text, f"`remove` takes only note=, not {sorted(extra)}")
            decision = _decision(
                line, text, action="remove", resource_id=rid, note=fields.get("note")
            )
        else:
            rtype = fields.get("type")
            if verb == "add" or rtype is not None:
                rtype = _check_type(line, text, rtype, verb)
            elif not fields:
                raise _fail(line, text, "`set` needs at least one of type=, kind=, name=, note=")
            decision = _decision(
                line,
                text,
                action="add" if verb == "add" else "correct",
                resource_id=rid,
                resource_type=rtype,
                kind=fields.get("kind"),
                name=fields.get("name"),
                note=fields.get("note"),
            )
        return Command(verb=verb, decisions=[decision], **base)  # type: ignore[arg-type]
    if verb == "iac":
        if fields or len(plain) > 1 or (plain and plain[0] not in ("terraform", "bicep", "both")):
            raise _fail(line, text, "`iac` takes one of terraform, bicep, both (default both)")
        return Command(verb="iac", iac=plain[0] if plain else "both", **base)  # type: ignore[arg-type]
    raise _fail(line, text, f"unknown command {verb!r}; try `/forgeflow help`")


def parse_comment(body: str | None) -> tuple[list[Command], list[CommandError]]:
    """Every ``/forgeflow`` line of a comment: the commands, and the errors of bad lines.

    Lines inside fenced code blocks (```) are examples, not commands, and are skipped.
    """
    text = (body or "")[:MAX_BODY]
    commands: list[Command] = []
    errors: list[CommandError] = []
    fenced = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not (stripped == PREFIX or stripped.startswith(PREFIX + " ")):
            continue
        if len(commands) + len(errors) >= MAX_COMMANDS:
            errors.append(CommandError(f"more than {MAX_COMMANDS} commands; the rest are ignored"))
            break
        try:
            commands.append(parse_line(number, stripped))
        except CommandError as exc:
            errors.append(exc)
    return commands, errors


def has_command(body: str | None) -> bool:
    """Whether a comment holds at least one ``/forgeflow`` line (outside code blocks)."""
    commands, errors = parse_comment(body)
    return bool(commands or errors)
