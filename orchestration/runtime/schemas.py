"""JSON Schemas of every artifact, generated from the pydantic models.

``python -m orchestration schemas`` writes ``schemas/*.json``; ``--check`` fails when the
committed files differ from what the models generate. ``python -m orchestration validate``
checks artifacts against those files with ``jsonschema``, as a non-Python consumer would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agents.errors import InputError, SchemaViolation
from orchestration.runtime.artifact import ENVELOPE_VERSION, SCHEMA_PREFIX, Envelope, read_json
from orchestration.runtime.guards import cut

#: The repository's committed schemas folder.
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"

#: Models that are documents in their own right but no agent's input or output.
EXTRA_MODELS: list[str] = [
    "orchestration.pipeline.file:PipelineSpec",
    "agents.synthforge.models:DecisionsFile",
]


#: Artifacts written by orchestration itself rather than by an agent.
EXTRA_ARTIFACT_MODELS: list[str] = [
    "orchestration.patterns.fan_in:CombinedResults",
]


def artifact_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of an artifact whose ``data`` is a ``model``."""
    env = Envelope.model_json_schema()
    data = model.model_json_schema()
    defs = {**env.pop("$defs", {}), **data.pop("$defs", {})}
    env["properties"]["data"] = {"anyOf": [{"$ref": f"#/$defs/{model.__name__}"}, {"type": "null"}]}
    defs[model.__name__] = data
    env["$defs"] = defs
    env["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    env["$id"] = SCHEMA_PREFIX + model.__name__
    env["title"] = f"Forgeflow artifact: {model.__name__}"
    env["properties"]["schema_id"]["const"] = SCHEMA_PREFIX + model.__name__
    env["properties"]["schema_version"]["const"] = ENVELOPE_VERSION
    return env


def document_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema of a plain document (not an artifact), such as a decisions file."""
    doc = model.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = SCHEMA_PREFIX + model.__name__
    return doc


def _import(target: str) -> type[BaseModel]:
    import importlib

    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    assert isinstance(cls, type) and issubclass(cls, BaseModel)
    return cls


def expected_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema for every built-in agent's input and output, and extras."""
    from agents.registry import AgentRegistry

    registry = AgentRegistry(entry_point_agents=False)
    out: dict[str, dict[str, Any]] = {"Envelope.json": document_schema(Envelope)}
    for name in registry.names():
        cls = registry.get(name)
        out[f"{cls.output_model.__name__}.json"] = artifact_schema(cls.output_model)
        out.setdefault(f"{cls.input_model.__name__}.json", artifact_schema(cls.input_model))
    for target in EXTRA_ARTIFACT_MODELS:
        model = _import(target)
        out[f"{model.__name__}.json"] = artifact_schema(model)
    for target in EXTRA_MODELS:
        model = _import(target)
        out[f"{model.__name__}.json"] = document_schema(model)
    return dict(sorted(out.items()))


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def generate(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """Write every schema into ``directory``; remove stale generated ones."""
    from agents.errors import InputError
    from orchestration.runtime.artifact import write_text_atomic

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{directory}: cannot create the folder: {exc.strerror or exc}") from None
    # a folder generated before is ours to tidy; in any other, only our own files go
    ours = _generated(directory / "Envelope.json")
    wanted = expected_schemas()
    written = []
    for name, schema in wanted.items():
        path = directory / name
        write_text_atomic(path, render(schema))
        written.append(path)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted and (ours or _generated(stale)):
            stale.unlink()
    return written


def _generated(path: Path) -> bool:
    """Whether ``path`` is a schema this module wrote."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and str(doc.get("$id", "")).startswith(SCHEMA_PREFIX)


def drift(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Names of schema files that are missing, stale or differ from the models."""
    wanted = expected_schemas()
    problems = []
    for name, schema in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != render(schema):
            problems.append(f"{name}: differs from the models")
    for extra in sorted(directory.glob("*.json")):
        if extra.name not in wanted:
            problems.append(f"{extra.name}: no model generates it")
    return problems


def validate_file(path: Path, directory: Path = SCHEMAS_DIR) -> str:
    """Validate an artifact (or schema'd document) with ``jsonschema``.

    Returns the schema id it was checked against; raises :class:`SchemaViolation` naming
    the file, the JSON path and the rule broken.
    """
    import jsonschema

    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("schema_id"), str):
        raise SchemaViolation(f"{path}: $: no schema_id; not a Forgeflow artifact")
    schema_id = doc["schema_id"]
    name = schema_id.removeprefix(SCHEMA_PREFIX)
    # only a committed schema, by its bare name: never a path out of the folder
    known = _schema_names(directory)
    if not schema_id.startswith(SCHEMA_PREFIX) or not _SCHEMA_NAME.fullmatch(name):
        raise SchemaViolation(f"{path}: $.schema_id: unknown schema {cut(schema_id, 120)!r}")
    if name not in known:
        raise InputError(f"{path}: $.schema_id: no schema {name}.json in {directory}")
    schema_path = directory / f"{name}.json"
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        why = cut(str(exc), 120)
        raise InputError(f"{schema_path}: not a readable JSON Schema: {why}") from None
    try:
        validator = jsonschema.Draft202012Validator(schema)
        errors = list(validator.iter_errors(doc))
    except RecursionError:
        raise SchemaViolation(f"{path}: nested too deeply to validate") from None
    except jsonschema.exceptions.SchemaError as exc:
        why = cut(exc.message, 120)
        raise InputError(f"{schema_path}: not a valid JSON Schema: {why}") from None
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        while err.context:  # descend into anyOf/oneOf to the most specific rule broken
            err = jsonschema.exceptions.best_match(err.context)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        where = cut(err.json_path, 120)
        raise SchemaViolation(f"{path}: {where}: {cut(err.message, 200)} [{err.validator}]{more}")
    return schema_id


_SCHEMA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")


def _schema_names(directory: Path) -> set[str]:
    """The names of the schema files in ``directory`` (``Envelope`` for Envelope.json)."""
    try:
        return {p.stem for p in Path(directory).glob("*.json") if p.is_file()}
    except OSError:
        return set()
