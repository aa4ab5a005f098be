"""Checks of generated Terraform and Bicep against the providers' own reference data.

The reference data is ``../shared/corpus/azure-schemas`` (its ``SOURCES.md`` says how it
was extracted): ``azurerm-v4/resources.json`` — every azurerm 4.x resource and data
source with its arguments and nested blocks (required / deprecated / computed-only) —
and ``bicep/types.json`` — Azure resource types with their API versions and property
trees (read-only flags), with ``tests/data/bicep-types-extra.json``, the types it leaves
out taken from the same upstream commit in the same layout (``tests/data/README.md``
says how). Nothing here was written by the generator's authors, so a test
that passes against it says the code fits the real providers.

Each check returns a list of problems as one line each (``file: resource: what``); an
empty list means the files fit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

#: Terraform meta-arguments and blocks that every resource takes.
_META_ARGS = {"count", "for_each", "depends_on", "provider", "lifecycle"}
_META_BLOCKS = {"lifecycle", "timeouts", "provisioner", "connection"}
#: Bicep resource keywords that are not properties of the type.
_BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}


@cache
def azurerm_schema(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (root / "azurerm-v4" / "resources.json").read_text(encoding="utf-8")
    )
    return data


#: Types the corpus excerpt leaves out, from the same upstream commit and in its layout.
BICEP_EXTRA = Path(__file__).parent / "data" / "bicep-types-extra.json"


@cache
def bicep_types(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "bicep" / "types.json").read_text(encoding="utf-8"))
    extra: dict[str, Any] = json.loads(BICEP_EXTRA.read_text(encoding="utf-8"))
    return {k.lower(): v for k, v in {**data, **extra}.items()}


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


# --------------------------------------------------------------------------- Terraform


def _check_body(
    body: dict[str, Any], schema: dict[str, Any], where: str, problems: list[str], top: bool
) -> None:
    arguments: dict[str, Any] = schema.get("arguments", {})
    blocks: dict[str, Any] = schema.get("blocks", {})
    present: set[str] = set()
    for key, value in body.items():
        if key in ("__is_block__", "__comments__"):  # the parser's, not arguments
            continue
        is_block = (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
        )
        if key == "dynamic" and is_block:
            for dyn in value:
                for name, inner in dyn.items():
                    if name == "__is_block__":
                        continue
                    name = _unquote(name)
                    present.add(name)
                    if arguments.get(name, {}).get("deprecated"):
                        problems.append(f"{where}: block {name!r} is deprecated")
                    content = inner.get("content", [{}])[0]
                    _check_block(name, content, blocks, where, problems)
            continue
        if top and (key in _META_ARGS or (is_block and key in _META_BLOCKS)):
            continue
        present.add(key)
        if is_block:
            if arguments.get(key, {}).get("deprecated"):
                problems.append(f"{where}: block {key!r} is deprecated")
            for item in value:
                _check_block(key, item, blocks, where, problems)
            continue
        spec = arguments.get(key)
        if spec is None or key in blocks and key not in arguments:
            problems.append(f"{where}: unknown argument {key!r}")
        elif spec.get("deprecated"):
            problems.append(f"{where}: argument {key!r} is deprecated")
        elif spec.get("computed"):
            problems.append(f"{where}: argument {key!r} is computed only; it cannot be set")
        elif key in blocks:
            problems.append(f"{where}: {key!r} is a block, set as an argument")
    for key, spec in arguments.items():
        if spec.get("required") and not spec.get("deprecated") and key not in present:
            problems.append(f"{where}: required argument {key!r} is missing")


def _check_block(
    name: str, body: dict[str, Any], blocks: dict[str, Any], where: str, problems: list[str]
) -> None:
    if name not in blocks:
        problems.append(f"{where}: unknown block {name!r}")
        return
    _check_body(body, blocks[name], f"{where}.{name}", problems, top=False)


def check_terraform_file(path: str, text: str, schema: dict[str, Any]) -> list[str]:
    """Problems of one ``.tf`` file against the azurerm 4.x schema."""
    import hcl2

    try:
        doc = hcl2.loads(text)
    except Exception as exc:  # the parser's own error types
        return [f"{path}: does not parse: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    for section, prefix in (("resource", ""), ("data", "data.")):
        for item in doc.get(section, []):
            for type_key, named in item.items():
                type_ = _unquote(type_key)
                if not type_.startswith("azurerm_"):
                    continue
                for name_key, body in named.items():
                    where = f"{path}: {prefix}{type_}.{_unquote(name_key)}"
                    entry = schema.get(prefix + type_)
                    if entry is None:
                        problems.append(f"{where}: no such {section} in azurerm 4.x")
                        continue
                    if entry.get("deprecated"):
                        problems.append(f"{where}: deprecated (removed in azurerm 5.0)")
                    _check_body(body, entry, where, problems, top=True)
    return problems


def _module_interfaces(files: dict[str, str]) -> dict[str, tuple[set[str], set[str]]]:
    """Module folder → (its variables, the variables without a default)."""
    import hcl2

    out: dict[str, tuple[set[str], set[str]]] = {}
    for path, text in files.items():
        if not path.endswith(".tf"):
            continue
        folder = path.rpartition("/")[0]
        known, required = out.setdefault(folder, (set(), set()))
        for item in hcl2.loads(text).get("variable", []):
            for name_key, body in item.items():
                name = _unquote(name_key)
                known.add(name)
                if "default" not in body:
                    required.add(name)
    return out


def check_terraform_modules(files: dict[str, str]) -> list[str]:
    """Module calls pass only variables the module declares, and every required one."""
    import hcl2

    interfaces = _module_interfaces(files)
    problems: list[str] = []
    for path, text in files.items():
        if not path.endswith(".tf"):
            continue
        folder = path.rpartition("/")[0]
        for item in hcl2.loads(text).get("module", []):
            for name_key, body in item.items():
                source = _unquote(str(body.get("source", "")))
                target = str(Path(folder, source)).replace("\\", "/") if folder else source
                target = re.sub(r"^\./", "", target)
                target = str(Path(target)) if target else ""
                known, required = interfaces.get(target, (set(), set()))
                where = f"{path}: module.{_unquote(name_key)}"
                if target not in interfaces:
                    problems.append(f"{where}: source {source!r} is not a generated module")
                    continue
                given = {k for k in body if k not in {"source", "__is_block__"} | _META_ARGS}
                for k in sorted(given - known):
                    problems.append(f"{where}: passes {k!r}, which the module does not declare")
                for k in sorted(required - given):
                    problems.append(f"{where}: does not pass required variable {k!r}")
    return problems


# --------------------------------------------------------------------------- Bicep

_EXPRESSION_KEYS = {"function", "operator", "property_accessor", "index_accessor", "interpolation"}


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & _EXPRESSION_KEYS)


def _check_props(
    value: dict[str, Any], props: dict[str, Any], where: str, problems: list[str]
) -> None:
    for key, child in value.items():
        key = key.strip("'")
        node = props.get(key)
        if node is None:
            problems.append(f"{where}: unknown property {key!r}")
            continue
        if node.get("readonly"):
            problems.append(f"{where}: property {key!r} is read-only")
            continue
        _check_value(child, node, f"{where}.{key}", problems)


def _check_value(value: Any, node: dict[str, Any], where: str, problems: list[str]) -> None:
    if _is_expression(value) or node.get("truncated") or node.get("type") == "any":
        return
    if isinstance(value, dict) and node.get("type") == "object":
        props = dict(node.get("properties", {}))
        disc = node.get("discriminator")
        if disc and isinstance(node.get("variants"), dict):
            chosen = value.get(disc)
            variant = node["variants"].get(chosen, {}) if isinstance(chosen, str) else {}
            props.update(variant.get("properties", {}))
        extra = node.get("additionalProperties")
        if not props and isinstance(extra, dict):
            for key, child in value.items():
                _check_value(child, extra, f"{where}.{key.strip(chr(39))}", problems)
            return
        if not props and not node.get("properties"):
            return
        _check_props(value, props, where, problems)
    elif isinstance(value, list) and node.get("type") == "array" and "items" in node:
        for n, item in enumerate(value):
            _check_value(item, node["items"], f"{where}[{n}]", problems)


def _body_props(
    entry: dict[str, Any], version: str, body: dict[str, Any], where: str, problems: list[str]
) -> dict[str, Any] | None:
    """The properties a resource body may have: where the body is a discriminated object
    (``body_variants``, e.g. a site's config by its name), the base ones and the chosen
    variant's (None, with the problem said, where the body names no variant)."""
    props = dict(entry["schemas"][version])
    split = entry.get("body_variants", {}).get(version)
    if split:
        chosen = body.get(split["discriminator"])
        variant = split["variants"].get(chosen) if isinstance(chosen, str) else None
        if variant is None:
            known = ", ".join(sorted(split["variants"]))
            problems.append(f"{where}: {split['discriminator']} {chosen!r} is not one of {known}")
            return None
        props.update(variant.get("properties", {}))
    return props


@cache
def _bicep_parser() -> Any:
    from pycep import BicepParser

    return BicepParser()


def check_bicep_file(path: str, text: str, types: dict[str, Any]) -> list[str]:
    """Problems of one ``.bicep`` file against the Bicep type definitions."""
    try:
        doc = _bicep_parser().parse(text=text)
    except Exception as exc:  # the parser's own error types
        return [f"{path}: does not parse: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    for symbol, res in (doc.get("resources") or {}).items():
        type_, version = res["type"], res["api_version"]
        where = f"{path}: {symbol} ({type_}@{version})"
        entry = types.get(type_.lower())
        if entry is None:
            problems.append(f"{where}: resource type not in the Bicep type definitions")
            continue
        if version not in entry.get("api_versions", {}):
            problems.append(f"{where}: API version {version} does not exist for {type_}")
            continue
        schema = entry.get("schemas", {}).get(version)
        if schema is None:
            problems.append(
                f"{where}: no property tree for {version} in the reference; "
                f"newest stable is {entry.get('newest_stable')}"
            )
            continue
        if res.get("existing"):
            continue
        config = res.get("config", {})
        if "condition" in config and isinstance(config.get("config"), dict):
            config = config["config"]
        body = {k: v for k, v in config.items() if k not in _BICEP_KEYWORDS}
        props = _body_props(entry, version, body, where, problems)
        if props is not None:
            _check_props(body, props, where, problems)
    return problems


# --------------------------------------------------------------------------- all files


def check_files(root: Path, files: Iterable[tuple[str, str]]) -> list[str]:
    """Every problem of the generated ``files`` (path, text) against the reference data."""
    files = dict(files)
    schema, types = azurerm_schema(root), bicep_types(root)
    problems: list[str] = []
    for path, text in files.items():
        if path.endswith(".tf"):
            problems += check_terraform_file(path, text, schema)
        elif path.endswith(".bicep"):
            problems += check_bicep_file(path, text, types)
    problems += check_terraform_modules({p: t for p, t in files.items() if p.endswith(".tf")})
    return problems
