"""The interactive review agent: decisions file, --yes, a scripted terminal, and the errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cli_helpers import assert_user_error, run_cli
from click.testing import CliRunner

from agents.base import AgentConfig
from agents.errors import InputError, SchemaViolation
from agents.run import parse_settings
from agents.synthforge.analysis.interactive import (
    AUTO_REVIEWER,
    ClickPrompter,
    InteractiveAgent,
    StreamPrompter,
)
from agents.synthforge.models import (
    BBox,
    ClassifiedArchitecture,
    Container,
    Resource,
    ReviewedArchitecture,
    Unclassified,
)

BOX = BBox(x=0, y=0, width=1, height=1)


def classified() -> ClassifiedArchitecture:
    """Two resources and one icon that needs clarification."""
    return ClassifiedArchitecture(
        source="shop.drawio",
        resources=[
            Resource(
                id="fn",
                icon_id="fn",
                name="orders",
                provider="azure",
                resource_type="Microsoft.Web/sites",
                kind="functionapp",
                category="compute",
                containers=["rg"],
                mapping_source="azure2 icon 'Function Apps'",
            ),
            Resource(
                id="db",
                icon_id="db",
                name="orders-db",
                provider="azure",
                resource_type="Microsoft.Sql/servers/databases",
                category="data",
                mapping_source="azure2 icon 'SQL Database'",
            ),
        ],
        needs_clarification=[
            Unclassified(
                icon_id="fw",
                icon_key="mxgraph.office.concepts.firewall",
                label="Firewall",
                candidates=[
                    "Microsoft.Network/azureFirewalls",
                    "Microsoft.Network/firewallPolicies",
                ],
            )
        ],
        containers=[Container(id="rg", page="p", kind="resource_group", label="rg", bbox=BOX)],
        warnings=["1 icon(s) need clarification: fw (mxgraph.office.concepts.firewall)"],
        confidence=0.66,
    )


def write_decisions(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def agent_with(settings: dict[str, object], **kwargs: object) -> InteractiveAgent:
    return InteractiveAgent(
        AgentConfig(name="interactive", settings=settings),
        is_terminal=lambda: False,
        **kwargs,  # type: ignore[arg-type]
    )


async def review(agent: InteractiveAgent) -> ReviewedArchitecture:
    async with agent:
        return await agent.run(classified())


async def test_decisions_file_confirm_correct_remove_add(tmp_path: Path) -> None:
    path = write_decisions(
        tmp_path,
        {
            "reviewer": "ana",
            "accept_rest": False,
            "decisions": [
                {"action": "confirm", "resource_id": "fn"},
                {
                    "action": "correct",
                    "resource_id": "db",
                    "resource_type": "Microsoft.DBforPostgreSQL/flexibleServers",
                    "note": "it is Postgres",
                },
                {"action": "remove", "resource_id": "fw", "note": "on-premises"},
                {
                    "action": "add",
                    "resource_id": "kv",
                    "resource_type": "Microsoft.KeyVault/vaults",
                    "name": "secrets",
                },
            ],
        },
    )
    out = await review(agent_with({"decisions": str(path)}))
    by_id = {r.id: r for r in out.resources}
    assert list(by_id) == ["fn", "db", "kv"]
    assert by_id["fn"].resource_type == "Microsoft.Web/sites" and by_id["fn"].kind == "functionapp"
    assert by_id["db"].resource_type == "Microsoft.DBforPostgreSQL/flexibleServers"
    assert by_id["db"].category == "data" and "ana" in by_id["db"].mapping_source
    assert by_id["kv"].name == "secrets" and by_id["kv"].provider == "azure"
    assert out.needs_clarification == []
    assert [n.icon_id for n in out.non_architectural] == ["fw"]
    assert out.review.reviewer == "ana" and out.review.method == "decisions_file"
    assert [d.action for d in out.review.decisions] == ["confirm", "correct", "remove", "add"]
    assert out.confidence == 1.0


async def test_decisions_file_resolves_a_clarification_and_accepts_the_rest(
    tmp_path: Path,
) -> None:
    path = write_decisions(
        tmp_path,
        {
            "reviewer": "ana",
            "decisions": [
                {
                    "action": "correct",
                    "resource_id": "fw",
                    "resource_type": "Microsoft.Network/azureFirewalls",
                }
            ],
        },
    )
    out = await review(agent_with({"decisions": str(path)}))
    assert [r.id for r in out.resources] == ["fn", "db", "fw"]
    fw = out.resources[-1]
    assert fw.name == "Firewall" and fw.icon_id == "fw" and fw.category == "security"
    assert {d.resource_id: d.action for d in out.review.decisions} == {
        "fw": "correct",
        "fn": "confirm",
        "db": "confirm",
    }


async def test_unresolved_clarifications_stay_and_are_reported(tmp_path: Path) -> None:
    path = write_decisions(tmp_path, {"reviewer": "ana", "decisions": []})
    out = await review(agent_with({"decisions": str(path)}))
    assert [u.icon_id for u in out.needs_clarification] == ["fw"]
    assert any("still need clarification" in w and "fw" in w for w in out.warnings)
    assert out.confidence == 0.66


@pytest.mark.parametrize(
    ("doc", "needles"),
    [
        pytest.param({"decisions": []}, ["$.reviewer", "Field required"], id="missing-reviewer"),
        pytest.param(
            {"reviewer": "a", "decisions": [{"action": "rename", "resource_id": "fn"}]},
            ["$.decisions[0].action"],
            id="bad-action",
        ),
        pytest.param(
            {"reviewer": "a", "decisions": [{"action": "confirm"}]},
            ["$.decisions[0].resource_id"],
            id="missing-id",
        ),
    ],
)
async def test_bad_decisions_file_names_file_and_json_path(
    tmp_path: Path, doc: object, needles: list[str]
) -> None:
    path = write_decisions(tmp_path, doc)
    agent = agent_with({"decisions": str(path)})
    with pytest.raises(SchemaViolation) as info:
        await agent.setup()
    assert str(path) in str(info.value)
    for needle in needles:
        assert needle in str(info.value)


async def test_decisions_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        await agent_with({"decisions": str(path)}).setup()


@pytest.mark.parametrize(
    ("decision", "needle"),
    [
        pytest.param(
            {"action": "remove", "resource_id": "ghost"},
            "$.decisions[0].resource_id: unknown resource 'ghost'; known ids: db, fn, fw",
            id="unknown-id",
        ),
        pytest.param(
            {"action": "add", "resource_id": "fn", "resource_type": "Microsoft.Web/sites"},
            "'fn' already exists",
            id="add-existing",
        ),
        pytest.param(
            {"action": "correct", "resource_id": "db"},
            "$.decisions[0].resource_type: correct needs a resource_type",
            id="correct-without-type",
        ),
        pytest.param(
            {"action": "confirm", "resource_id": "fw"},
            "'fw' needs clarification",
            id="confirm-unclear",
        ),
    ],
)
async def test_decisions_that_cannot_apply_are_clear_errors(
    tmp_path: Path, decision: dict[str, str], needle: str
) -> None:
    path = write_decisions(tmp_path, {"reviewer": "a", "decisions": [decision]})
    with pytest.raises(InputError) as info:
        await review(agent_with({"decisions": str(path)}))
    assert needle in str(info.value)
    assert str(path) in str(info.value)


async def test_accept_rest_false_requires_every_resource(tmp_path: Path) -> None:
    path = write_decisions(
        tmp_path,
        {
            "reviewer": "a",
            "accept_rest": False,
            "decisions": [{"action": "confirm", "resource_id": "fn"}],
        },
    )
    with pytest.raises(InputError, match=r"accept_rest is false but no decision covers db"):
        await review(agent_with({"decisions": str(path)}))


@pytest.mark.parametrize("value", [pytest.param(True, id="bool"), pytest.param("yes", id="str")])
async def test_yes_accepts_everything(value: object) -> None:
    out = await review(agent_with({"yes": value}))
    assert [r.id for r in out.resources] == ["fn", "db"]
    assert out.resources == classified().resources
    assert out.review.reviewer == AUTO_REVIEWER and out.review.method == "accept_all"
    assert [(d.action, d.resource_id) for d in out.review.decisions] == [
        ("confirm", "fn"),
        ("confirm", "db"),
    ]
    assert [u.icon_id for u in out.needs_clarification] == ["fw"]


async def test_no_terminal_no_decisions_no_yes_is_an_input_error() -> None:
    agent = agent_with({"yes": False})
    with pytest.raises(InputError) as info:
        await agent.setup()
    assert str(info.value) == (
        "interactive review needs a terminal, a decisions file (--set decisions=FILE) "
        "or --set yes=true"
    )


SCRIPT = "\n".join(
    [
        "",  # fn: confirm (the default)
        "correct",  # db
        "Microsoft.Sql/managedInstances",  # type
        "",  # kind: none
        "",  # name: keep
        "1",  # fw: first candidate
        "",  # kind
        "edge firewall",  # name
        "y",  # add a resource?
        "fn",  # id taken -> asked again
        "cache",
        "Microsoft.Cache/redis",
        "",
        "",  # name: derived
        "n",  # no more
    ]
)


async def test_terminal_review_from_an_injected_stream() -> None:
    out_text = io.StringIO()
    agent = agent_with(
        {}, prompter=StreamPrompter(io.StringIO(SCRIPT + "\n"), out_text), user="ana"
    )
    out = await review(agent)
    by_id = {r.id: r for r in out.resources}
    assert list(by_id) == ["fn", "db", "fw", "cache"]
    assert by_id["db"].resource_type == "Microsoft.Sql/managedInstances"
    assert by_id["db"].name == "orders-db"
    assert by_id["fw"].resource_type == "Microsoft.Network/azureFirewalls"
    assert by_id["fw"].name == "edge firewall"
    assert by_id["cache"].name == "redis"
    assert out.needs_clarification == []
    assert out.review.reviewer == "terminal: ana" and out.review.method == "terminal"
    shown = out_text.getvalue()
    assert "[1/2] orders [fn]: Microsoft.Web/sites (kind functionapp) in rg" in shown
    assert "1. Microsoft.Network/azureFirewalls" in shown
    assert "already used" in shown


async def test_terminal_review_that_runs_out_of_input_stops_cleanly() -> None:
    agent = agent_with({}, prompter=StreamPrompter(io.StringIO("remove\n"), io.StringIO()))
    with pytest.raises(InputError, match="input ended"):
        await review(agent)


def test_terminal_review_through_click_on_a_terminal() -> None:
    """The default prompter: click on stdin/stdout, when stdin is a terminal."""
    import asyncio

    agent = InteractiveAgent(AgentConfig(name="interactive"), is_terminal=lambda: True, user="bo")
    runner = CliRunner()
    answers = "remove\n\nremove\nn\n"  # fn removed, db confirmed, fw removed, add nothing
    with runner.isolation(input=answers) as streams:
        result = asyncio.run(review(agent))
    assert [r.id for r in result.resources] == ["db"]
    assert [n.icon_id for n in result.non_architectural] == ["fw"]
    assert result.review.reviewer == "terminal: bo"
    assert b"confirm, correct or remove" in streams[0].getvalue()


def test_click_prompter_turns_end_of_input_into_an_input_error() -> None:
    with CliRunner().isolation(input=""), pytest.raises(InputError, match="input ended"):
        ClickPrompter().prompt("anything")


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param(["yes=true"], {"yes": "true"}, id="text-kept"),
        pytest.param(["name_prefix=FALSE"], {"name_prefix": "FALSE"}, id="typed-by-the-agent"),
        pytest.param(["decisions=a=b.json"], {"decisions": "a=b.json"}, id="value-with-equals"),
    ],
)
def test_parse_settings(pairs: list[str], expected: dict[str, object]) -> None:
    assert parse_settings(pairs) == expected


@pytest.mark.parametrize(("text", "value"), [("true", True), ("FALSE", False), ("yes", True)])
def test_text_settings_become_the_agents_types(text: str, value: bool) -> None:
    from agents.base import AgentConfig

    agent = InteractiveAgent(AgentConfig(name="interactive", settings={"yes": text}))
    assert agent.settings.yes is value


def test_cli_set_decisions_and_yes(tmp_path: Path) -> None:
    """End to end through ``python -m agents.run`` with --set."""
    src = tmp_path / "classified.json"
    src.write_text(classified().model_dump_json(), encoding="utf-8")
    decisions = write_decisions(
        tmp_path,
        {"reviewer": "ci", "decisions": [{"action": "remove", "resource_id": "db"}]},
    )
    out = tmp_path / "reviewed.json"
    proc = run_cli(
        "-m", "agents.run", "interactive", src, "-o", out, "--set", f"decisions={decisions}"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())["data"]
    assert [r["id"] for r in data["resources"]] == ["fn"]
    assert data["review"]["method"] == "decisions_file"

    proc = run_cli("-m", "agents.run", "interactive", src, "-o", out, "--set", "yes=true")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["data"]["review"]["reviewer"] == AUTO_REVIEWER


def test_cli_without_terminal_or_settings_is_a_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "classified.json"
    src.write_text(classified().model_dump_json(), encoding="utf-8")
    out = tmp_path / "reviewed.json"
    proc = run_cli("-m", "agents.run", "interactive", src, "-o", out, input_text="")
    assert_user_error(proc, "interactive review needs a terminal")
    assert not out.exists()


def test_cli_unknown_resource_in_decisions_is_a_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "classified.json"
    src.write_text(classified().model_dump_json(), encoding="utf-8")
    decisions = write_decisions(
        tmp_path, {"reviewer": "ci", "decisions": [{"action": "confirm", "resource_id": "nope"}]}
    )
    out = tmp_path / "reviewed.json"
    proc = run_cli(
        "-m", "agents.run", "interactive", src, "-o", out, "--set", f"decisions={decisions}"
    )
    assert_user_error(proc, str(decisions), "unknown resource 'nope'")
    assert not out.exists()
