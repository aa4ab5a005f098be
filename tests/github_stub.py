"""A stand-in for the few GitHub REST operations Forgeflow uses, checked against GitHub's spec.

It answers exactly the operations in ``../shared/corpus/github-rest/operations.json`` (an
excerpt of GitHub's own OpenAPI description): pulls/get, pulls/update, issues/list-comments,
issues/create-comment, issues/update-comment, repos/create-dispatch-event and
actions/create-workflow-dispatch, under ``/repos/...`` and under ``/api/v3/repos/...`` (the
GitHub Enterprise prefix). Anything else is a 404, as on GitHub.

Every request body is validated with ``jsonschema`` against its operation's ``requestBody``
schema (with the file's ``$ref``\\ s resolved, OpenAPI ``nullable`` honoured); a violation
is a 422 shaped like GitHub's. Beyond the schema it enforces what GitHub enforces: bodies of
pull requests and comments at most 65,536 characters, ``event_type`` required and
``client_payload`` at most 10 top-level keys and under 64 KB. Responses start from the
spec's own examples (``pull-request``, ``issue-comment``) filled with the server's state,
and the links in them point back at the server.

For tests:

- a pull request is seeded from a real webhook payload (``seed_pull_request``);
- every request (method, path, body, headers with the token redacted, status) is recorded,
  in memory and as JSON lines in ``record``;
- faults are injected with ``fail_next``: N answers 500, or a 403/429 secondary rate limit
  with ``Retry-After``, or ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset``;
- ``interleave(operation, parties)`` holds the next ``parties`` requests of an operation
  until all have arrived, runs them in arrival order, then answers them all: two writers
  that GET (or PATCH) "at the same time" do so deterministically.

It listens on 127.0.0.1 only. Run it on its own for workflow tests::

    python tests/github_stub.py --port 0 --state FILE [--seed-event PAYLOAD.json]

which prints its URL, keeps its state in FILE (loaded at start when present, saved after
each change) and records requests to FILE.requests.jsonl (or ``--record``). FILE is JSON:
``pulls`` (``"owner/name#N"`` -> pull request), ``comments``, ``dispatches`` (each
``{"repo", "event_type", "client_payload"}``, in order: feed them back to ``act``),
``workflow_dispatches`` and ``faults``; a harness may write ``faults`` before starting it,
each ``{"count": N, "status": 500|403|429, "operation": ID or null, "retry_after": S or
null, "ratelimit_reset": EPOCH or null, "message": TEXT}``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
SPEC_URI = "urn:forgeflow:github-rest-operations"
GITHUB_API = "https://api.github.com"
MAX_BODY_CHARS = 65_536
MAX_CLIENT_PAYLOAD_KEYS = 10
MAX_CLIENT_PAYLOAD_BYTES = 64 * 1024
DOCS = "https://docs.github.com/rest"

Answer = tuple[int, Any, dict[str, str]]


#: Operations beyond the corpus excerpt (collaborator permission, reactions, contents, one
#: comment, PR files, the authenticated user), extracted from GitHub's OpenAPI description
#: as published in the npm package @octokit/openapi (see tests/data/extract_github_rest.py).
EXTRA_SPEC = REPO / "tests" / "data" / "github-rest-extra.json"


def default_spec_path() -> Path:
    """``operations.json`` in the corpus (``FORGEFLOW_CORPUS`` or ``../shared/corpus``)."""
    root = Path(os.environ.get("FORGEFLOW_CORPUS", REPO.parent / "shared" / "corpus"))
    return root / "github-rest" / "operations.json"


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schemas to JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi_to_jsonschema(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Spec:
    """The operations file: routing, request and response validation, examples."""

    def __init__(self, path: Path | None = None) -> None:
        from jsonschema import Draft4Validator
        from referencing import Registry
        from referencing.jsonschema import DRAFT4

        self.path = Path(path or default_spec_path())
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        self.raw = raw
        self.doc = _openapi_to_jsonschema(raw)
        registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, DRAFT4.create_resource(self.doc)
        )
        self._validator_cls = Draft4Validator
        self._registry = registry
        self.operations: dict[str, dict[str, Any]] = raw["operations"]
        self._routes: list[tuple[str, str, re.Pattern[str], dict[str, Any]]] = []
        for op_id, entry in self.operations.items():
            params = {}
            for param in entry["operation"].get("parameters", []):
                param = self.resolve(param)
                params[param["name"]] = param
            # a file path ({path} of the contents API) spans folders; every other part not
            regex = (
                "^"
                + re.sub(
                    r"\{([^}]+)\}",
                    lambda m: f"(?P<{m[1]}>.+)" if m[1] == "path" else f"(?P<{m[1]}>[^/]+)",
                    entry["path"],
                )
                + "$"
            )
            self._routes.append((op_id, entry["method"].upper(), re.compile(regex), params))

    def resolve(self, node: Any) -> Any:
        """``node`` with a top-level ``$ref`` followed (within the file)."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.raw
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _validator(self, *parts: str) -> Any:
        schema = {"$ref": SPEC_URI + _pointer(*parts)}
        return self._validator_cls(schema, registry=self._registry)

    def route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The operation id and path parameters for ``method path``, or ``None``."""
        for op_id, op_method, regex, params in self._routes:
            match = regex.match(path)
            if not match or op_method != method:
                continue
            # path parameters arrive percent-encoded (a file name with '#', '"', ' '), and
            # GitHub decodes them
            values = {name: unquote(value) for name, value in match.groupdict().items()}
            if all(self._param_ok(params.get(name), value) for name, value in values.items()):
                return op_id, values
        return None

    @staticmethod
    def _param_ok(param: dict[str, Any] | None, value: str) -> bool:
        kind = ((param or {}).get("schema") or {}).get("type")
        if kind != "integer":
            return True
        if value.isdigit() and value.isascii():
            return True
        # GitHub also takes a workflow's file name where this old spec says integer.
        return (param or {}).get("name") == "workflow_id" and bool(
            re.fullmatch(r"[A-Za-z0-9._-]+\.ya?ml", value)
        )

    def request_schema(self, op_id: str) -> dict[str, Any] | None:
        body = self.operations[op_id]["operation"].get("requestBody")
        if not body:
            return None
        schema: dict[str, Any] = body["content"]["application/json"]["schema"]
        return schema

    def request_errors(self, op_id: str, body: Any) -> list[dict[str, Any]]:
        """Schema violations of a request body, as GitHub-style error items."""
        if self.request_schema(op_id) is None:
            return []
        validator = self._validator(
            "operations",
            op_id,
            "operation",
            "requestBody",
            "content",
            "application/json",
            "schema",
        )
        return [
            {
                "resource": op_id.split("/")[0],
                "code": "invalid",
                "field": "/".join(map(str, error.absolute_path)) or "body",
                "message": error.message,
            }
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        ]

    def response_errors(self, op_id: str, status: int, body: Any) -> list[str]:
        """Schema violations of a response body (for tests of the stand-in itself)."""
        responses = self.operations[op_id]["operation"]["responses"]
        entry = responses.get(str(status))
        if entry is None:
            return [f"{op_id} declares no {status} response"]
        parts: tuple[str, ...]
        if "$ref" in entry:
            parts = tuple(entry["$ref"].removeprefix("#/").split("/"))
            entry = self.resolve(entry)
        else:
            parts = ("operations", op_id, "operation", "responses", str(status))
        if "content" not in entry:
            return [] if body in (None, b"", "") else [f"{status} has no body in the spec"]
        validator = self._validator(*parts, "content", "application/json", "schema")
        return [error.message for error in validator.iter_errors(body)]

    def example(self, name: str) -> Any:
        """A deep copy of ``components.examples[name].value``."""
        return copy.deepcopy(self.raw["components"]["examples"][name]["value"])


def _repo_key(repo: str) -> str:
    return repo.lower()


class GitHubStub:
    """The stand-in server; use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        spec: Spec | Path | None = None,
        *,
        record: Path | None = None,
        state_file: Path | None = None,
        token: str | None = None,
        port: int = 0,
        gate_timeout: float = 10.0,
    ) -> None:
        self.spec = spec if isinstance(spec, Spec) else Spec(spec)
        self.extra_spec = Spec(EXTRA_SPEC)
        self._permissions: dict[str, dict[str, str]] = {}
        self._files: dict[str, dict[str, bytes]] = {}
        self._reactions: list[dict[str, Any]] = []
        self._pull_files: dict[str, list[dict[str, Any]]] = {}
        self.record_path = record
        self.state_file = state_file
        self.token = token
        self.port = port
        self.gate_timeout = gate_timeout
        self._lock = threading.RLock()
        self._pulls: dict[str, dict[str, Any]] = {}
        self._comments: dict[int, dict[str, Any]] = {}
        self._next_comment_id = 1
        self._dispatches: list[dict[str, Any]] = []
        self._workflow_dispatches: list[dict[str, Any]] = []
        self._faults: list[dict[str, Any]] = []
        self._gates: dict[str, list[_Gate]] = {}
        self._requests: list[dict[str, Any]] = []
        self._tick = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if state_file is not None and Path(state_file).is_file():
            self._load(json.loads(Path(state_file).read_text(encoding="utf-8")))

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (pass as GITHUB_API_URL; ``/api/v3`` works too)."""
        if self._server is None:
            raise RuntimeError("the stub is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> GitHubStub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ state

    def _now(self) -> str:
        self._tick += 1
        when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=self._tick)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def seed_pull_request(
        self,
        payload: dict[str, Any] | None = None,
        *,
        repo: str | None = None,
        number: int | None = None,
        body: str | None = None,
        title: str | None = None,
    ) -> tuple[str, int]:
        """Add a pull request; returns ``(owner/name, number)``.

        ``payload`` is a ``pull_request`` webhook payload (or its ``pull_request`` object);
        without it the spec's example pull request is used. Keyword arguments override.
        """
        pr = self.spec.example("pull-request")
        if payload is not None:
            source = payload.get("pull_request", payload)
            pr.update(copy.deepcopy(source))
            repo = repo or (payload.get("repository") or {}).get("full_name")
            repo = repo or source["base"]["repo"]["full_name"]
        else:
            repo = repo or "octocat/Hello-World"
            number = number or 1347
            text = json.dumps(pr).replace("octocat/Hello-World", repo)
            pr = json.loads(text.replace("/1347", f"/{number}"))
            if body is None:
                body = pr.get("body")
        if number is not None:
            pr["number"] = number
        if body is not None or payload is None:
            pr["body"] = body
        if title is not None:
            pr["title"] = title
        assert repo is not None
        with self._lock:
            self._pulls[f"{_repo_key(repo)}#{pr['number']}"] = pr
            self._save()
        return repo, int(pr["number"])

    def pull_request(self, repo: str, number: int) -> dict[str, Any]:
        """The stored pull request (a copy)."""
        with self._lock:
            return copy.deepcopy(self._pulls[f"{_repo_key(repo)}#{number}"])

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The comments on ``repo#number``, oldest first (copies)."""
        with self._lock:
            return [
                copy.deepcopy(c["comment"])
                for _, c in sorted(self._comments.items())
                if c["repo"] == _repo_key(repo) and c["issue"] == number
            ]

    def add_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        """Add a comment directly, as if someone had posted it."""
        with self._lock:
            return copy.deepcopy(self._create_comment(repo, number, body, human=True))

    def dispatches(self) -> list[dict[str, Any]]:
        """``repository_dispatch`` events received, in order: repo, event_type, payload."""
        with self._lock:
            return copy.deepcopy(self._dispatches)

    def requests(self) -> list[dict[str, Any]]:
        """Every request answered so far, in the order answered."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        operation: str | None = None,
        retry_after: int | str | None = None,
        ratelimit_reset: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (of ``operation``, or any) with an error.

        ``retry_after`` adds a ``Retry-After`` header; ``ratelimit_reset`` (epoch seconds)
        adds ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``.
        """
        fault = _fault(
            {
                "count": count,
                "status": status,
                "operation": operation,
                "retry_after": retry_after,
                "ratelimit_reset": ratelimit_reset,
                "message": message,
            }
        )
        with self._lock:
            self._faults.append(fault)
            self._save()

    def interleave(self, operation: str, parties: int = 2) -> None:
        """Hold the next ``parties`` requests of ``operation`` until all have arrived."""
        with self._lock:
            self._gates.setdefault(operation, []).append(
                _Gate(parties, self._lock, self.gate_timeout)
            )

    def _load(self, data: dict[str, Any]) -> None:
        self._pulls = data.get("pulls", {})
        self._comments = {int(k): v for k, v in data.get("comments", {}).items()}
        self._next_comment_id = int(data.get("next_comment_id", 1))
        self._dispatches = data.get("dispatches", [])
        self._workflow_dispatches = data.get("workflow_dispatches", [])
        self._faults = [_fault(f) for f in data.get("faults", [])]
        self._tick = int(data.get("tick", 0))
        self._permissions = data.get("permissions", {})
        self._files = {
            where: {path: base64.b64decode(text) for path, text in files.items()}
            for where, files in data.get("files", {}).items()
        }
        self._reactions = data.get("reactions", [])

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {
            "pulls": self._pulls,
            "comments": {str(k): v for k, v in self._comments.items()},
            "next_comment_id": self._next_comment_id,
            "dispatches": self._dispatches,
            "workflow_dispatches": self._workflow_dispatches,
            "faults": self._faults,
            "tick": self._tick,
            "permissions": self._permissions,
            "files": {
                where: {path: base64.b64encode(b).decode("ascii") for path, b in files.items()}
                for where, files in self._files.items()
            },
            "reactions": self._reactions,
        }
        path = Path(self.state_file)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry["seq"] = len(self._requests) + 1
            self._requests.append(entry)
            if self.record_path is not None:
                with open(self.record_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, sort_keys=True) + "\n")

    def _take_fault(self, op_id: str) -> dict[str, Any] | None:
        for fault in self._faults:
            if fault["count"] > 0 and fault["operation"] in (None, op_id):
                fault["count"] -= 1
                self._faults = [f for f in self._faults if f["count"] > 0]
                self._save()
                return fault
        return None

    def _take_gate(self, op_id: str) -> _Gate | None:
        gates = self._gates.get(op_id, [])
        while gates and gates[0].full:
            gates.pop(0)
        return gates[0] if gates else None

    # ------------------------------------------------------------------ operations

    def _pull(self, params: dict[str, str]) -> dict[str, Any] | None:
        key = f"{_repo_key(params['owner'])}/{params['repo'].lower()}#{int(params['pull_number'])}"
        return self._pulls.get(key)

    def _create_comment(
        self, repo: str, number: int, body: str, *, human: bool = False
    ) -> dict[str, Any]:
        comment_id = self._next_comment_id
        self._next_comment_id += 1
        comment = self.spec.example("issue-comment")
        stamp = self._now()
        node = base64.b64encode(f"012:IssueComment{comment_id}".encode()).decode()
        user = comment["user"]
        if not human:
            user.update(login="github-actions[bot]", id=41898282, type="Bot")
            user["url"] = f"{GITHUB_API}/users/github-actions%5Bbot%5D"
        comment.update(
            id=comment_id,
            node_id=node,
            url=f"{GITHUB_API}/repos/{repo}/issues/comments/{comment_id}",
            html_url=f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
            body=body,
            created_at=stamp,
            updated_at=stamp,
            issue_url=f"{GITHUB_API}/repos/{repo}/issues/{number}",
            author_association="NONE" if not human else "CONTRIBUTOR",
        )
        self._comments[comment_id] = {"repo": _repo_key(repo), "issue": number, "comment": comment}
        self._save()
        return comment

    def _execute(
        self, op_id: str, params: dict[str, str], query: dict[str, str], body: Any, base: str
    ) -> Answer:
        repo = f"{params['owner']}/{params['repo']}"
        if op_id == "pulls/get":
            pr = self._pull(params)
            return (200, pr, {}) if pr is not None else _not_found()
        if op_id == "pulls/update":
            pr = self._pull(params)
            if pr is None:
                return _not_found()
            if isinstance(body.get("body"), str) and len(body["body"]) > MAX_BODY_CHARS:
                return _too_long("PullRequest")
            for field in ("title", "body", "state", "maintainer_can_modify"):
                if field in body:
                    pr[field] = body[field]
            if "base" in body:
                pr["base"]["ref"] = body["base"]
            pr["updated_at"] = self._now()
            self._save()
            return 200, pr, {}
        if op_id in ("issues/list-comments", "issues/create-comment"):
            number = int(params["issue_number"])
            if self._pull({**params, "pull_number": str(number)}) is None:
                return _not_found()
            if op_id == "issues/create-comment":
                if len(body["body"]) > MAX_BODY_CHARS:
                    return _too_long("IssueComment")
                comment = self._create_comment(repo, number, body["body"])
                location = comment["url"].replace(GITHUB_API, base)
                return 201, comment, {"Location": location}
            return self._list_comments(repo, number, query, base)
        if op_id == "issues/update-comment":
            entry = self._comments.get(int(params["comment_id"]))
            if entry is None or entry["repo"] != _repo_key(repo):
                return _not_found()
            if len(body["body"]) > MAX_BODY_CHARS:
                return _too_long("IssueComment")
            entry["comment"]["body"] = body["body"]
            entry["comment"]["updated_at"] = self._now()
            self._save()
            return 200, entry["comment"], {}
        if op_id == "repos/create-dispatch-event":
            return self._dispatch(repo, body)
        if op_id == "actions/create-workflow-dispatch":
            self._workflow_dispatches.append(
                {
                    "repo": repo,
                    "workflow_id": params["workflow_id"],
                    "ref": body["ref"],
                    "inputs": body.get("inputs", {}),
                }
            )
            self._save()
            return 204, None, {}
        extra = self._execute_extra(op_id, repo, params, query, body, base)
        if extra is not None:
            return extra
        raise AssertionError(f"unhandled operation {op_id}")

    # ------------------------------------------------------------------ review console

    def set_permission(self, repo: str, login: str, role: str) -> None:
        """``login``'s role on ``repo``: admin, maintain, write, triage, read or none."""
        with self._lock:
            self._permissions.setdefault(_repo_key(repo), {})[login.lower()] = role
            self._save()

    def set_file(self, repo: str, ref: str, path: str, content: bytes) -> None:
        """A file the contents API serves for ``repo`` at ``ref`` (a commit sha or branch)."""
        with self._lock:
            self._files.setdefault(f"{_repo_key(repo)}@{ref}", {})[path] = content
            self._save()

    def set_pull_files(
        self, repo: str, number: int, files: list[tuple[str, str]] | list[str]
    ) -> None:
        """The files pulls/list-files reports for ``repo#number``: names, or ``(name,
        status)`` pairs (status ``added``, ``modified``, ``removed``, ``renamed``)."""
        entries = []
        for item in files:
            name, status = (item, "modified") if isinstance(item, str) else item
            entries.append({"filename": name, "status": status})
        with self._lock:
            self._pull_files[f"{_repo_key(repo)}#{number}"] = entries

    def reactions(self) -> list[dict[str, Any]]:
        """Reactions created, in order: ``{"repo", "comment_id", "content", "id"}``."""
        with self._lock:
            return copy.deepcopy(self._reactions)

    def add_user_comment(self, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        """A comment written by ``login`` (not by the token's user), as a webhook reports it."""
        with self._lock:
            comment = self._create_comment(repo, number, body)
            comment["user"] = {**comment["user"], "login": login}
            self._save()
            return copy.deepcopy(comment)

    def _execute_extra(
        self,
        op_id: str,
        repo: str,
        params: dict[str, str],
        query: dict[str, str],
        body: Any,
        base: str,
    ) -> Answer | None:
        if op_id == "repos/get-collaborator-permission-level":
            login = params["username"]
            role = self._permissions.get(_repo_key(repo), {}).get(login.lower())
            if role is None:
                return _not_found()
            legacy = {"maintain": "write", "triage": "read"}.get(role, role)
            user = {**_user(login, base), "permissions": _role_permissions(role), "role_name": role}
            return 200, {"permission": legacy, "role_name": role, "user": user}, {}
        if op_id == "issues/get-comment":
            entry = self._comments.get(int(params["comment_id"]))
            if entry is None or entry["repo"] != _repo_key(repo):
                return _not_found()
            return 200, entry["comment"], {}
        if op_id == "reactions/create-for-issue-comment":
            entry = self._comments.get(int(params["comment_id"]))
            if entry is None or entry["repo"] != _repo_key(repo):
                return _not_found()
            reaction = {
                "id": len(self._reactions) + 1,
                "node_id": f"REA_{len(self._reactions) + 1}",
                "user": _user("github-actions[bot]", base),
                "content": body["content"],
                "created_at": self._now(),
            }
            self._reactions.append(
                {"repo": repo, "comment_id": int(params["comment_id"]), **reaction}
            )
            self._save()
            return 201, reaction, {}
        if op_id == "pulls/list-files":
            if self._pull(params) is None:
                return _not_found()
            key = f"{_repo_key(repo)}#{int(params['pull_number'])}"
            return 200, [_diff_entry(repo, f, base) for f in self._pull_files.get(key, [])], {}
        if op_id == "repos/get-content":
            ref = query.get("ref") or "main"
            path = params["path"]
            content = self._files.get(f"{_repo_key(repo)}@{ref}", {}).get(path)
            if content is None:
                return _not_found()
            sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
            url = f"{base}/repos/{repo}/contents/{path}?ref={ref}"
            html = f"https://github.com/{repo}/blob/{ref}/{path}"
            git = f"{base}/repos/{repo}/git/blobs/{sha}"
            return (
                200,
                {
                    "type": "file",
                    "encoding": "base64",
                    "size": len(content),
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                    "content": base64.encodebytes(content).decode("ascii"),
                    "sha": sha,
                    "url": url,
                    "git_url": git,
                    "html_url": html,
                    "download_url": None,
                    "_links": {"self": url, "git": git, "html": html},
                },
                {},
            )
        return None

    def _list_comments(self, repo: str, number: int, query: dict[str, str], base: str) -> Answer:
        items = [
            c["comment"]
            for _, c in sorted(self._comments.items())
            if c["repo"] == _repo_key(repo) and c["issue"] == number
        ]
        per_page = min(100, max(1, _int(query.get("per_page"), 30)))
        page = max(1, _int(query.get("page"), 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        url = f"{base}/repos/{repo}/issues/{number}/comments"
        rels = []
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        if page > 1:
            rels += [("prev", page - 1), ("first", 1)]
        links = [
            f'<{url}?{urlencode({"per_page": per_page, "page": to})}>; rel="{rel}"'
            for rel, to in rels
        ]
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _dispatch(self, repo: str, body: dict[str, Any]) -> Answer:
        if not isinstance(body.get("event_type"), str) or not body["event_type"]:
            return _invalid('Invalid request.\n\n"event_type" wasn\'t supplied.')
        payload = body.get("client_payload", {})
        if len(payload) > MAX_CLIENT_PAYLOAD_KEYS:
            return _invalid(
                "Invalid request.\n\nNo more than 10 properties are allowed; "
                f"{len(payload)} were supplied."
            )
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        if size >= MAX_CLIENT_PAYLOAD_BYTES:
            return _invalid(f"client_payload is too large ({size} bytes; the limit is 64 KB)")
        self._dispatches.append(
            {"repo": repo, "event_type": body["event_type"], "client_payload": payload}
        )
        self._save()
        return 204, None, {}

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str],
        raw_body: bytes,
        host: str,
    ) -> Answer:
        """Answer one request (the HTTP handler's entry point)."""
        parts = urlsplit(raw_path)
        path = parts.path
        prefix = ""
        if path.startswith("/api/v3/"):
            prefix, path = "/api/v3", path[len("/api/v3") :]
        base = f"http://{host}{prefix}"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        text = raw_body.decode("utf-8", errors="replace")
        try:
            recorded_body: Any = json.loads(text) if text else None
        except ValueError:
            recorded_body = text
        entry: dict[str, Any] = {
            "method": method,
            "path": parts.path,
            "query": query,
            "headers": {
                k.lower(): ("<redacted>" if k.lower() == "authorization" else v)
                for k, v in headers.items()
            },
            "body": recorded_body,
        }
        status, payload, extra = self._answer(method, path, headers, text, query, base, entry)
        entry["status"] = status
        self._record(entry)
        if payload is not None:
            payload = _rebase(payload, base)
        return status, payload, extra

    def _answer(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        text: str,
        query: dict[str, str],
        base: str,
        entry: dict[str, Any],
    ) -> Answer:
        spec = self.spec
        routed = spec.route(method, path)
        if routed is None:
            spec = self.extra_spec
            routed = spec.route(method, path)
        entry["operation"] = routed[0] if routed else None
        if routed is None:
            return _not_found()
        op_id, params = routed
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not given.strip():
            return 401, {"message": "Requires authentication", "documentation_url": DOCS}, {}
        if self.token is not None and given.strip() != self.token:
            return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
        body: Any = None
        if spec.request_schema(op_id) is not None:
            try:
                body = json.loads(text) if text.strip() else {}
            except ValueError:
                return 400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, {}
            errors = spec.request_errors(op_id, body)
            if errors:
                detail = "; ".join(f"For '{e['field']}', {e['message']}" for e in errors)
                return _invalid(f"Invalid request.\n\n{detail}", errors)
        with self._lock:
            fault = self._take_fault(op_id)
            if fault is not None:
                entry["fault"] = True
                return _fault_answer(fault)
            gate = self._take_gate(op_id)

            def run() -> Answer:
                with self._lock:
                    status, payload, extra = self._execute(op_id, params, query, body, base)
                    return status, copy.deepcopy(payload), extra

            if gate is None:
                return run()
            entry["held"] = True
            return gate.run(run)


class _Gate:
    """Hold ``parties`` requests, run them in arrival order, then release them all."""

    def __init__(self, parties: int, lock: threading.RLock, timeout: float) -> None:
        self.parties = parties
        self.timeout = timeout
        self.cond = threading.Condition(lock)
        self.thunks: list[Callable[[], Answer]] = []
        self.results: dict[int, Answer] = {}
        self.done = False

    @property
    def full(self) -> bool:
        return self.done or len(self.thunks) >= self.parties

    def run(self, thunk: Callable[[], Answer]) -> Answer:
        with self.cond:
            index = len(self.thunks)
            self.thunks.append(thunk)
            if len(self.thunks) >= self.parties:
                self._flush()
            elif not self.cond.wait_for(lambda: self.done, timeout=self.timeout):
                self._flush()  # the others never came: do not hang the test
            return self.results[index]

    def _flush(self) -> None:
        if self.done:
            return
        for index, thunk in enumerate(self.thunks):
            self.results[index] = thunk()
        self.done = True
        self.cond.notify_all()


def _fault(spec: dict[str, Any]) -> dict[str, Any]:
    """A fault with every field set (defaults: one 500, any operation)."""
    status = int(spec.get("status") or 500)
    message = spec.get("message") or (
        "Server Error"
        if status >= 500
        else "You have exceeded a secondary rate limit. "
        "Please wait a few minutes before you try again."
    )
    return {
        "count": int(spec.get("count", 1)),
        "status": status,
        "operation": spec.get("operation"),
        "retry_after": spec.get("retry_after"),
        "ratelimit_reset": spec.get("ratelimit_reset"),
        "message": message,
    }


def _user(login: str, base: str) -> dict[str, Any]:
    """A ``simple-user`` object for ``login``."""
    api = f"{base}/users/{login}"
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000_000,
        "node_id": "U_" + login,
        "avatar_url": f"https://avatars.githubusercontent.com/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": api + "/followers",
        "following_url": api + "/following{/other_user}",
        "gists_url": api + "/gists{/gist_id}",
        "starred_url": api + "/starred{/owner}{/repo}",
        "subscriptions_url": api + "/subscriptions",
        "organizations_url": api + "/orgs",
        "repos_url": api + "/repos",
        "events_url": api + "/events{/privacy}",
        "received_events_url": api + "/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
    }


def _role_permissions(role: str) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    level = order.index(role) if role in order else -1
    names = {"pull": 0, "triage": 1, "push": 2, "maintain": 3, "admin": 4}
    return {name: level >= need for name, need in names.items()}


def _diff_entry(repo: str, entry: dict[str, Any], base: str) -> dict[str, Any]:
    """A diff-entry as pulls/list-files answers it."""
    name = entry["filename"]
    return {
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
        "filename": name,
        "status": entry["status"],
        "additions": 1,
        "deletions": 0,
        "changes": 1,
        "blob_url": f"https://github.com/{repo}/blob/HEAD/{name}",
        "raw_url": f"https://github.com/{repo}/raw/HEAD/{name}",
        "contents_url": f"{base}/repos/{repo}/contents/{name}",
        "patch": "@@ -0,0 +1 @@",
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _not_found() -> Answer:
    return 404, {"message": "Not Found", "documentation_url": DOCS}, {}


def _invalid(message: str, errors: list[dict[str, Any]] | None = None) -> Answer:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
    if errors:
        body["errors"] = errors
    return 422, body, {}


def _too_long(resource: str) -> Answer:
    return _invalid_failed(
        {
            "resource": resource,
            "code": "custom",
            "field": "body",
            "message": f"body is too long (maximum is {MAX_BODY_CHARS} characters)",
        }
    )


def _invalid_failed(error: dict[str, Any]) -> Answer:
    return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}, {}


def _fault_answer(fault: dict[str, Any]) -> Answer:
    headers: dict[str, str] = {}
    if fault.get("retry_after") is not None:
        headers["Retry-After"] = str(fault["retry_after"])
    if fault.get("ratelimit_reset") is not None:
        headers["x-ratelimit-limit"] = "5000"
        headers["x-ratelimit-remaining"] = "0"
        headers["x-ratelimit-reset"] = str(fault["ratelimit_reset"])
    return int(fault["status"]), {"message": fault["message"], "documentation_url": DOCS}, headers


def _rebase(value: Any, base: str) -> Any:
    """Point every ``https://api.github.com`` link at the stand-in."""
    if isinstance(value, str):
        return base + value[len(GITHUB_API) :] if value.startswith(GITHUB_API + "/") else value
    if isinstance(value, list):
        return [_rebase(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _rebase(v, base) for k, v in value.items()}
    return value


class _Handler(BaseHTTPRequestHandler):
    owner: GitHubStub
    protocol_version = "HTTP/1.1"
    server_version = "forgeflow-github-stub"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: requests are recorded, not logged."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or self.owner.url.removeprefix("http://")
        status, payload, extra = self.owner.handle(
            self.command, self.path, dict(self.headers.items()), raw, host
        )
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 - stdlib naming


def iter_requests(record: Path) -> Iterator[dict[str, Any]]:
    """The requests recorded in a JSON-lines file."""
    with open(record, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in until SIGTERM/SIGINT; print its URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--state", type=Path, required=True, help="state file (JSON)")
    parser.add_argument("--record", type=Path, help="request log (default STATE.requests.jsonl)")
    parser.add_argument("--spec", type=Path, help="operations.json (default: the corpus)")
    parser.add_argument("--token", help="accept only this token (default: any)")
    parser.add_argument(
        "--seed-event",
        type=Path,
        action="append",
        default=[],
        help="a pull_request event payload to seed a pull request from (repeatable)",
    )
    args = parser.parse_args(argv)
    record = args.record or args.state.with_name(args.state.name + ".requests.jsonl")
    stub = GitHubStub(
        args.spec, record=record, state_file=args.state, token=args.token, port=args.port
    )
    for payload in args.seed_event:
        stub.seed_pull_request(json.loads(payload.read_text(encoding="utf-8")))
    stub._save()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(stub.start(), flush=True)
    stop.wait()
    stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
