"""The ``cost_estimation`` agent: a dated, offline price table turned into an estimate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from synthforge_fixtures import aws_api, azure_shop, resource

from agents.base import AgentConfig
from agents.errors import InputError
from agents.synthforge.analysis.cost_estimation import CostEstimationAgent, estimate, price_table
from agents.synthforge.models import CostEstimate, CostItem
from orchestration.runtime.execution import execute
from orchestration.runtime.schemas import artifact_schema


def _item(result: CostEstimate, rid: str) -> CostItem:
    (item,) = [i for i in result.items if i.resource_id == rid]
    return item


def test_table_is_dated_usd_westeurope_and_says_it_is_an_estimate() -> None:
    meta = price_table()["_meta"]
    assert meta["currency"] == "USD" and meta["region"] == "westeurope"
    assert meta["source"].endswith("estimates only") and meta["date"] in meta["source"]


def test_total_is_the_sum_of_the_items() -> None:
    result = estimate(azure_shop())
    assert len(result.items) == len(azure_shop().resources)
    assert result.total_monthly == pytest.approx(sum(i.monthly_cost for i in result.items))
    assert result.total_monthly > 0
    assert (result.currency, result.region) == ("USD", "westeurope")
    assert result.price_table_date == price_table()["_meta"]["date"]


@pytest.mark.parametrize(
    ("rid", "sku_part", "monthly"),
    [
        # 400 RU/s = 4 x 100 RU/s x 730 h x $0.008 + 10 GB x $0.25
        pytest.param("cosmos", "400 RU/s", 25.86, id="cosmos-400-rus"),
        # 2 M billable executions x $0.20 + 1.1 M GB-s x $0.000016
        pytest.param("func", "Consumption", 18.00, id="functions-consumption"),
        pytest.param("web", "B1", 13.14, id="app-service-b1"),
        pytest.param("sql", "S0", 14.72, id="sql-s0"),
        pytest.param("kv", "Standard", 0.30, id="key-vault-operations"),
    ],
)
def test_items_price_the_default_sku(rid: str, sku_part: str, monthly: float) -> None:
    item = _item(estimate(azure_shop()), rid)
    assert sku_part in item.sku
    assert item.monthly_cost == pytest.approx(monthly)
    assert item.assumptions


def test_item_assumptions_show_the_arithmetic() -> None:
    item = _item(estimate(azure_shop()), "web")
    assert "B1 instance: 730 x $0.018 per hour = $13.14" in item.assumptions


def test_global_assumptions_cover_hours_and_what_is_left_out() -> None:
    text = " ".join(estimate(azure_shop()).assumptions)
    assert "730 hours a month" in text
    assert "estimates only" in text
    assert "private endpoints" in text


def test_unknown_type_costs_zero_with_an_assumption() -> None:
    arch = azure_shop()
    arch.resources.append(resource("t", "thing", "Microsoft.Foo/bars", "other", ["rg"]))
    result = estimate(arch)
    item = _item(result, "t")
    assert (item.sku, item.monthly_cost) == ("unknown", 0.0)
    assert "no price is known for Microsoft.Foo/bars" in item.assumptions[0]
    assert any("Microsoft.Foo/bars" in w for w in result.warnings)
    assert result.confidence < estimate(azure_shop()).confidence


def test_app_on_a_plan_in_the_diagram_is_not_counted_twice() -> None:
    arch = azure_shop()
    arch.resources.append(
        resource("plan", "shop-plan", "Microsoft.Web/serverfarms", "compute", ["rg"])
    )
    result = estimate(arch)
    assert _item(result, "web").monthly_cost == 0.0
    assert _item(result, "plan").monthly_cost == pytest.approx(13.14)
    assert _item(result, "func").monthly_cost > 0


def test_aws_resources_are_priced() -> None:
    result = estimate(aws_api())
    lam = _item(result, "fn")
    assert lam.monthly_cost == pytest.approx(18.73)
    assert all(i.sku != "unknown" for i in result.items)
    assert any("eu-west-1" in a for a in result.assumptions)


async def test_region_setting_is_used_and_flagged() -> None:
    agent = CostEstimationAgent(AgentConfig(name="cost_estimation", settings={"region": "eastus"}))
    result = await agent.run(azure_shop())
    assert result.region == "eastus"
    assert any("westeurope list prices" in w for w in result.warnings)
    default = await CostEstimationAgent().run(azure_shop())
    assert default.region == "westeurope" and default.warnings == []


@pytest.mark.parametrize(
    "bad",
    [pytest.param("West Europe!", id="spaces-and-punctuation"), pytest.param(5, id="number")],
)
async def test_bad_region_setting_is_a_one_line_user_error(bad: object) -> None:
    with pytest.raises(InputError, match="setting region=") as info:
        agent = CostEstimationAgent(AgentConfig(name="cost_estimation", settings={"region": bad}))
        await agent.run(azure_shop())
    assert "\n" not in str(info.value)


async def test_agent_output_validates_against_its_artifact_schema() -> None:
    async with CostEstimationAgent() as agent:
        run = await execute(agent, aws_api())
    assert run.ok, run.error
    doc = run.envelope.model_dump(mode="json")
    jsonschema.Draft202012Validator(artifact_schema(CostEstimate)).validate(doc)


def test_cli_runs_the_agent_with_a_region(tmp_path: Path, repo_root: Path) -> None:
    src = tmp_path / "reviewed.json"
    src.write_text(azure_shop().model_dump_json(), encoding="utf-8")
    out = tmp_path / "cost.json"
    proc = subprocess.run(
        [sys.executable, "-m", "agents.run", "cost_estimation", str(src), "-o", str(out)]
        + ["--set", "region=northeurope"],
        capture_output=True,
        text=True,
        cwd=repo_root,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))["data"]
    assert data["region"] == "northeurope"
    assert data["total_monthly"] == pytest.approx(estimate(azure_shop()).total_monthly)
