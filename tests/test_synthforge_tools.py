"""The SynthForge lookups as tools: what a model-backed reviewer gets from the shipped
icon map, price table and security rules, through a toolset as the loop calls it."""

from __future__ import annotations

import json
from typing import Any

from agents.base import AgentConfig
from agents.model_client import ToolCall, collect_tool_calls
from agents.tools import open_toolset

TOOLS = ["icon_lookup", "price_lookup", "security_rules"]


async def call(name: str, **arguments: Any) -> Any:
    async with open_toolset(AgentConfig(name="reviewer", tools=TOOLS)) as toolset:
        reply = await toolset.call(ToolCall(id="c1", name=name, arguments=json.dumps(arguments)))
    return json.loads(reply)


async def test_icon_lookup_by_key_and_by_word() -> None:
    exact = await call("icon_lookup", icon="img/lib/azure2/databases/Azure_Cosmos_DB.svg")
    assert exact["type"] == "Microsoft.DocumentDB/databaseAccounts"
    by_word = await call("icon_lookup", icon="cosmos", max_results=3)
    assert by_word["type"] is None
    assert 1 <= len(by_word["matches"]) <= 3
    assert all("cosmos" in m["icon"].lower() for m in by_word["matches"])


async def test_price_lookup_and_its_refusal() -> None:
    entry = await call("price_lookup", resource_type="Microsoft.Web/sites")
    assert entry["sku"] == "App Service Basic B1 (Linux)"
    assert entry["components"][0]["unit"] == "hour" and "date" in str(entry["meta"])
    with collect_tool_calls() as records:
        refused = await call("price_lookup", resource_type="Microsoft.Nothing/here")
    assert refused["error"].startswith(
        "invalid arguments for 'price_lookup': no price for 'Microsoft.Nothing/here'; "
        "priced types: "
    )
    assert [r.outcome for r in records] == ["invalid_arguments"]


async def test_security_rules_of_a_type() -> None:
    rule = await call("security_rules", resource_type="Microsoft.DocumentDB/databaseAccounts")
    assert rule["provider"] == "azure" and rule["rule"]
    missing = await call("security_rules", resource_type="Microsoft.Nothing/here")
    assert "no security rule for 'Microsoft.Nothing/here'" in missing["error"]
