"""Typed agent settings: unknown keys and bad values are refused, never silently ignored.

An agent declares ``settings_model``; ``Agent.__init__`` validates ``config.settings``
against it, ``python -m agents.run --set`` and ``python -m orchestration run --set`` (and a
pipeline file's ``settings:``) are checked before anything runs, and the result cache
treats equivalent spellings of the same settings as the same work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_user_error, run_cli
from pydantic import BaseModel, Field
from synthforge_fixtures import azure_shop

from agents.base import Agent, AgentConfig, AgentSettings
from agents.builtin import EchoAgent, TextInput, TextOutput
from agents.errors import InputError
from agents.registry import default_registry
from agents.synthforge.analysis.cost_estimation import CostEstimationAgent, azure_regions
from agents.synthforge.iac.models import GeneratedModules
from agents.synthforge.models import ClassifiedArchitecture
from orchestration.patterns.coordinator import Plan, PlanRejected, PlanStep, validate_plan
from orchestration.runtime.cache import MemoryCache
from orchestration.runtime.execution import RunContext, execute


def make(agent: str, settings: dict[str, Any]) -> Agent[Any, Any]:
    """The built-in ``agent`` made with ``settings``, as the CLIs and pipelines make it."""
    return default_registry().create(agent, AgentConfig(name=agent, settings=settings))


def classified() -> ClassifiedArchitecture:
    """The shop architecture before review (the ``interactive`` agent's input)."""
    return ClassifiedArchitecture(**azure_shop().model_dump(exclude={"review"}))


def no_files() -> GeneratedModules:
    """Generated modules without files: ``code_quality`` checks them without checkov."""
    return GeneratedModules(source="d.drawio", iac="terraform", files=[])


# --------------------------------------------------------------------------- in-process


@pytest.mark.parametrize(
    ("agent", "settings", "needles"),
    [
        pytest.param(
            "cost_estimation",
            {"regoin": "eastus"},
            ["agent 'cost_estimation': unknown setting 'regoin'; known settings: region"],
            id="typo-of-a-key",
        ),
        pytest.param(
            "module_development",
            {"iac": "terraform", "outptu_dir": "iac"},
            ["unknown setting 'outptu_dir'", "output_dir", "resource_group_name"],
            id="typo-beside-a-good-key",
        ),
        pytest.param(
            "interactive",
            {"yes": "maybe"},
            ["agent 'interactive': setting yes=maybe:", "valid boolean"],
            id="not-a-boolean",
        ),
        pytest.param(
            "module_development",
            {"iac": "pulumi"},
            ["setting iac=pulumi: expected one of terraform, bicep, both"],
            id="not-an-iac-language",
        ),
        pytest.param(
            "code_quality",
            {"checkov_timeout": "0"},
            ["setting checkov_timeout=0:", "seconds greater than 0"],
            id="timeout-not-positive",
        ),
        pytest.param(
            "module_development",
            {"name_prefix": ["a", "b"]},
            ['setting name_prefix=["a", "b"]:', "valid string"],
            id="a-list-where-text-is-expected",
        ),
        pytest.param(
            "echo",
            {"yes": True},
            ["agent 'echo' takes no settings (got 'yes')"],
            id="agent-without-settings",
        ),
    ],
)
def test_refused_settings_are_one_line_naming_agent_and_key(
    agent: str, settings: dict[str, Any], needles: list[str]
) -> None:
    with pytest.raises(InputError) as info:
        make(agent, settings)
    message = info.value.one_line()
    assert str(info.value) == message  # one line as raised, nothing to squeeze
    for needle in needles:
        assert needle in message


def test_an_unknown_key_is_reported_before_a_bad_value() -> None:
    """A typo explains more than the value next to it."""
    with pytest.raises(InputError, match="unknown setting 'regoin'") as info:
        make("module_development", {"iac": "pulumi", "regoin": "eastus"})
    assert str(info.value).endswith("(and 1 more)")


@pytest.mark.parametrize(
    ("agent", "settings", "field", "expected"),
    [
        pytest.param("interactive", {"yes": "true"}, "yes", True, id="true"),
        pytest.param("interactive", {"yes": "on"}, "yes", True, id="on"),
        pytest.param("interactive", {"yes": "0"}, "yes", False, id="zero"),
        pytest.param("interactive", {"yes": False}, "yes", False, id="bool-false"),
        pytest.param("code_quality", {"checkov_timeout": "2.5"}, "checkov_timeout", 2.5, id="f"),
        pytest.param("code_quality", {"checkov_timeout": 30}, "checkov_timeout", 30.0, id="int"),
        pytest.param("code_quality", {}, "checkov_timeout", 600.0, id="default-timeout"),
        pytest.param("module_development", {"iac": " Bicep "}, "iac", "bicep", id="iac-case"),
        pytest.param("module_development", {}, "iac", "both", id="default-iac"),
        pytest.param(
            "module_development", {"name_prefix": 42}, "name_prefix", "42", id="yaml-number-text"
        ),
        pytest.param("cost_estimation", {"region": ""}, "region", None, id="empty-region"),
    ],
)
def test_values_from_the_command_line_and_yaml_are_coerced(
    agent: str, settings: dict[str, Any], field: str, expected: object
) -> None:
    typed = make(agent, settings).settings
    assert getattr(typed, field) == expected
    assert type(getattr(typed, field)) is type(expected)


async def test_coerced_settings_drive_the_agent() -> None:
    """``yes=on`` (text, as from a pipeline file) reviews without asking."""
    out = await make("interactive", {"yes": "on"}).run(classified())
    assert out.review.method == "accept_all"


def test_a_settings_model_that_accepts_unknown_keys_is_refused_at_class_definition() -> None:
    class Loose(BaseModel):
        speed: int = Field(default=1, description="How fast")

    with pytest.raises(TypeError, match='extra="forbid"'):

        class LooseAgent(Agent[TextInput, TextOutput]):
            name = "loose"
            input_model = TextInput
            output_model = TextOutput
            settings_model = Loose

            async def process(self, data: TextInput) -> TextOutput:
                return TextOutput(text=data.text)


def test_a_setting_without_a_default_is_refused_at_class_definition() -> None:
    class Needy(AgentSettings):
        speed: int = Field(description="How fast")

    with pytest.raises(TypeError, match="'speed' of Needy needs a default"):

        class NeedyAgent(Agent[TextInput, TextOutput]):
            name = "needy"
            input_model = TextInput
            output_model = TextOutput
            settings_model = Needy

            async def process(self, data: TextInput) -> TextOutput:
                return TextOutput(text=data.text)


# --------------------------------------------------------------------------- cost_estimation


def test_region_list_is_dated_and_holds_the_common_public_regions() -> None:
    from agents.synthforge.analysis.network_flow import load_data

    meta = load_data("azure_regions.json")["_meta"]
    assert meta["date"] and "learn.microsoft.com" in meta["source"]
    regions = azure_regions()
    assert len(regions) >= 40
    for name in ("westeurope", "northeurope", "eastus", "eastus2", "westus2", "japaneast"):
        assert name in regions
    assert all(name.isalnum() and name.islower() for name in regions)


@pytest.mark.parametrize(
    ("region", "hint"),
    [
        pytest.param("westeurop", "(did you mean westeurope?)", id="typo"),
        pytest.param("West Europe", "(did you mean westeurope?)", id="display-name"),
        pytest.param("us-east-1", "", id="an-aws-region"),
    ],
)
def test_unknown_region_is_refused_with_the_known_ones(region: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        make("cost_estimation", {"region": region})
    message = info.value.one_line()
    assert f"agent 'cost_estimation': setting region={region}: not an Azure region" in message
    assert hint in message
    assert "known regions: australiacentral, " in message and "westus3" in message


async def test_known_other_region_is_used_with_the_westeurope_price_warning() -> None:
    agent = make("cost_estimation", {"region": "japaneast"})
    assert isinstance(agent, CostEstimationAgent)
    out = await agent.run(azure_shop())
    assert out.region == "japaneast"
    assert any("westeurope list prices" in w and "japaneast" in w for w in out.warnings)


# --------------------------------------------------------------------------- same work


@pytest.mark.parametrize(
    ("agent", "first", "second", "same"),
    [
        pytest.param("interactive", {"yes": True}, {"yes": "true"}, True, id="bool-or-text"),
        pytest.param("interactive", {"yes": "yes"}, {"yes": "1"}, True, id="bool-spellings"),
        pytest.param(
            "code_quality", {"checkov_timeout": "30"}, {"checkov_timeout": 30.0}, True, id="num"
        ),
        pytest.param(
            "code_quality", {"checkov_timeout": "600"}, {}, True, id="the-default-spelt-out"
        ),
        pytest.param(
            "code_quality", {"checkov_timeout": "30"}, {"checkov_timeout": "60"}, False, id="other"
        ),
        pytest.param("code_quality", {"checkov_timeout": 30}, {}, False, id="set-or-not"),
    ],
)
async def test_equivalent_settings_are_the_same_work_for_the_cache(
    agent: str, first: dict[str, Any], second: dict[str, Any], same: bool
) -> None:
    data: BaseModel = classified() if agent == "interactive" else no_files()
    ctx = RunContext(run_id="r", cache=MemoryCache())
    one = await execute(make(agent, first), data, ctx)
    two = await execute(make(agent, second), data, ctx)
    assert one.ok and two.ok, (one.error, two.error)
    assert two.cached is same
    assert (one.envelope.input_digest == two.envelope.input_digest) is same


async def test_an_agent_without_settings_keeps_its_plain_input_digest() -> None:
    """No settings, no settings part: the digest is the input's (caches stay valid)."""
    from orchestration.runtime.artifact import digest

    run = await execute(EchoAgent(), TextInput(text="hi"), RunContext())
    assert run.envelope.input_digest == digest(TextInput(text="hi"))


# --------------------------------------------------------------------------- plans


def test_a_plan_with_a_bad_setting_is_rejected_before_it_runs() -> None:
    plan = Plan(
        steps=[
            PlanStep(id="review", agent="interactive", settings={"yes": True}),
            PlanStep(id="cost", agent="cost_estimation", input="review", settings={"zone": "x"}),
        ]
    )
    with pytest.raises(PlanRejected) as info:
        validate_plan(plan, default_registry(), ClassifiedArchitecture)
    assert info.value.step == "cost"
    assert "step 'cost': agent 'cost_estimation': unknown setting 'zone'" in str(info.value)


# --------------------------------------------------------------------------- agents.run


def _write(path: Path, model: BaseModel | dict[str, Any]) -> Path:
    doc = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("agent", "pair", "needles"),
    [
        pytest.param(
            "cost_estimation",
            "regoin=eastus",
            ["agent 'cost_estimation': unknown setting 'regoin'; known settings: region"],
            id="unknown-key",
        ),
        pytest.param(
            "cost_estimation",
            "region=westeurop",
            ["setting region=westeurop", "did you mean westeurope?"],
            id="unknown-region",
        ),
        pytest.param("echo", "yes=true", ["agent 'echo' takes no settings"], id="no-settings"),
    ],
)
def test_agents_run_refuses_a_bad_setting_in_one_line_and_writes_nothing(
    tmp_path: Path, agent: str, pair: str, needles: list[str]
) -> None:
    doc: BaseModel | dict[str, Any] = azure_shop() if agent == "cost_estimation" else {"text": "a"}
    src = _write(tmp_path / "in.json", doc)
    out = tmp_path / "out.json"
    proc = run_cli("-m", "agents.run", agent, src, "-o", out, "--set", pair)
    assert_user_error(proc, *needles)
    assert not out.exists()


def test_agents_run_with_a_known_region_writes_the_warning(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.json", azure_shop())
    out = tmp_path / "cost.json"
    proc = run_cli("-m", "agents.run", "cost_estimation", src, "-o", out, "--set", "region=eastus")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))["data"]
    assert data["region"] == "eastus"
    assert any("westeurope list prices" in w for w in data["warnings"])


def test_agents_run_settings_prints_the_settings_schema() -> None:
    proc = run_cli("-m", "agents.run", "--settings", "cost_estimation")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["additionalProperties"] is False
    region = schema["properties"]["region"]
    assert "westeurope" in json.dumps(region["description"])
    (text,) = [o for o in region["anyOf"] if o.get("type") == "string"]
    assert text["enum"] == list(azure_regions())


def test_agents_run_settings_of_an_agent_without_settings_says_so() -> None:
    proc = run_cli("-m", "agents.run", "--settings", "word_count")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "agent 'word_count' takes no settings"


def test_agents_run_settings_of_an_unknown_agent_is_a_user_error() -> None:
    proc = run_cli("-m", "agents.run", "--settings", "cost_estimaton")
    assert_user_error(proc, "unknown agent 'cost_estimaton'")


# --------------------------------------------------------------------------- orchestration run

REVIEW_THEN_COST = """\
name: t
stages:
  - agent: interactive
  - agent: cost_estimation
    settings: {SETTINGS}
"""


def _run_pipeline(tmp_path: Path, body: str, *pairs: str) -> Any:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(body, encoding="utf-8")
    src = _write(tmp_path / "classified.json", classified())
    sets = [arg for pair in ("interactive.yes=true", *pairs) for arg in ("--set", pair)]
    return run_cli(
        "-m", "orchestration", "run", pipeline, "--input", src,
        "--state", tmp_path / "state", "--out", tmp_path / "out", *sets,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "pairs", "needles"),
    [
        pytest.param(
            "{regoin: eastus}",
            (),
            ["stage 2 'cost_estimation'", "unknown setting 'regoin'; known settings: region"],
            id="typo-in-the-file",
        ),
        pytest.param(
            "{}",
            ("cost_estimation.regoin=eastus",),
            ["stage 2 'cost_estimation'", "unknown setting 'regoin'"],
            id="typo-in-set",
        ),
        pytest.param(
            "{region: eastus}",
            ("cost_estimation.region=mars",),
            ["stage 2 'cost_estimation'", "setting region=mars: not an Azure region"],
            id="set-overrides-the-file-and-is-checked",
        ),
        pytest.param(
            "{}",
            ("interactive.yes=perhaps",),
            ["stage 1 'interactive'", "agent 'interactive': setting yes=perhaps"],
            id="bad-value-in-set",
        ),
    ],
)
def test_orchestration_run_refuses_bad_settings_before_the_first_stage(
    tmp_path: Path, settings: str, pairs: tuple[str, ...], needles: list[str]
) -> None:
    proc = _run_pipeline(tmp_path, REVIEW_THEN_COST.replace("{SETTINGS}", settings), *pairs)
    assert_user_error(proc, "p.yaml", *needles)
    assert not (tmp_path / "state").exists()  # no stage ran: the store was never opened
    assert not (tmp_path / "out").exists()


def test_orchestration_run_refuses_group_settings_for_an_agent_not_in_the_group(
    tmp_path: Path,
) -> None:
    body = """\
name: t
stages:
  - agent: interactive
  - parallel:
      name: analysis
      branches: [network_flow, security, cost_estimation]
      combiner: combine
      settings:
        cost_estimaton: {region: eastus}
"""
    proc = _run_pipeline(tmp_path, body)
    assert_user_error(
        proc, "stage 2 'analysis'", "settings for 'cost_estimaton'", "network_flow, security"
    )
    assert not (tmp_path / "state").exists()


def test_orchestration_run_uses_checked_settings(tmp_path: Path) -> None:
    proc = _run_pipeline(
        tmp_path, REVIEW_THEN_COST.replace("{SETTINGS}", "{region: eastus}"), "interactive.yes=1"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "output.json").read_text(encoding="utf-8"))["data"]
    assert data["region"] == "eastus"


def test_readme_settings_error_is_what_the_cli_says(tmp_path: Path) -> None:
    """The README's example: the typo is reported before the input file is even read."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    command = "python -m agents.run cost_estimation reviewed.json --set regoin=eastus"
    proc = run_cli(*command.split()[1:], cwd=tmp_path)
    line = assert_user_error(proc, "unknown setting 'regoin'")
    assert f"$ {command}\n{line}\n" in readme
