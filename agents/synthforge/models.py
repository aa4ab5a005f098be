"""Typed documents of the SynthForge reference pipeline.

vision → filter → interactive → (network_flow ∥ security ∥ cost_estimation) → combine

Each agent's output model is the next agent's input model (or a field of it), so the
pipeline's stage boundaries are checked by type.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agents.base import AgentResult

Provider = Literal["azure", "aws", "gcp", "kubernetes", "office", "generic", "unknown"]


class BBox(BaseModel):
    """Absolute bounding box on its page, in draw.io units."""

    x: float
    y: float
    width: float
    height: float


# --------------------------------------------------------------------------- vision


class DiagramInput(BaseModel):
    """Where the diagram is. ``agents.run vision FILE`` builds this from FILE."""

    path: str = Field(description="Path of a .drawio/.xml diagram (or a PNG/JPG)")
    digest: str | None = Field(
        default=None,
        description="sha256 of the file's bytes, so cached and resumed results follow the "
        "file's content, not only its path",
    )


class Page(BaseModel):
    id: str
    name: str
    icon_count: int = Field(ge=0)


class Icon(BaseModel):
    id: str = Field(description="Cell id, unique within the diagram")
    page: str = Field(description="Page id")
    icon_key: str = Field(description="Library key, e.g. img/lib/azure2/compute/Function_Apps.svg")
    provider: Provider
    label: str = Field(description="Label with HTML stripped")
    bbox: BBox
    parent: str | None = Field(default=None, description="Id of the containing container")
    confidence: float = Field(ge=0.0, le=1.0)


class FreeText(BaseModel):
    id: str
    page: str
    text: str
    bbox: BBox


ContainerKind = Literal[
    "vnet",
    "subnet",
    "resource_group",
    "region",
    "availability_zone",
    "subscription",
    "security_group",
    "group",
]


class Container(BaseModel):
    id: str
    page: str
    kind: ContainerKind
    label: str
    bbox: BBox
    parent: str | None = None
    icon_key: str | None = None
    badge: str | None = Field(
        default=None,
        description=(
            "Id of the boundary icon on the box's top edge or corner; the box stands for it"
        ),
    )


class Shape(BaseModel):
    """A plain shape an arrow ends on: neither a cloud icon nor a container (a rectangle,
    an embedded image, another library's stencil). It stands for a part the diagram does
    not draw with a cloud icon, named by its label."""

    id: str = Field(description="Cell id, unique within the diagram")
    page: str = Field(description="Page id")
    label: str = Field(default="", description="Label with HTML stripped")
    parent: str | None = Field(default=None, description="Id of the containing container")
    badge: str | None = Field(
        default=None,
        description=(
            "Id of the boundary icon on the shape's top edge or corner; the shape stands for it"
        ),
    )


class Connection(BaseModel):
    id: str
    page: str
    source: str | None = Field(
        description="Icon, container or shape id at the start, after containment"
    )
    target: str | None = Field(
        description="Icon, container or shape id at the end, after containment"
    )
    label: str = ""
    direction: Literal["forward", "backward", "both", "none"] = "forward"
    layer: str = Field(default="", description="Name of the draw.io layer the arrow is on")


class DetectionResult(AgentResult):
    """Everything found in a diagram."""

    source: str = Field(description="File name of the diagram")
    pages: list[Page] = Field(default_factory=list)
    icons: list[Icon] = Field(default_factory=list)
    texts: list[FreeText] = Field(default_factory=list)
    containers: list[Container] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    shapes: list[Shape] = Field(
        default_factory=list, description="Plain shapes that connections end on"
    )


# --------------------------------------------------------------------------- filter


class Resource(BaseModel):
    """An architectural resource, classified."""

    id: str = Field(description="Resource id (the icon id, or new for added ones)")
    icon_id: str | None = None
    name: str = Field(description="Label, or a name derived from the type")
    provider: Provider
    resource_type: str = Field(description="ARM type (Azure) or CloudFormation type (AWS)")
    kind: str | None = Field(default=None, description="ARM kind where it matters")
    category: str = Field(default="other", description="compute, data, network, ...")
    containers: list[str] = Field(
        default_factory=list, description="Ids of enclosing containers, outermost first"
    )
    mapping_source: str = Field(description="Where the type for this icon key came from")
    evidence: Literal["icon", "label", "container", "both"] = Field(
        default="icon", description="What decided the type: the icon, the label, or both"
    )
    confidence: float = Field(default=1.0, ge=0.0, le=1.0, description="Of the typing decision")
    drawings: list[str] = Field(
        default_factory=list,
        description="Ids of further icons that draw this same resource (duplicates merged)",
    )


class NonArchitectural(BaseModel):
    icon_id: str
    icon_key: str
    label: str
    reason: str


class Unclassified(BaseModel):
    icon_id: str
    icon_key: str
    label: str
    candidates: list[str] = Field(default_factory=list)


class ClassifiedArchitecture(AgentResult):
    """Icons turned into typed resources."""

    source: str
    resources: list[Resource] = Field(default_factory=list)
    non_architectural: list[NonArchitectural] = Field(default_factory=list)
    needs_clarification: list[Unclassified] = Field(default_factory=list)
    containers: list[Container] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    shapes: list[Shape] = Field(
        default_factory=list, description="Plain shapes that connections end on"
    )


# --------------------------------------------------------------------------- interactive


class Decision(BaseModel):
    """One reviewer decision about one resource."""

    action: Literal["confirm", "correct", "remove", "add", "split"] = Field(
        description="split: the resource's merged drawings become resources of their own"
    )
    resource_id: str
    resource_type: str | None = Field(default=None, description="New type (correct/add)")
    kind: str | None = None
    name: str | None = None
    note: str = ""


class DecisionsFile(BaseModel):
    """A reviewer's decisions, for non-interactive review (schema in schemas/)."""

    reviewer: str = Field(description="Who decided")
    decisions: list[Decision] = Field(default_factory=list)
    accept_rest: bool = Field(
        default=True, description="Confirm every resource no decision mentions"
    )


class Review(BaseModel):
    reviewer: str
    method: Literal["terminal", "decisions_file", "accept_all"]
    decisions: list[Decision] = Field(default_factory=list)


class ReviewedArchitecture(ClassifiedArchitecture):
    """The classified architecture after human review."""

    review: Review


# --------------------------------------------------------------------------- analysis


class Flow(BaseModel):
    source: str = Field(description="Resource id")
    target: str = Field(description="Resource id")
    direction: Literal["forward", "both"] = "forward"
    protocol: str
    port: int | None = None
    private: bool = Field(description="Stays on private networking")
    label: str = ""
    reason: str = Field(default="", description="Why this protocol and port were inferred")


class Subnet(BaseModel):
    id: str
    name: str
    resources: list[str] = Field(default_factory=list)
    address_prefix: str | None = Field(default=None, description="CIDR named in its label")


class VNet(BaseModel):
    id: str
    name: str
    subnets: list[Subnet] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    address_space: list[str] = Field(
        default_factory=list, description="CIDR blocks named in its label"
    )


class SecurityZone(BaseModel):
    name: str
    resources: list[str] = Field(default_factory=list)


RelationshipKind = Literal[
    "network",
    "connectivity",
    "association",
    "routing",
    "placement",
    "rbac",
    "identity",
    "dns",
    "telemetry",
    "deployment",
    "replication",
    "management",
    "trigger",
    "data",
]


class Relationship(BaseModel):
    """What one drawn arrow means, typed from its label, its ends and its style."""

    connection: str = Field(description="Id of the arrow (edge cell) it was read from")
    source: str = Field(description="Resource, container or icon id at the start")
    target: str = Field(description="Resource, container or icon id at the end")
    kind: RelationshipKind
    label: str = ""
    reason: str = Field(default="", description="Why the arrow was given this kind")


class NetworkFlowResult(AgentResult):
    flows: list[Flow] = Field(default_factory=list)
    vnets: list[VNet] = Field(default_factory=list)
    zones: list[SecurityZone] = Field(default_factory=list)
    relationships: list[Relationship] = Field(
        default_factory=list,
        description="Every arrow between two known ends, typed; network ones are also flows",
    )


class RoleAssignment(BaseModel):
    principal: str = Field(description="Resource id whose managed identity gets the role")
    scope: str = Field(description="Resource id the role applies to")
    role_name: str
    role_definition_id: str = Field(description="Built-in role definition GUID")
    reason: str = ""


class PrivateEndpoint(BaseModel):
    group_id: str = Field(description="Private link sub-resource, e.g. 'Sql', 'blob', 'vault'")
    private_dns_zone: str


class ResourceSecurity(BaseModel):
    resource_id: str
    resource_type: str
    managed_identity: bool = False
    role_assignments: list[RoleAssignment] = Field(default_factory=list)
    private_endpoint: PrivateEndpoint | None = None
    vnet_integration: bool = False
    min_tls_version: str | None = None
    public_network_access: Literal["Enabled", "Disabled"] | None = None
    diagnostics: bool = False
    notes: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)


class SecurityResult(AgentResult):
    resources: list[ResourceSecurity] = Field(default_factory=list)


class CostItem(BaseModel):
    resource_id: str
    resource_type: str
    sku: str
    monthly_cost: float = Field(ge=0)
    assumptions: list[str] = Field(default_factory=list)


class CostEstimate(AgentResult):
    currency: str = "USD"
    region: str
    price_table_date: str = Field(description="Date the shipped price table was taken")
    items: list[CostItem] = Field(default_factory=list)
    total_monthly: float = Field(ge=0)
    assumptions: list[str] = Field(default_factory=list)


class BranchFailure(BaseModel):
    """A parallel branch that failed, and why."""

    branch: str
    error: str


class CombineInput(BaseModel):
    """What the combiner receives from the parallel group (a failed branch is None)."""

    upstream: ReviewedArchitecture
    network_flow: NetworkFlowResult | None = None
    security: SecurityResult | None = None
    cost_estimation: CostEstimate | None = None
    failures: list[BranchFailure] = Field(default_factory=list)


class ArchitectureAnalysis(AgentResult):
    """The combined analysis of one diagram, with its markdown report."""

    architecture: ReviewedArchitecture
    network: NetworkFlowResult | None = None
    security: SecurityResult | None = None
    cost: CostEstimate | None = None
    failures: list[BranchFailure] = Field(default_factory=list)
    report_markdown: str
