"""Monthly cost estimate per resource, from the shipped, dated price table.

``data/prices.json`` holds, per resource type, a default SKU and its priced components
(price x quantity a month, e.g. 730 hours of an instance, 100 GB of storage). Every item
lists the assumptions behind its figure; the estimate lists the global ones (hours a
month, what is not included, where the prices come from). A type with no price is
counted as 0 with an assumption saying so. The region comes from the agent setting
``region`` (``--set region=eastus``), else the table's default; it must be one of the
Azure public regions in ``data/azure_regions.json``.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from agents.base import Agent, AgentSettings
from agents.synthforge.analysis.addresses import diagram_region
from agents.synthforge.analysis.children import drawn_children
from agents.synthforge.analysis.heap import FewerCollections, fewer_collections
from agents.synthforge.analysis.network_flow import load_data, type_entry
from agents.synthforge.models import CostEstimate, CostItem, Resource, ReviewedArchitecture

if TYPE_CHECKING:
    from pydantic.json_schema import JsonDict


@cache
def azure_regions() -> dict[str, str]:
    """Programmatic name -> display name of every Azure public region we know."""
    regions: dict[str, str] = load_data("azure_regions.json")["regions"]
    return regions


def _list_regions(schema: JsonDict) -> None:
    """Name the known regions in the setting's JSON Schema (``--settings cost_estimation``)."""
    options = schema.get("anyOf")
    for option in options if isinstance(options, list) else []:
        if isinstance(option, dict) and option.get("type") == "string":
            option["enum"] = list(azure_regions())


class CostEstimationSettings(AgentSettings):
    """Settings of the ``cost_estimation`` agent."""

    region: str | None = Field(
        default=None,
        description="Azure region the estimate is for, by programmatic name (e.g. eastus); "
        "default: the price table's region (westeurope), whose list prices are used anyway",
        json_schema_extra=_list_regions,
    )

    @field_validator("region", mode="before")
    @classmethod
    def _known_region(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        regions = azure_regions()
        if isinstance(value, str) and value in regions:
            return value
        squeezed = "".join(ch for ch in str(value).lower() if ch.isalnum())
        close = difflib.get_close_matches(squeezed, regions, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise PydanticCustomError(
            "azure_region",
            "not an Azure region name{hint}; known regions: {known}",
            {"hint": hint, "known": ", ".join(regions)},
        )


def price_table() -> dict[str, Any]:
    """The shipped price table (``_meta``, ``global_assumptions``, ``types``)."""
    return load_data("prices.json")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _unit_price(value: float) -> str:
    """A unit price with every significant decimal: $0.018, $0.000016, $14.72."""
    text = f"{value:,.10f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def _quantity(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def estimate_item(
    resource: Resource, *, plan_in_diagram: bool = False, children_drawn: bool = False
) -> CostItem:
    """The monthly cost of one resource at its type's default SKU.

    ``children_drawn``: the diagram draws child resources on it (databases on a SQL
    server); a type whose price is that of a child it comes with (``drawn_children`` in
    the price table) then costs nothing itself, so nothing is counted twice.
    """
    entry = type_entry(price_table()["types"], resource.resource_type, resource.kind)
    if entry is not None and children_drawn and entry.get("drawn_children"):
        return CostItem(
            resource_id=resource.id,
            resource_type=resource.resource_type,
            sku="its drawn child resources",
            monthly_cost=0.0,
            assumptions=[entry["drawn_children"]],
        )
    if entry is None:
        return CostItem(
            resource_id=resource.id,
            resource_type=resource.resource_type,
            sku="unknown",
            monthly_cost=0.0,
            assumptions=[
                f"no price is known for {resource.resource_type}; counted as 0 — price it by hand"
            ],
        )
    is_app = resource.resource_type.lower() == "microsoft.web/sites"
    if is_app and plan_in_diagram and "functionapp" not in (resource.kind or "").lower():
        return CostItem(
            resource_id=resource.id,
            resource_type=resource.resource_type,
            sku="on the App Service plan",
            monthly_cost=0.0,
            assumptions=["compute is billed on the App Service plan shown in the diagram"],
        )
    total = 0.0
    lines: list[str] = []
    for part in entry["components"]:
        amount = part["price"] * part["quantity"]
        total += amount
        lines.append(
            f"{part['what']}: {_quantity(part['quantity'])} x {_unit_price(part['price'])} "
            f"per {part['unit']} = {_money(amount)}"
        )
    return CostItem(
        resource_id=resource.id,
        resource_type=resource.resource_type,
        sku=entry["sku"],
        monthly_cost=round(total, 2),
        assumptions=[*entry["assumptions"], *lines],
    )


def estimate(arch: ReviewedArchitecture, region: str | None = None) -> CostEstimate:
    """The monthly estimate of every resource of ``arch`` (pure, offline)."""
    table = price_table()
    meta = table["_meta"]
    named, every = diagram_region(
        [c.label for c in arch.containers] + [r.name for r in arch.resources]
    )
    region_note = None
    if region is None and named is not None:
        region = named
        region_note = f"region {named} is the one the diagram names"
        if len(every) > 1:
            region_note += f" most often (it names {', '.join(every)}; each is priced as {named})"
    region = region or meta["region"]
    plan = any(r.resource_type.lower() == "microsoft.web/serverfarms" for r in arch.resources)
    parents = drawn_children(arch.resources)
    items = [
        estimate_item(r, plan_in_diagram=plan, children_drawn=r.id in parents)
        for r in arch.resources
    ]
    assumptions = [
        f"prices: {meta['source']}",
        *table["global_assumptions"],
    ]
    warnings: list[str] = []
    providers = {r.provider for r in arch.resources}
    if "aws" in providers:
        assumptions.append(f"AWS resources are priced in {meta['aws_region']}")
    if region_note is not None:
        assumptions.append(region_note)
    if region != meta["region"]:
        note = f"the price table holds {meta['region']} list prices; prices in {region} may differ"
        assumptions.append(note)
        warnings.append(note)
    unknown = [i for i in items if i.sku == "unknown"]
    if unknown:
        types = sorted({i.resource_type for i in unknown})
        warnings.append(f"no price known for {', '.join(types)}; counted as 0")
    # a list-price estimate is never certain: 0.8 at best, less for each unpriced item
    confidence = 0.2 + 0.6 * (1 - len(unknown) / len(items)) if items else 0.8
    return CostEstimate(
        currency=meta["currency"],
        region=region,
        price_table_date=meta["date"],
        items=items,
        total_monthly=round(sum(i.monthly_cost for i in items), 2),
        assumptions=assumptions,
        warnings=warnings,
        confidence=round(confidence, 3),
    )


class CostEstimationAgent(FewerCollections, Agent[ReviewedArchitecture, CostEstimate]):
    """Monthly cost estimate from the shipped price table; setting ``region``."""

    name = "cost_estimation"
    description = "Monthly cost estimate per resource from a shipped, dated price table"
    input_model = ReviewedArchitecture
    output_model = CostEstimate
    settings_model = CostEstimationSettings
    settings: CostEstimationSettings

    def region(self) -> str | None:
        """The ``region`` setting (checked when the agent was made); None when unset."""
        return self.settings.region

    async def process(self, data: ReviewedArchitecture) -> CostEstimate:
        with fewer_collections():
            return estimate(data, self.region())
