"""The plan both emitters render: module instances, their security settings, role grants."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.synthforge.iac.models import SkippedResource
from agents.synthforge.models import PrivateEndpoint, Resource


@dataclass
class Instance:
    """One module instance: a resource, the kind of module, and its security settings."""

    resource: Resource
    kind: str
    symbol: str
    name_default: str
    sku_default: str
    identity: bool = False
    public_access: bool = False
    public_reason: str = ""
    #: The flows from the internet that reach it directly ("internet → web (HTTPS/443)"),
    #: which make its public access accepted by the diagram.
    public_flows: list[str] = field(default_factory=list)
    private_endpoint: PrivateEndpoint | None = None
    diagnostics: bool = True
    added: bool = False  # not in the diagram; added for diagnostics or private endpoints
    parent: Instance | None = None  # the instance it belongs to (a blob container's account)
    #: Names of the drawn child resources its module deploys (a SQL server's databases,
    #: the kind's ``children``); empty: the module's own default.
    children: list[str] = field(default_factory=list)

    @property
    def function_app(self) -> bool:
        return self.kind == "function_app"


@dataclass
class Grant:
    """A role assignment between two generated instances."""

    principal: Instance
    scope: Instance
    role_name: str
    role_definition_id: str
    data_plane: bool


@dataclass
class Plan:
    """Everything the renderers need, decided once for Terraform and Bicep alike."""

    source: str
    prefix: str
    location: str
    resource_group: str
    instances: list[Instance] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    skipped: list[SkippedResource] = field(default_factory=list)
    workspace: Instance | None = None
    network: Instance | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def dns_zones(self) -> list[str]:
        """Distinct private DNS zones the private endpoints need, in order of appearance."""
        zones: list[str] = []
        for inst in self.instances:
            pe = inst.private_endpoint
            if pe is not None and pe.private_dns_zone not in zones:
                zones.append(pe.private_dns_zone)
        return zones
