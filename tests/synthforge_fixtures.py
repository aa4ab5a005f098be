"""Hand-built SynthForge architectures for the agent tests.

Shaped like the filter/review stages' output for two common designs: an Azure web shop
(App Gateway → App Service → Function App → Cosmos DB, Key Vault, Storage, SQL,
Application Insights, Service Bus, inside a VNet with subnets) and an AWS serverless API
(API Gateway → Lambda → DynamoDB, S3, RDS in a VPC). Each call returns a fresh object, so a
test may add resources or connections to it.
"""

from __future__ import annotations

from typing import Any

from agents.synthforge.models import (
    BBox,
    ClassifiedArchitecture,
    Connection,
    Container,
    ContainerKind,
    NonArchitectural,
    Provider,
    Resource,
    Review,
    ReviewedArchitecture,
    Unclassified,
)

BOX = BBox(x=0, y=0, width=100, height=100)


def container(cid: str, kind: ContainerKind, label: str, parent: str | None = None) -> Container:
    """A container on page ``p1`` (its box does not matter to the agents under test)."""
    return Container(id=cid, page="p1", kind=kind, label=label, bbox=BOX, parent=parent)


def resource(
    rid: str,
    name: str,
    rtype: str,
    category: str,
    containers: list[str],
    *,
    kind: str | None = None,
    provider: Provider = "azure",
) -> Resource:
    """A classified resource whose icon id is its id."""
    return Resource(
        id=rid,
        icon_id=rid,
        name=name,
        provider=provider,
        resource_type=rtype,
        kind=kind,
        category=category,
        containers=containers,
        mapping_source="test fixture",
    )


def connection(
    cid: str, source: str | None, target: str | None, label: str = "", **kw: Any
) -> Connection:
    """A connection on page ``p1``; ``kw`` sets the other fields (e.g. ``direction``)."""
    return Connection(id=cid, page="p1", source=source, target=target, label=label, **kw)


def reviewed(classified: ClassifiedArchitecture) -> ReviewedArchitecture:
    """``classified`` as the interactive stage returns it after accept-all review."""
    return ReviewedArchitecture(
        **classified.model_dump(),
        review=Review(reviewer="test", method="accept_all"),
    )


def azure_shop() -> ReviewedArchitecture:
    """Customers → App Gateway → App Service (in a VNet) → Function App → data services."""
    rg, vnet = ["rg"], ["rg", "vnet"]
    return reviewed(
        ClassifiedArchitecture(
            source="shop.drawio",
            containers=[
                container("rg", "resource_group", "rg-shop"),
                container("vnet", "vnet", "vnet-shop", parent="rg"),
                container("snet-gw", "subnet", "snet-gateway", parent="vnet"),
                container("snet-app", "subnet", "snet-app", parent="vnet"),
                container("snet-data", "subnet", "snet-data", parent="vnet"),
            ],
            resources=[
                resource(
                    "appgw",
                    "shop-gateway",
                    "Microsoft.Network/applicationGateways",
                    "network",
                    [*vnet, "snet-gw"],
                ),
                resource(
                    "web",
                    "shop-web",
                    "Microsoft.Web/sites",
                    "compute",
                    [*vnet, "snet-app"],
                    kind="app,linux",
                ),
                resource(
                    "func",
                    "orders-func",
                    "Microsoft.Web/sites",
                    "compute",
                    rg,
                    kind="functionapp,linux",
                ),
                resource(
                    "cosmos", "orders-db", "Microsoft.DocumentDB/databaseAccounts", "data", rg
                ),
                resource("kv", "shop-kv", "Microsoft.KeyVault/vaults", "security", rg),
                resource("st", "shopstorage", "Microsoft.Storage/storageAccounts", "storage", rg),
                resource("sql", "shop-sql", "Microsoft.Sql/servers", "data", [*vnet, "snet-data"]),
                resource("appi", "shop-appi", "Microsoft.Insights/components", "monitoring", rg),
                resource("sb", "orders-bus", "Microsoft.ServiceBus/namespaces", "integration", rg),
            ],
            non_architectural=[
                NonArchitectural(
                    icon_id="users",
                    icon_key="img/lib/azure2/general/Users.svg",
                    label="Customers",
                    reason="actor",
                ),
                NonArchitectural(
                    icon_id="legend",
                    icon_key="img/lib/azure2/general/Information.svg",
                    label="Legend",
                    reason="decoration",
                ),
            ],
            needs_clarification=[
                Unclassified(
                    icon_id="mystery",
                    icon_key="img/lib/azure2/other/Unknown_Thing.svg",
                    label="Batch thing",
                    candidates=["Microsoft.Batch/batchAccounts"],
                )
            ],
            connections=[
                connection("c1", "users", "appgw"),
                connection("c2", "appgw", "web"),
                connection("c3", "web", "func", "HTTPS"),
                connection("c4", "func", "cosmos", "writes orders"),
                connection("c5", "web", "kv", "secrets"),
                connection("c6", "func", "st", "reads blobs"),
                connection("c7", "web", "sql"),
                connection("c8", "appi", "web", "telemetry", direction="backward"),
                connection("c9", "sb", "func", "trigger"),
                connection("c10", "func", "legend"),
                connection("c11", "mystery", "web"),
            ],
        )
    )


def aws_api() -> ReviewedArchitecture:
    """Users → API Gateway → Lambda (in a VPC) → DynamoDB, S3 and RDS."""
    vpc = ["vpc", "private-a"]
    return reviewed(
        ClassifiedArchitecture(
            source="aws-api.drawio",
            containers=[
                container("vpc", "vnet", "vpc-main"),
                container("private-a", "subnet", "private-a", parent="vpc"),
            ],
            resources=[
                resource(
                    "api", "orders-api", "AWS::ApiGateway::RestApi", "network", [], provider="aws"
                ),
                resource(
                    "fn", "orders-fn", "AWS::Lambda::Function", "compute", vpc, provider="aws"
                ),
                resource("ddb", "orders", "AWS::DynamoDB::Table", "database", [], provider="aws"),
                resource("s3", "invoices", "AWS::S3::Bucket", "storage", [], provider="aws"),
                resource("rds", "ledger", "AWS::RDS::DBInstance", "database", vpc, provider="aws"),
            ],
            non_architectural=[
                NonArchitectural(
                    icon_id="users",
                    icon_key="mxgraph.aws4.users",
                    label="Users",
                    reason="actor",
                )
            ],
            connections=[
                connection("a1", "users", "api"),
                connection("a2", "api", "fn"),
                connection("a3", "fn", "ddb"),
                connection("a4", "fn", "s3"),
                connection("a5", "fn", "rds"),
            ],
        )
    )
