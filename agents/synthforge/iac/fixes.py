"""The fixes the IaC stage knows, as data, and the text edits that make them.

:data:`FIXES` is the table (language, check id) → :class:`Fix`: edits of the failing
resource's block in its file (set an attribute or a Bicep property, creating the nested
blocks on the way). :data:`NOT_FIXED` says why some known checks are left alone (a
decision that belongs to a person, or one the flow analysis already made).
``module_development`` makes every fix up front (:func:`secure_defaults`);
``code_quality_fixer`` makes them for the checks that still fail
(:mod:`agents.synthforge.iac.fixer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.synthforge.iac.hcl_format import format_hcl
from agents.synthforge.iac.models import AppliedFix, GeneratedFile, Language


@dataclass(frozen=True)
class Fix:
    """Edits that make one check pass on one kind of resource.

    ``edits`` are (path, value): the path names nested blocks (HCL) or properties (Bicep),
    the last part is the attribute; the value is source text. ``private_only`` fixes
    apply only where public network access is disabled (they would cut off a flow the
    analysis needs otherwise).
    """

    resource_types: tuple[str, ...]
    edits: tuple[tuple[tuple[str, ...], str], ...]
    note: str = ""
    private_only: bool = False


_WEB_LOGS = "azurerm_linux_web_app"
_AKS = "azurerm_kubernetes_cluster"
_AKS_ARM = "Microsoft.ContainerService/managedClusters"
_ACR = "azurerm_container_registry"

#: (language, check id) → fix.
FIXES: dict[tuple[Language, str], Fix] = {
    ("terraform", "CKV_AZURE_44"): Fix(
        ("azurerm_storage_account",), ((("min_tls_version",), '"TLS1_2"'),)
    ),
    ("terraform", "CKV_AZURE_190"): Fix(
        ("azurerm_storage_account",), ((("allow_nested_items_to_be_public",), "false"),)
    ),
    ("terraform", "CKV_AZURE_110"): Fix(
        ("azurerm_key_vault",), ((("purge_protection_enabled",), "true"),)
    ),
    ("bicep", "CKV_AZURE_44"): Fix(
        ("Microsoft.Storage/storageAccounts",), ((("properties", "minimumTlsVersion"), "'TLS1_2'"),)
    ),
    ("bicep", "CKV_AZURE_110"): Fix(
        ("Microsoft.KeyVault/vaults",), ((("properties", "enablePurgeProtection"), "true"),)
    ),
    ("terraform", "CKV_AZURE_225"): Fix(
        ("azurerm_service_plan",),
        ((("zone_balancing_enabled",), "true"), (("worker_count",), "3")),
        "zone-redundant plan needs at least 3 workers",
    ),
    ("terraform", "CKV_AZURE_212"): Fix(("azurerm_service_plan",), ((("worker_count",), "3"),)),
    ("terraform", "CKV_AZURE_66"): Fix(
        (_WEB_LOGS,), ((("logs", "failed_request_tracing"), "true"),)
    ),
    ("terraform", "CKV_AZURE_65"): Fix(
        (_WEB_LOGS,), ((("logs", "detailed_error_messages"), "true"),)
    ),
    ("terraform", "CKV_AZURE_63"): Fix(
        (_WEB_LOGS,),
        (
            (("logs", "http_logs", "file_system", "retention_in_days"), "7"),
            (("logs", "http_logs", "file_system", "retention_in_mb"), "35"),
        ),
    ),
    ("terraform", "CKV_AZURE_213"): Fix(
        (_WEB_LOGS,),
        (
            (("site_config", "health_check_path"), '"/health"'),
            (("site_config", "health_check_eviction_time_in_min"), "5"),
        ),
        "assumes the app answers health probes on /health; change the path if not",
    ),
    ("terraform", "CKV2_AZURE_38"): Fix(
        ("azurerm_storage_account",),
        (
            (("blob_properties", "delete_retention_policy", "days"), "7"),
            (("blob_properties", "container_delete_retention_policy", "days"), "7"),
        ),
    ),
    ("terraform", "CKV_AZURE_109"): Fix(
        ("azurerm_key_vault",),
        (
            (
                ("network_acls", "default_action"),
                'var.public_network_access_enabled ? "Allow" : "Deny"',
            ),
            (("network_acls", "bypass"), '"AzureServices"'),
        ),
        private_only=True,
    ),
    ("terraform", "CKV_AZURE_50"): Fix(
        ("azurerm_linux_virtual_machine",), ((("allow_extension_operations",), "false"),)
    ),
    ("terraform", "CKV_AZURE_171"): Fix((_AKS,), ((("automatic_upgrade_channel",), '"patch"'),)),
    ("terraform", "CKV_AZURE_172"): Fix(
        (_AKS,), ((("key_vault_secrets_provider", "secret_rotation_enabled"), "true"),)
    ),
    ("terraform", "CKV_AZURE_168"): Fix((_AKS,), ((("default_node_pool", "max_pods"), "50"),)),
    ("terraform", "CKV_AZURE_226"): Fix(
        (_AKS,), ((("default_node_pool", "os_disk_type"), '"Ephemeral"'),)
    ),
    ("terraform", "CKV_AZURE_227"): Fix(
        (_AKS,), ((("default_node_pool", "host_encryption_enabled"), "true"),)
    ),
    ("terraform", "CKV_AZURE_132"): Fix(
        ("azurerm_cosmosdb_account",), ((("access_key_metadata_writes_enabled",), "false"),)
    ),
    ("terraform", "CKV_AZURE_167"): Fix(
        (_ACR,), ((("retention_policy_in_days",), "7"),), "untagged manifests kept 7 days"
    ),
    ("terraform", "CKV_AZURE_237"): Fix((_ACR,), ((("data_endpoint_enabled",), "true"),)),
    ("terraform", "CKV_AZURE_233"): Fix((_ACR,), ((("zone_redundancy_enabled",), "true"),)),
    ("terraform", "CKV_AZURE_224"): Fix(
        ("azurerm_mssql_database",), ((("ledger_enabled",), "true"),)
    ),
    ("terraform", "CKV_AZURE_136"): Fix(
        ("azurerm_postgresql_flexible_server",), ((("geo_redundant_backup_enabled",), "true"),)
    ),
    ("bicep", "CKV_AZURE_8"): Fix(
        (_AKS_ARM,), ((("properties", "addonProfiles", "kubeDashboard", "enabled"), "false"),)
    ),
    ("bicep", "CKV_AZURE_171"): Fix(
        (_AKS_ARM,), ((("properties", "autoUpgradeProfile", "upgradeChannel"), "'patch'"),)
    ),
    ("bicep", "CKV_AZURE_151"): Fix(
        ("Microsoft.Compute/virtualMachines",),
        ((("properties", "securityProfile", "encryptionAtHost"), "true"),),
    ),
    ("bicep", "CKV_AZURE_97"): Fix(
        ("Microsoft.Compute/virtualMachines",),
        ((("properties", "securityProfile", "encryptionAtHost"), "true"),),
    ),
    ("bicep", "CKV_AZURE_132"): Fix(
        ("Microsoft.DocumentDB/databaseAccounts",),
        ((("properties", "disableKeyBasedMetadataWriteAccess"), "true"),),
    ),
    ("bicep", "CKV_AZURE_225"): Fix(
        ("Microsoft.Web/serverfarms",),
        ((("properties", "zoneRedundant"), "true"), (("sku", "capacity"), "3")),
        "zone-redundant plan needs at least 3 instances",
    ),
    ("bicep", "CKV_AZURE_212"): Fix(
        ("Microsoft.Web/sites",), ((("properties", "siteConfig", "numberOfWorkers"), "3"),)
    ),
    ("bicep", "CKV_AZURE_213"): Fix(
        ("Microsoft.Web/sites",),
        ((("properties", "siteConfig", "healthCheckPath"), "'/health'"),),
        "assumes the app answers health probes on /health; change the path if not",
    ),
}

PUBLIC_REASON = (
    "public network access follows the flow analysis: module_development disables it "
    "wherever no flow from the internet needs it, and one needs it here"
)
_ARRAY = "for Bicep the node pool is an array element; the fixer edits objects only"
_BICEP_PARAM = "the value comes from a parameter, which checkov does not evaluate for Bicep"

_STORAGE_INSIGHTS = (
    "checkov asks for azurerm_log_analytics_storage_insights, which reads the account with "
    "its access key; the modules disable shared-key access instead"
)

_CMK_BICEP = (
    "customer-managed keys: the modules of storage accounts, Cosmos DB, Service Bus, App "
    "Configuration, Cognitive Services and managed disks take the root inputs "
    "customer_managed_key_id and customer_managed_key_vault_id; this resource's module "
    "does not yet"
)
_SQL_BICEP = (
    "the modules set the server's auditing (to the Log Analytics workspace, 90 days; in "
    "Bicep Microsoft.Sql/servers/auditingSettings) and threat detection (every alert type, "
    "e-mailed to the admins and the required alert recipients; securityAlertPolicies), which "
    "cover every database on it, the master database that carries the audit diagnostic "
    "setting included; checkov's Bicep graph checks ask each database for settings of its "
    "own (the server's checks pass), and do not honour inline suppressions"
)

#: Known checks left alone on purpose, and why.
NOT_FIXED: dict[str, str] = {
    "CKV_AZURE_59": PUBLIC_REASON,
    "CKV_AZURE_189": PUBLIC_REASON,
    "CKV_AZURE_222": PUBLIC_REASON,
    "CKV_AZURE_101": PUBLIC_REASON,
    "CKV_AZURE_139": PUBLIC_REASON,
    "CKV_AZURE_99": PUBLIC_REASON,
    "CKV_AZURE_115": "a private API server needs a way in (jump host, VPN); decide per cluster",
    "CKV_AZURE_6": "authorized IP ranges are the operators' addresses; decide per cluster",
    "CKV_AZURE_117": (
        "the Kubernetes module does not yet take the customer-managed key "
        "(customer_managed_key_id) for a disk encryption set: node disks use platform keys"
    ),
    "CKV_AZURE_100": _CMK_BICEP,
    "CKV_AZURE_164": "signed images (content trust) need a signing process",
    "CKV_AZURE_165": "geo-replication needs a second region chosen",
    "CKV_AZURE_166": "image quarantine needs a scanning workflow",
    "CKV_AZURE_163": "vulnerability scanning is Defender for Containers, a subscription setting",
    "CKV2_AZURE_2": "vulnerability assessment needs a storage account for its reports",
    "CKV_AZURE_220": (
        "intrusion detection (IDPS) in deny mode needs the Premium tier of the firewall and "
        "its policy; the modules use Standard, which the cost estimate prices: a higher tier "
        "is a cost decision per firewall"
    ),
    "CKV_AZURE_229": (
        "zone redundancy needs a General Purpose, Business Critical, Hyperscale or Premium "
        "SKU; the default SKU, S0 (Standard, 10 DTU), which the cost estimate prices, has "
        "none: a higher tier is a cost decision (the sku and zone_redundant inputs)"
    ),
    "CKV_AZURE_23": _SQL_BICEP,
    "CKV_AZURE_24": _SQL_BICEP,
    "CKV_AZURE_25": _SQL_BICEP,
    "CKV_AZURE_26": _SQL_BICEP,
    "CKV_AZURE_27": _SQL_BICEP,
    "CKV_AZURE_172": (
        "for Bicep, checkov expects a boolean where the ARM schema takes the string 'true'"
    ),
    "CKV_AZURE_168": _ARRAY,
    "CKV_AZURE_226": _ARRAY,
    "CKV_AZURE_227": _ARRAY,
    "CKV_AZURE_35": PUBLIC_REASON + "; " + _BICEP_PARAM,
    "CKV_AZURE_206": _BICEP_PARAM + " (the default SKU is geo-redundant)",
    "CKV2_AZURE_1": _CMK_BICEP,
    "CKV_AZURE_17": "client certificates would be required from every caller; decide per app",
    "CKV_AZURE_13": "App Service authentication needs an identity provider chosen per app",
    "CKV_AZURE_88": "mounting Azure Files needs a file share and its storage account's "
    "access key, and the modules turn shared-key access off; an app that keeps files on "
    "disk needs a share, a stateless app or function does not: decide per app",
    "CKV_AZURE_16": "needs an identity provider chosen per app",
    "CKV_AZURE_140": (
        "local authentication is off (local_authentication_enabled = false); checkov reads "
        "only local_authentication_disabled, deprecated in azurerm 4.x"
    ),
    "CKV_AZURE_174": "API Management cannot be created with public network access disabled "
    "(Azure accepts that only on an existing instance) and the modules set it on creation; "
    "no flow from the internet reaches this one, so its gateway is in Internal mode (reached "
    "from the network only): disable public access to its management plane after the first "
    "deployment",
    "CKV_AZURE_152": "client certificates would be required from every API caller; decide per API",
    "CKV_AZURE_173": "API Management's front- and back-end TLS settings are per-API decisions",
    "CKV_AZURE_186": _CMK_BICEP,
    "CKV_AZURE_199": _CMK_BICEP,
    "CKV_AZURE_201": _CMK_BICEP,
    "CKV_AZURE_93": _CMK_BICEP,
    "CKV2_AZURE_22": (
        "the account encrypts with the customer-managed key of the root input "
        "customer_managed_key_id (its customer_managed_key block); checkov asks for an "
        "azurerm_cognitive_account_customer_managed_key linked to an azurerm_key_vault_key "
        "of the same configuration, and the key is an input, not created here"
    ),
    "CKV_AZURE_208": "the replicas are the module input replica_count (3 by default); "
    "fewer was chosen there",
    "CKV_AZURE_209": "the replicas are the module input replica_count (3 by default); "
    "fewer was chosen there",
    "CKV_AZURE_94": (
        "geo-redundant backup is set (properties.backup.geoRedundantBackup: 'Enabled'); "
        "checkov reads properties.Backup, a key no valid Bicep file has"
    ),
    "CKV_AZURE_96": (
        "checkov reads properties.dataencryption, a key no valid Bicep file has (the "
        "property is dataEncryption); a customer-managed key for it is not generated: with "
        "geo-redundant backup it needs a second key in the paired region"
    ),
    "CKV2_AZURE_31": (
        "the subnets the modules create get a network security group (Azure Bastion's with "
        "the rules it requires); a gateway's subnet takes none"
    ),
    "CKV_AZURE_228": "zone redundancy of an Event Hubs namespace depends on the region and SKU",
    "CKV_AZURE_247": "data loss prevention of an OpenAI account needs its allowed FQDNs listed",
    "CKV2_AZURE_20": _STORAGE_INSIGHTS,
    "CKV2_AZURE_21": _STORAGE_INSIGHTS,
    "CKV_AZURE_33": (
        "queue logging is set in azurerm_storage_account_queue_properties; checkov reads only "
        "the queue_properties block of azurerm_storage_account, deprecated in azurerm 4.x"
    ),
}
DEFAULT_REASON = "no deterministic fix is known for this check"


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class Where:
    """An issue's location, parsed: file, line and resource address."""

    file: str
    line: int | None
    resource: str

    @property
    def language(self) -> Language:
        return "bicep" if self.file.endswith(".bicep") else "terraform"

    def block(self) -> tuple[str, str]:
        """(type, name) of the resource block: ``azurerm_x.this`` or ``Microsoft.X/y.sym``."""
        if self.language == "bicep":
            type_, _, name = self.resource.rpartition(".")
            return type_, name
        parts = self.resource.split(".")
        # module.<m>.<type>.<name> (possibly nested, possibly indexed)
        parts = [re.sub(r"\[.*\]$", "", p) for p in parts]
        return parts[-2] if len(parts) >= 2 else "", parts[-1]

    def module_instance(self) -> str | None:
        """The root module instance (``module.<m>.…``), for Terraform."""
        m = re.match(r"module\.([A-Za-z0-9_-]+)", self.resource)
        return m.group(1) if m else None


def parse_location(location: str | None) -> Where | None:
    """``file:line resource`` → :class:`Where` (None when it is not in that form)."""
    if not location:
        return None
    head, _, resource = location.partition(" ")
    file, _, line = head.rpartition(":")
    if not file:
        return None
    return Where(file, int(line) if line.isdigit() else None, resource.strip())


# --------------------------------------------------------------------------- editing


class FixError(Exception):
    """A fix cannot be applied to this text (the reason is the message)."""


def _depths(lines: list[str], start: int) -> int:
    """Index of the line that closes the block opened on ``lines[start]``."""
    depth = 0
    for i in range(start, len(lines)):
        depth += lines[i].count("{") - lines[i].count("}")
        if depth == 0 and i > start:
            return i
        if depth == 0 and "{" in lines[i]:
            return i
    raise FixError("unbalanced braces: the block has no end")


def find_block(lines: list[str], language: Language, type_: str, name: str) -> tuple[int, int]:
    """(first, last) line index of the resource block ``type_``/``name``."""
    if language == "terraform":
        pattern = re.compile(rf'^\s*resource\s+"{re.escape(type_)}"\s+"{re.escape(name)}"\s*\{{')
    else:
        pattern = re.compile(rf"^\s*resource\s+{re.escape(name)}\s+'{re.escape(type_)}@")
    for i, line in enumerate(lines):
        if pattern.match(line):
            return i, _depths(lines, i)
    raise FixError(f"resource block {type_} {name} not found")


def _children(lines: list[str], first: int, last: int) -> list[int]:
    """Indexes of the lines that are direct children of the block (first, last)."""
    out, depth = [], 0
    for i in range(first + 1, last):
        if depth == 0:
            out.append(i)
        depth += lines[i].count("{") - lines[i].count("}")
        depth += lines[i].count("[") - lines[i].count("]")
    return out


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def set_value(
    lines: list[str], first: int, last: int, path: tuple[str, ...], value: str, language: Language
) -> list[str]:
    """Set ``path`` to ``value`` inside the block (first, last); return the new lines."""
    key, rest = path[0], path[1:]
    child_indent = _indent(lines[first]) + "  "
    if language == "terraform":
        attr = re.compile(rf"^\s*{re.escape(key)}\s*=")
        block = re.compile(rf"^\s*{re.escape(key)}\s*\{{")
    else:
        attr = re.compile(rf"^\s*'?{re.escape(key)}'?\s*:")
        block = re.compile(rf"^\s*'?{re.escape(key)}'?\s*:\s*\{{")
    for i in _children(lines, first, last):
        if rest and block.match(lines[i]):
            end = _depths(lines, i)
            return set_value(lines, i, end, rest, value, language)
        if not rest and attr.match(lines[i]) and not block.match(lines[i]):
            sep = " = " if language == "terraform" else ": "
            return [*lines[:i], f"{_indent(lines[i])}{key}{sep}{value}", *lines[i + 1 :]]
        if rest and attr.match(lines[i]):
            raise FixError(f"{key} is set to an expression, not a block; cannot add {rest[0]}")
    new = _new_lines(path, value, child_indent, language)
    return [*lines[:last], *new, *lines[last:]]


def _new_lines(path: tuple[str, ...], value: str, indent: str, language: Language) -> list[str]:
    key, rest = path[0], path[1:]
    if not rest:
        return [
            f"{indent}{key} = {value}" if language == "terraform" else f"{indent}{key}: {value}"
        ]
    opening = f"{indent}{key} {{" if language == "terraform" else f"{indent}{key}: {{"
    return [opening, *_new_lines(rest, value, indent + "  ", language), f"{indent}}}"]


def apply_fix(text: str, where: Where, fix: Fix) -> str:
    """``text`` with ``fix`` applied to the block ``where`` names."""
    lines = text.split("\n")
    type_, name = where.block()
    for path, value in fix.edits:
        first, last = find_block(lines, where.language, type_, name)
        lines = set_value(lines, first, last, path, value, where.language)
    return "\n".join(lines)


def describe_fix(fix: Fix, language: Language) -> str:
    sep = " = " if language == "terraform" else ": "
    text = "; ".join(f"set {'.'.join(path)}{sep}{value}" for path, value in fix.edits)
    return f"{text} ({fix.note})" if fix.note else text


_RESOURCE_HEAD = {
    "terraform": re.compile(r'^resource\s+"([A-Za-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"', re.M),
    "bicep": re.compile(r"^resource\s+([A-Za-z0-9_]+)\s+'([A-Za-z0-9./]+)@[^']*'\s*=", re.M),
}


def secure_defaults(files: list[GeneratedFile]) -> tuple[list[GeneratedFile], list[AppliedFix]]:
    """``files`` with every fix of :data:`FIXES` made up front where its resource is.

    The generator calls this, so that what the fixer knows is in the code from the start
    and the loop's first checkov run finds only what needs a person (one validation
    instead of two or three). Each edit is recorded as an :class:`AppliedFix` of
    iteration 0.
    """
    out: list[GeneratedFile] = []
    applied: list[AppliedFix] = []
    for file in files:
        if file.language not in _RESOURCE_HEAD or not file.path.endswith((".tf", ".bicep")):
            out.append(file)
            continue
        text = file.content
        for match in _RESOURCE_HEAD[file.language].finditer(file.content):
            a, b = match.groups()
            type_, name = (a, b) if file.language == "terraform" else (b, a)
            for (language, code), fix in FIXES.items():
                if language != file.language or type_ not in fix.resource_types:
                    continue
                where = Where(file.path, None, f"{type_}.{name}")
                try:
                    text = apply_fix(text, where, fix)
                except FixError:
                    continue
                applied.append(
                    AppliedFix(
                        code=code,
                        file=file.path,
                        resource=f"{type_}.{name}",
                        change=describe_fix(fix, language),
                        iteration=0,
                    )
                )
        if file.language == "terraform":
            text = format_hcl(text)
        out.append(GeneratedFile(path=file.path, content=text, language=file.language))
    return out, applied
