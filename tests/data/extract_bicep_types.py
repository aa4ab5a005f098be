"""Extract a few Bicep resource types from Azure/bicep-types-az into bicep-types-extra.json.

Source: github.com/Azure/bicep-types-az (MIT), the ``generated/<group>/<namespace>/
<version>/types.json`` files at the commit of the shared type excerpt
(``azure-schemas/bicep/types.json``), read from a bare clone with ``git`` (nothing is
checked out). The output has that excerpt's layout, one entry per type:
``{"Microsoft.X/y": {"api_versions", "newest_stable", "schema_versions", "newest",
"requested_versions", "schemas", "sources", "scopes"}}``; a property node is
``{"type", "readonly", "required"}`` with ``writeonly``, ``sensitive``, ``enum``
(``open_enum``, ``enum_truncated``), ``properties``, ``items`` and ``additionalProperties``
where they apply; a discriminated object has ``discriminator`` and ``variants`` (each
value's ``properties``), and where a resource body is one (a site's config, a variant per
name) ``schemas`` holds its base properties and ``body_variants`` the rest, as in the
excerpt.

    git clone --bare https://github.com/Azure/bicep-types-az BICEP_TYPES_GIT_DIR
    python tests/data/extract_bicep_types.py BICEP_TYPES_GIT_DIR > tests/data/bicep-types-extra.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

COMMIT = "1f896de2db966ad91e8f7d7d981e11d32e4f5d8d"
#: type → API versions whose property trees are wanted besides the newest stable one.
TYPES = {
    "Microsoft.Sql/servers/auditingSettings": ["2021-11-01"],
    "Microsoft.Sql/servers/securityAlertPolicies": ["2021-11-01"],
    # a Route Server's IP configuration; the newest stable version is its hub's
    "Microsoft.Network/virtualHubs/ipConfigurations": [],
    # a site's sign-in settings (the config named authsettingsV2), at its site's version
    "Microsoft.Web/sites/config": ["2023-12-01"],
    # a registry's geo-replication; the newest stable version is its registry's
    "Microsoft.ContainerRegistry/registries/replications": [],
}
REQUIRED, READONLY, WRITEONLY = 1, 2, 4
SCOPES = (
    (1, "Tenant"),
    (2, "ManagementGroup"),
    (4, "Subscription"),
    (8, "ResourceGroup"),
    (16, "Extension"),
)
DEPTH = 6
ENUM_MAX = 64  # values of an enum kept (enum_truncated: how many it has)


def git(gitdir: str, *args: str) -> bytes:
    command = ["git", "--git-dir", gitdir, *args]
    return subprocess.run(command, capture_output=True, check=True).stdout


def sort_key(version: str) -> tuple[str, int]:
    """Dates in order; a stable version after the previews of its date."""
    return version[:10], 0 if len(version) > 10 else 1


def node(types: list[dict[str, Any]], ref: dict[str, Any], depth: int, seen: frozenset[int]):
    """The property tree of the type ``ref`` points to."""
    index = int(ref["$ref"].split("/")[-1])
    t = types[index]
    kind = t["$type"]
    out: dict[str, Any] = {}
    if kind in ("StringType", "StringLiteralType"):
        out["type"] = "string"
        if kind == "StringLiteralType":
            out["enum"] = [t["value"]]
        if t.get("sensitive"):
            out["sensitive"] = True
    elif kind == "UnionType":
        members = [types[int(e["$ref"].split("/")[-1])] for e in t["elements"]]
        if {m["$type"] for m in members} <= {"StringLiteralType", "StringType"}:
            out["type"] = "string"
            out["enum"] = [m["value"] for m in members if "value" in m]
            if len(out["enum"]) > ENUM_MAX:
                out["enum"], out["enum_truncated"] = out["enum"][:ENUM_MAX], len(out["enum"])
            if any(m["$type"] == "StringType" for m in members):
                out["open_enum"] = True
        else:
            out["type"] = "union"
            out["anyOf"] = [node(types, e, depth, seen) for e in t["elements"]]
    elif kind in ("IntegerType", "BooleanType", "AnyType"):
        out["type"] = {"IntegerType": "int", "BooleanType": "bool", "AnyType": "any"}[kind]
    elif kind == "ArrayType":
        out["type"] = "array"
        out["items"] = node(types, t["itemType"], depth, seen)
    elif kind == "ObjectType":
        out["type"] = "object"
        if index in seen:
            out["recursive"] = t.get("name")
        elif t.get("properties") and depth >= DEPTH:
            out["truncated"] = True
        elif t.get("properties"):
            out["properties"] = {
                name: prop(types, p, depth + 1, seen | {index})
                for name, p in sorted(t["properties"].items())
            }
        if "additionalProperties" in t and index not in seen:
            out["additionalProperties"] = node(
                types, t["additionalProperties"], depth + 1, seen | {index}
            )
    elif kind == "DiscriminatedObjectType":
        out["type"] = "object"
        out["discriminator"] = t["discriminator"]
        out.update(variants(types, t, depth, seen | {index}))
    else:
        raise SystemExit(f"type kind not handled here: {kind}")
    return out


def variants(types: list[dict[str, Any]], t: dict[str, Any], depth: int, seen: frozenset[int]):
    """A discriminated object's base ``properties`` (where it has any) and ``variants``:
    the properties each value of the discriminator adds."""
    out: dict[str, Any] = {}
    if t.get("baseProperties"):
        out["properties"] = {
            name: prop(types, p, depth + 1, seen) for name, p in sorted(t["baseProperties"].items())
        }
    out["variants"] = {}
    for value, ref in t["elements"].items():
        element = types[int(ref["$ref"].split("/")[-1])]
        out["variants"][value] = {
            "properties": {
                name: prop(types, p, depth + 1, seen)
                for name, p in sorted(element.get("properties", {}).items())
            }
        }
    return out


def prop(types: list[dict[str, Any]], p: dict[str, Any], depth: int, seen: frozenset[int]):
    flags = p.get("flags", 0)
    head = {"type": None, "readonly": bool(flags & READONLY), "required": bool(flags & REQUIRED)}
    if flags & WRITEONLY:
        head["writeonly"] = True
    return {**head, **node(types, p["type"], depth, seen)}


def scopes(bits: int | None) -> list[str]:
    return [name for bit, name in SCOPES if (bits or 0) & bit]


def main(gitdir: str) -> None:
    listing = git(gitdir, "ls-tree", "-r", "--name-only", COMMIT, "generated/").decode()
    namespaces = {name.split("/")[0].lower() for name in TYPES}
    found: dict[str, dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]]] = {}
    for path in listing.splitlines():
        parts = path.split("/")
        if len(parts) != 5 or parts[2] not in namespaces or parts[4] != "types.json":
            continue
        types = json.loads(git(gitdir, "show", f"{COMMIT}:{path}"))
        for t in types:
            name, _, version = t.get("name", "").partition("@")
            wanted = next((k for k in TYPES if k.lower() == name.lower()), None)
            if t.get("$type") == "ResourceType" and wanted:
                found.setdefault(wanted, {}).setdefault(version, (path, t, types))
    out: dict[str, Any] = {}
    for name, requested in TYPES.items():
        versions = sorted(found.get(name, {}), key=sort_key)
        if not versions:
            raise SystemExit(f"not at {COMMIT}: {name}")
        stable = [v for v in versions if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)]
        chosen = [stable[-1]] + [v for v in requested if v != stable[-1]]
        entry: dict[str, Any] = {
            "api_versions": {v: "stable" if v in stable else "preview" for v in versions},
            "newest_stable": stable[-1],
            "schema_versions": chosen,
            "newest": versions[-1],
            "requested_versions": requested,
            "schemas": {},
            "sources": {},
            "scopes": {},
        }
        for version in chosen:
            path, resource, types = found[name][version]
            body = types[int(resource["body"]["$ref"].split("/")[-1])]
            if body["$type"] == "DiscriminatedObjectType":  # e.g. a site's config, by name
                split = variants(types, body, 0, frozenset())
                entry["schemas"][version] = split.get("properties", {})
                variant = {"discriminator": body["discriminator"], "variants": split["variants"]}
                entry.setdefault("body_variants", {})[version] = variant
            else:
                tree = node(types, resource["body"], 0, frozenset())
                entry["schemas"][version] = tree["properties"]
            entry["sources"][version] = path
            entry["scopes"][version] = {
                "readable": scopes(resource.get("readableScopes")),
                "writable": scopes(resource.get("writableScopes")),
            }
        out[name] = entry
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
