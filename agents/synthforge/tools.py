"""SynthForge's shipped data as tools for a model-backed reviewer.

``icon_lookup``: the resource type of a draw.io icon key (or the icons whose key holds a
word); ``price_lookup``: the price-table entry of a resource type (``TYPE`` or
``TYPE|kind``); ``security_rules``: the security rule of a resource type. All read the
data files the deterministic agents use, offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from agents.tools.function import FunctionTool, ToolArgumentsError

if TYPE_CHECKING:
    from agents.tools.toolset import ToolContext

_TYPE = Annotated[
    str, Field(min_length=3, description="ARM type (Microsoft.Web/sites, optionally |kind)")
]


def icon_lookup_tool(ctx: ToolContext) -> FunctionTool:
    def icon_lookup(
        icon: Annotated[str, Field(min_length=2, description="Icon key, or a word of one")],
        max_results: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> dict[str, Any]:
        """The Azure/AWS resource type of a draw.io icon key; with a word, the icons
        whose key holds it."""
        from agents.synthforge.analysis.icon_map import load_icon_map

        icons = load_icon_map()
        found = icons.lookup(icon)
        if found is not None:
            return {
                "icon": icon,
                "type": found.resource_type,
                "kind": found.kind,
                "category": found.category,
                "source": found.source,
            }
        word = icon.lower()
        matches = []
        for key in icons.keys():  # noqa: SIM118 (IconMap is no dict)
            if word in key.lower():
                hit = icons.lookup(key)
                if hit is not None:
                    matches.append({"icon": key, "type": hit.resource_type, "kind": hit.kind})
                if len(matches) == max_results:
                    break
        return {"icon": icon, "type": None, "matches": matches}

    return FunctionTool(icon_lookup)


def price_lookup_tool(ctx: ToolContext) -> FunctionTool:
    def price_lookup(resource_type: _TYPE) -> dict[str, Any]:
        """The shipped price-table entry of a resource type (approximate list prices,
        per month), with the table's date and currency."""
        from agents.synthforge.analysis.cost_estimation import price_table

        table = price_table()
        entry = table["types"].get(resource_type)
        if entry is None:
            known = sorted(table["types"])
            raise ToolArgumentsError(
                f"no price for {resource_type!r}; priced types: {', '.join(known)}"
            )
        return {"resource_type": resource_type, "meta": table.get("_meta", {}), **entry}

    return FunctionTool(price_lookup)


def security_rules_tool(ctx: ToolContext) -> FunctionTool:
    def security_rules(resource_type: _TYPE) -> dict[str, Any]:
        """The shipped security rule of a resource type: managed identity, roles,
        private endpoint group, TLS, diagnostics, documentation links."""
        from agents.synthforge.analysis.network_flow import load_data

        rules = load_data("security_rules.json")
        for provider in ("azure", "aws"):
            rule = rules.get(provider, {}).get(resource_type)
            if rule is not None:
                return {"resource_type": resource_type, "provider": provider, "rule": rule}
        raise ToolArgumentsError(f"no security rule for {resource_type!r}")

    return FunctionTool(security_rules)
