"""Extract REST operations from GitHub's OpenAPI description into github-rest-extra.json.

Source: the npm package ``@octokit/openapi`` (MIT), file ``generated/api.github.com.json``,
which is GitHub's official description (github/rest-api-description) as Octokit publishes
it. The output has the layout of ``../shared/corpus/github-rest/operations.json``:
``{"source": …, "operations": {operationId: {method, path, operation}}, "components": …}``,
every operation and component copied verbatim, components limited to the transitive
closure of the ``$ref``s the operations use.

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/data/extract_github_rest.py package/generated/api.github.com.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS = [
    "repos/get-collaborator-permission-level",
    "reactions/create-for-issue-comment",
    "repos/get-content",
    "issues/get-comment",
    "pulls/list-files",
    "users/get-authenticated",
]


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def main(source: Path) -> None:
    raw = source.read_bytes()
    spec = json.loads(raw)
    ops: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in OPERATIONS:
                entry = {"method": method.upper(), "path": path, "operation": op}
                if "parameters" in item:  # path-level parameters, if any
                    entry["path_parameters"] = item["parameters"]
                ops[op["operationId"]] = entry
    missing = set(OPERATIONS) - set(ops)
    if missing:
        raise SystemExit(f"not in the description: {sorted(missing)}")
    components: dict[str, dict[str, Any]] = {}
    todo = refs(ops)
    done: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, section, name = ref.split("/", 3)
        value = spec["components"][section][name]
        components.setdefault(section, {})[name] = value
        todo |= refs(value) - done
    out = {
        "source": {
            "package": "@octokit/openapi@23.0.2",
            "file": "generated/api.github.com.json",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "info.version": spec["info"]["version"],
            "license": "MIT",
        },
        "operations": {k: ops[k] for k in OPERATIONS},
        "components": {s: dict(sorted(v.items())) for s, v in sorted(components.items())},
    }
    target = Path(__file__).with_name("github-rest-extra.json")
    target.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {len(ops)} operations, {sum(map(len, components.values()))} components")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
