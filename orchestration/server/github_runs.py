"""A webhook delivery's work: find the changed diagrams, fetch them, start a run for each.

Done after the delivery has been answered. Diagrams (``*.drawio``, ``*.dio``) are the
files a push's commits add or modify, or the files a pull request adds or changes (the
REST API's list of its files); each is fetched at the pushed commit (or the pull
request's head) through the contents API with ``GITHUB_TOKEN``. Run ids are derived from
the delivery and the file, so processing a delivery twice starts no second run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from pathlib import PurePosixPath
from typing import Any

from agents.errors import ConflictError, ForgeflowError
from orchestration.pipeline.queued_runs import start_run

log = logging.getLogger("forgeflow.server")

#: Where a delivery is remembered (so a redelivery is not processed again).
DELIVERY_KEY = "forgeflow.webhook-delivery:"
DIAGRAM_SUFFIXES = (".drawio", ".dio")
#: At most this many diagrams of one delivery become runs (the rest are listed as skipped).
MAX_DIAGRAMS = 50


def is_diagram(path: str) -> bool:
    return path.lower().endswith(DIAGRAM_SUFFIXES)


def push_diagrams(data: dict[str, Any]) -> list[str]:
    """Diagrams a push adds or changes (and does not remove again), in order."""
    seen: dict[str, None] = {}
    for commit in data.get("commits") or []:
        for path in [*(commit.get("added") or []), *(commit.get("modified") or [])]:
            if isinstance(path, str) and is_diagram(path):
                seen[path] = None
        for path in commit.get("removed") or []:
            seen.pop(path, None)
    return list(seen)


def input_name(path: str) -> str:
    """A file name for the run's input, from the repository path."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(path).name).lstrip("._-")
    return (name or "diagram.drawio")[-128:]


def run_id_for(delivery: str, path: str) -> str:
    return f"gh-{delivery}-{hashlib.sha256(path.encode()).hexdigest()[:12]}"


def process_delivery(state: Any, delivery: str, event: str, data: dict[str, Any]) -> None:
    """Start a run per changed diagram; the outcome goes into the delivery's record."""
    key = DELIVERY_KEY + delivery
    record = state.store.get_value(key) or {}
    try:
        runs, skipped = asyncio.run(_start_runs(state, delivery, event, data))
        record.update(status="done", runs=runs, skipped=skipped)
    except ForgeflowError as exc:
        log.warning("webhook delivery %s: %s", delivery, exc.one_line())
        record.update(status="failed", error=exc.one_line())
    except Exception as exc:  # recorded, never lost
        log.exception("webhook delivery %s failed", delivery)
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    state.store.put_value(key, record)


async def _start_runs(
    state: Any, delivery: str, event: str, data: dict[str, Any]
) -> tuple[list[str], list[dict[str, str]]]:
    from orchestration.github.api import GitHubApiError, connect
    from orchestration.github.api import MissingCredentialsError as Missing
    from orchestration.server.pipelines import committed_pipeline

    config = state.config
    repo_name = (data.get("repository") or {}).get("full_name", "")
    if not config.github_token:
        raise Missing("GITHUB_TOKEN is not set: the server cannot fetch the changed diagrams")
    client = connect(config.github_token, api_url=config.github_api_url)
    repo = client.repo(repo_name)
    if event == "push":
        paths = push_diagrams(data)
        ref = str(data.get("after") or "")
    else:
        pr = data["pull_request"]
        number = int(pr["number"])
        ref = str(pr["head"]["sha"])

        def files() -> list[str]:
            listed = repo.get_pull(number).get_files()
            return [f.filename for f in listed if f.status != "removed"]

        listed = await client.call(f"list files of pull request {repo_name}#{number}", files)
        paths = [p for p in listed if is_diagram(p)]
    skipped: list[dict[str, str]] = [
        {"path": p, "reason": f"over {MAX_DIAGRAMS} diagrams in one delivery"}
        for p in paths[MAX_DIAGRAMS:]
    ]
    pipeline_yaml = committed_pipeline(state, config.webhook_pipeline)
    started = []
    for path in paths[:MAX_DIAGRAMS]:

        def fetch(path: str = path) -> bytes:
            return bytes(repo.get_contents(path, ref=ref).decoded_content)

        try:
            content = await client.call(f"GET {repo_name}/{path}@{ref[:12]}", fetch)
        except GitHubApiError as exc:
            log.warning("webhook delivery %s: %s", delivery, exc.one_line())
            skipped.append({"path": path, "reason": exc.one_line()})
            continue
        run_id = run_id_for(delivery, path)
        try:
            start_run(
                state.store,
                pipeline_yaml=pipeline_yaml,
                input_name=input_name(path),
                input_bytes=content,
                settings=config.webhook_settings,
                run_id=run_id,
                source={
                    "kind": "github_webhook",
                    "delivery": delivery,
                    "event": event,
                    "repository": repo_name,
                    "ref": ref,
                    "path": path,
                },
            )
        except ConflictError:  # started by an earlier attempt at this delivery
            pass
        except ForgeflowError as exc:  # e.g. not a diagram the pipeline can read
            skipped.append({"path": path, "reason": exc.one_line()})
            continue
        state.dispatcher.submit(run_id)
        started.append(run_id)
    return started, skipped
