"""Run the workflows for real with ``act``, offline, in self-hosted mode.

What it sets up (see DESIGN.md, "Testing the workflows without GitHub"):

- a snapshot of the working tree as a fresh git repository whose ``origin`` names the
  repository of the test's event, so ``github.repository`` is what the payload says. In
  the snapshot, ``uses: $/PATH`` (GitHub's self-repository syntax: this workflow file's
  own repository at its own commit, which act 0.2.89 cannot resolve) becomes the remote
  form ``uses: OWNER/REPO/PATH@REF``, and ``--local-repository OWNER/REPO@REF`` maps it to
  the snapshot itself. So a reusable workflow called from another repository finds its
  action and its files in its own repository, never in the caller's checkout, as on
  GitHub;
- ``--local-repository`` for every remote action the workflows pin, to the stand-ins in
  ``tests/act/``, at the exact SHA pinned (:data:`PINNED_ACTIONS`);
- a store folder for the stand-ins' artifacts and caches (``FORGEFLOW_ACT_STORE``), the
  test's Python as the one ``setup-python`` provides (``FORGEFLOW_ACT_PYTHON``), pip held
  offline (``PIP_NO_INDEX``) with a local wheelhouse, and act's own artifact and cache
  servers kept on 127.0.0.1 (or off);
- ``GITHUB_API_URL`` pointing at the GitHub stand-in, and a token as the secret.

Each :meth:`ActHarness.run` is one act invocation with its own ``GITHUB_RUN_ID``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STANDINS = REPO / "tests" / "act"
TOKEN = "ghs_forgeflowActTestToken0000000000000000"

#: Remote actions the workflows pin (``OWNER/REPO`` -> (SHA, stand-in folder)).
PINNED_ACTIONS: dict[str, tuple[str, str]] = {
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "upload-artifact"),
    "actions/download-artifact": (
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "download-artifact",
    ),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "setup-python"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "cache"),
}
#: act checks the repository itself out locally (no stand-in), even when pinned by SHA.
CHECKOUT = ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1")
#: The README example's ``uses: OWNER/forgeflow@SHA`` (mapped to the snapshot itself).
EXAMPLE_ACTION = ("OWNER/forgeflow", "0000000000000000000000000000000000000001")
#: The commit ``uses: $/…`` of a snapshot is pinned to (see :func:`snapshot`).
SELF_REF = "5e1f000000000000000000000000000000000000"

SELF_USES = re.compile(r"^(\s*(?:-\s+)?uses:\s+)\$/(\S*)", re.MULTILINE)

# A third-party agent package, built by hand as a wheel (no build tools, no network): its
# agent registers through the ``forgeflow.agents`` entry point and always fails, which
# makes one leg of a fan-out fail for real.
SELFTEST_PACKAGE = "forgeflow_selftest_agents"
SELFTEST_VERSION = "0.1.0"
SELFTEST_MODULE = '''"""Agents for Forgeflow's workflow tests."""

from agents.base import Agent
from agents.builtin import TextInput, TextOutput


class AlwaysFailsAgent(Agent[TextInput, TextOutput]):
    """Fails on every input (a fan-out leg that must fail)."""

    name = "always_fails"
    description = "Fail on purpose (workflow tests)"
    input_model = TextInput
    output_model = TextOutput

    async def process(self, data: TextInput) -> TextOutput:
        raise RuntimeError("always_fails failed on purpose")
'''


def act_binary() -> str | None:
    """The ``act`` executable, or ``None`` where it is not installed."""
    return shutil.which("act")


def build_selftest_wheel(wheelhouse: Path) -> Path:
    """Write the self-test agent package as a wheel into ``wheelhouse``."""
    dist = f"{SELFTEST_PACKAGE}-{SELFTEST_VERSION}"
    info = f"{dist}.dist-info"
    files = {
        f"{SELFTEST_PACKAGE}.py": SELFTEST_MODULE,
        f"{info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: forgeflow-selftest-agents\nVersion: {SELFTEST_VERSION}\n"
            "Summary: Agents for Forgeflow's workflow tests\n"
        ),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: forgeflow-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": (
            f"[forgeflow.agents]\nalways_fails = {SELFTEST_PACKAGE}:AlwaysFailsAgent\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    wheel = wheelhouse / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


def self_uses(text: str, remote: str, ref: str) -> str:
    """``uses: $/PATH`` in ``text`` as ``uses: REMOTE/PATH@REF`` (``REMOTE@REF`` for ``$/``)."""

    def remote_form(match: re.Match[str]) -> str:
        path = match.group(2).strip("/")
        return f"{match.group(1)}{remote}{'/' + path if path else ''}@{ref}"

    return SELF_USES.sub(remote_form, text)


def snapshot(
    dest: Path,
    *,
    remote: str,
    extra_files: dict[str, str] | None = None,
    ref: str = SELF_REF,
) -> Path:
    """Copy the working tree (tracked and untracked, not ignored) into a new git repository.

    ``remote`` is ``OWNER/NAME`` for ``origin``; ``extra_files`` (path -> text) are added
    in a second commit, so the first commit is a base to diff a pull request against.
    ``uses: $/…`` becomes ``uses: REMOTE/…@REF`` (:func:`self_uses`); the harness maps
    ``REMOTE@REF`` to ``dest``.
    """
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, listed):
        source = REPO / rel
        target = dest / rel
        if source.is_symlink():  # a link stays a link (the shipped pipelines' folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(source))
            continue
        if not source.is_file():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for path in [
        *dest.glob(".github/**/*.yml"),
        *dest.glob("tests/act/workflows/*.yml"),
        *dest.glob("examples/*.yml"),
        dest / "action.yml",
    ]:
        if path.is_file():
            path.write_text(self_uses(path.read_text(), remote, ref))
    git = [
        "git",
        "-c",
        "user.name=act test",
        "-c",
        "user.email=act@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=dest, check=True)
    if extra_files:
        for rel, text in extra_files.items():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_text(text)
        subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "change"], cwd=dest, check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", f"https://github.com/{remote}.git"],
        cwd=dest,
        check=True,
    )
    return dest


def rev_parse(repo: Path, rev: str) -> str:
    """The commit ``rev`` names in ``repo``."""
    return subprocess.run(
        ["git", "rev-parse", rev], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class ActRun:
    """One act invocation: its exit code, log, and where the stand-ins kept things."""

    returncode: int
    log: str
    run_id: int
    store: Path
    repository: str

    def artifacts_dir(self, run_id: int | None = None) -> Path:
        """Folder of this run's (or ``run_id``'s) uploaded artifacts."""
        rid = self.run_id if run_id is None else run_id
        return self.store / self.repository / "runs" / str(rid) / "artifacts"

    def artifact_names(self) -> list[str]:
        """Names of the artifacts this run uploaded."""
        folder = self.artifacts_dir()
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def artifact_file(self, name: str, rel: str) -> Path:
        """A file of an uploaded artifact."""
        return self.artifacts_dir() / name / "files" / rel

    def artifact_json(self, name: str, rel: str) -> Any:
        """A JSON file of an uploaded artifact, parsed."""
        return json.loads(self.artifact_file(name, rel).read_text(encoding="utf-8"))

    def explain(self) -> str:
        """The end of the log, for assertion messages."""
        return f"act exited {self.returncode}; log tail:\n{self.log[-6000:]}"


@dataclass
class ActHarness:
    """Runs act on a snapshot of the repository with the stand-ins wired in."""

    workdir: Path
    api_url: str
    repository: str = "Codertocat/Hello-World"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: Repository variables (the ``vars`` context), passed with ``--var``.
    extra_vars: dict[str, str] = field(default_factory=dict)
    _next_run_id: int = 1000

    def __post_init__(self) -> None:
        #: ``OWNER/REPO@REF`` -> folder, for ``--local-repository`` (snapshots, mainly).
        self.published: dict[str, Path] = {}
        self.store = self.workdir / "store"
        self.store.mkdir(parents=True, exist_ok=True)
        self.wheelhouse = self.workdir / "wheelhouse"
        build_selftest_wheel(self.wheelhouse)
        self.action_cache = self.workdir / "act-cache"
        self.logs = self.workdir / "logs"
        self.logs.mkdir(exist_ok=True)

    def new_repo(
        self,
        name: str,
        extra_files: dict[str, str] | None = None,
        *,
        remote: str | None = None,
        ref: str = SELF_REF,
    ) -> Path:
        """A fresh snapshot of the working tree for one scenario, published as
        ``REMOTE@REF`` (the harness's repository by default) for ``uses:`` to find."""
        remote = remote or self.repository
        repo = snapshot(self.workdir / name, remote=remote, extra_files=extra_files, ref=ref)
        self.published[f"{remote}@{ref}"] = repo
        return repo

    def command(
        self,
        repo: Path,
        event_name: str,
        workflow: str,
        event_file: Path,
        run_id: int,
        job: str | None,
        action_repo: Path | None = None,
    ) -> list[str]:
        act = act_binary()
        if act is None:
            raise RuntimeError("act is not installed")
        cmd = [
            act,
            event_name,
            "-W",
            workflow,
            "-e",
            str(event_file),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-cache-path",
            str(self.action_cache),
            "--artifact-server-addr",
            "127.0.0.1",
            "--cache-server-addr",
            "127.0.0.1",
            "--no-cache-server",
            "--concurrent-jobs",
            "2",
            "-s",
            f"GITHUB_TOKEN={TOKEN}",
        ]
        for owner_repo, (sha, folder) in PINNED_ACTIONS.items():
            cmd += ["--local-repository", f"{owner_repo}@{sha}={STANDINS / folder}"]
        published = {f"{EXAMPLE_ACTION[0]}@{EXAMPLE_ACTION[1]}": action_repo or repo}
        published.update(self.published)
        # ``$/`` of the workflow being run is the repository being run (several snapshots,
        # such as a pull request's head and its default branch, share one name).
        published[f"{self.repository}@{SELF_REF}"] = repo
        if action_repo is not None:
            published[f"{EXAMPLE_ACTION[0]}@{EXAMPLE_ACTION[1]}"] = action_repo
        for key, folder in published.items():
            cmd += ["--local-repository", f"{key}={folder}"]
        env = {
            "GITHUB_API_URL": self.api_url,
            "GITHUB_RUN_ID": str(run_id),
            "FORGEFLOW_ACT_STORE": str(self.store),
            "FORGEFLOW_ACT_PYTHON": sys.executable,
            # Offline: the action installs with pip from the job's own packages (the test's
            # virtual environment) instead of uv and Forgeflow's locks from PyPI.
            "FORGEFLOW_INSTALLER": "pip",
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(self.wheelhouse),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **self.extra_env,
        }
        for key, value in env.items():
            cmd += ["--env", f"{key}={value}"]
        for key, value in self.extra_vars.items():
            cmd += ["--var", f"{key}={value}"]
        if job:
            cmd += ["-j", job]
        return cmd

    def run(
        self,
        repo: Path,
        event_name: str,
        workflow: str,
        event: dict[str, Any],
        *,
        job: str | None = None,
        action_repo: Path | None = None,
        timeout: float = 240,
    ) -> ActRun:
        """Run ``workflow`` (a path inside ``repo``) for ``event_name`` with payload ``event``.

        ``action_repo`` is what ``OWNER/forgeflow@SHA`` (the README example) maps to;
        ``repo`` itself by default.
        """
        self._next_run_id += 1
        run_id = self._next_run_id
        event_file = self.workdir / f"event-{run_id}.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        cmd = self.command(repo, event_name, workflow, event_file, run_id, job, action_repo)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ACT"))}
        proc = subprocess.run(
            cmd,
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        log = proc.stdout + proc.stderr
        (self.logs / f"run-{run_id}.log").write_text(log, encoding="utf-8")
        return ActRun(proc.returncode, log, run_id, self.store, self.repository)


def workflow_run_event(
    corpus_events: Path, pull_request: dict[str, Any], analysis: ActRun, *, fork: bool
) -> dict[str, Any]:
    """The ``workflow_run`` (completed) event GitHub sends when the analysis run ends.

    From the corpus (``events/SOURCES.md``: octokit/webhooks ``workflow_run/completed``
    payloads), with the fields GitHub sets for this run: its id, ``event``, conclusion,
    the pull request's head commit and branch, and ``pull_requests`` (empty for a pull
    request from a fork, as GitHub sends it).
    """
    name = "workflow_run.completed" + ("" if fork else ".with-pull-requests") + ".payload.json"
    event = json.loads((corpus_events / name).read_text(encoding="utf-8"))
    pr = pull_request["pull_request"]
    run = event["workflow_run"]
    repo = pull_request["repository"]
    run.update(
        id=analysis.run_id,
        name="SynthForge pull request",
        event="pull_request",
        status="completed",
        conclusion="success" if analysis.returncode == 0 else "failure",
        head_sha=pr["head"]["sha"],
        head_branch=pr["head"]["ref"],
        html_url=f"https://github.com/{repo['full_name']}/actions/runs/{analysis.run_id}",
        repository=repo,
        head_repository=copy.deepcopy(pr["head"]["repo"]),
    )
    run["head_repository"]["fork"] = fork
    if fork:
        run["pull_requests"] = []
    else:
        run["pull_requests"][0].update(number=pr["number"])
        run["pull_requests"][0]["head"].update(ref=pr["head"]["ref"], sha=pr["head"]["sha"])
    event["repository"] = repo
    return event
