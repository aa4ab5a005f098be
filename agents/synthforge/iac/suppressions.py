"""Inline suppressions of checkov checks, from data, each with its stated reason.

A suppression is checkov's own comment in the failing resource's block —
``#checkov:skip=ID:reason`` in HCL, ``// checkov:skip=ID:reason`` in Bicep (checkov's
Bicep runner reads the comments between a resource's first and last line) — and
never silent: ``code_quality`` reports each check checkov skips as an ``accepted``
issue with the reason, and output.json, the report and the run summary list them.
There are two kinds, both tables here:

* :data:`FALSE_POSITIVES` — the code meets the check's intent, but checkov cannot see
  it (it reads only a deprecated argument, or does not evaluate a Bicep parameter).
  Each entry names the real setting (``evidence``); the comment is written only in a
  block where that setting is present, so a suppression never hides a missing one.
* :data:`PUBLIC_CHECKS` — the checks that public network access is disabled. Written
  only in the module of a kind with an instance the flow analysis shows reached
  directly from the internet (``Instance.public_flows``); the reason cites the flows
  (source, protocol/port), "accepted by the diagram". Instances that no such flow
  reaches have public access disabled by the root module all the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.synthforge.iac.fixes import FixError, _children, _depths, find_block
from agents.synthforge.iac.models import GeneratedFile, Language
from agents.synthforge.iac.plan import Plan

FALSE_POSITIVE = "false positive"
ACCEPTED_BY_DIAGRAM = "accepted by the diagram"


@dataclass(frozen=True)
class Suppression:
    """A check suppressed on some resource types, with the reason and its evidence.

    ``evidence`` are (path, value) pairs that must all be set in the block (path as in
    :class:`~agents.synthforge.iac.fixes.Fix`, value as source text), and
    ``in_file`` a pattern that must be found in the same file (a companion resource
    that carries the setting), and ``in_kind`` (kind, pattern) one that must be found in
    the generated module of that kind (the parent that carries it, e.g. the storage
    account of a container), for the comment to be written.
    """

    resource_types: tuple[str, ...]
    reason: str
    evidence: tuple[tuple[tuple[str, ...], str], ...] = ()
    in_file: str | None = None
    in_kind: tuple[str, str] | None = None


_STORAGE_TF = ("azurerm_storage_account",)

#: (language, check id) → the false positive and the real setting that meets it.
FALSE_POSITIVES: dict[tuple[Language, str], Suppression] = {
    ("terraform", "CKV_AZURE_140"): Suppression(
        ("azurerm_cosmosdb_account",),
        f"{FALSE_POSITIVE}: local authentication is off (local_authentication_enabled = "
        "false); checkov reads only local_authentication_disabled, deprecated in azurerm 4.x",
        evidence=((("local_authentication_enabled",), "false"),),
    ),
    ("terraform", "CKV_AZURE_33"): Suppression(
        _STORAGE_TF,
        f"{FALSE_POSITIVE}: queue logging of read, write and delete is set in "
        "azurerm_storage_account_queue_properties.this; checkov reads only the "
        "queue_properties block of azurerm_storage_account, deprecated in azurerm 4.x",
        in_file=r'resource "azurerm_storage_account_queue_properties" "this" \{\n'
        r"\s*storage_account_id\s*=\s*azurerm_storage_account\.this\.id\n\s*\n"
        r"\s*logging \{\n\s*delete\s*=\s*true\n\s*read\s*=\s*true\n"
        r"\s*write\s*=\s*true\n",
    ),
}

FALSE_POSITIVES[("bicep", "CKV_AZURE_206")] = Suppression(
    ("Microsoft.Storage/storageAccounts",),
    f"{FALSE_POSITIVE}: the SKU is the parameter sku, which the module allows to be "
    "only Standard_GRS, Standard_RAGRS, Standard_GZRS or Standard_RAGZRS (geo-redundant; "
    "the root module's default is Standard_GRS); checkov does not evaluate Bicep parameters",
    evidence=((("sku", "name"), "sku"),),
    in_file=r"@allowed\(\[\n  'Standard_GRS'\n  'Standard_RAGRS'\n  'Standard_GZRS'\n"
    r"  'Standard_RAGZRS'\n\]\)\nparam sku string\n",
)

FALSE_POSITIVES[("bicep", "CKV_AZURE_163")] = Suppression(
    ("Microsoft.ContainerRegistry/registries",),
    f"{FALSE_POSITIVE}: the SKU is the parameter sku, which the module allows to be only "
    "Standard or Premium (the root module's default is Premium), the tiers with "
    "vulnerability scanning; checkov does not evaluate Bicep parameters",
    evidence=((("sku", "name"), "sku"),),
    in_file=r"@allowed\(\[\n  'Standard'\n  'Premium'\n\]\)\nparam sku string\n",
)

_AKS_ARM = ("Microsoft.ContainerService/managedClusters",)
FALSE_POSITIVES[("bicep", "CKV_AZURE_6")] = Suppression(
    _AKS_ARM,
    f"{FALSE_POSITIVE}: the API server is private (apiServerAccessProfile."
    "enablePrivateCluster: true), and a private cluster takes no authorized IP ranges; "
    "checkov's Terraform check passes a private cluster, its Bicep one does not",
    evidence=((("properties", "apiServerAccessProfile", "enablePrivateCluster"), "true"),),
)
FALSE_POSITIVES[("bicep", "CKV_AZURE_172")] = Suppression(
    _AKS_ARM,
    f"{FALSE_POSITIVE}: secret rotation is on (azureKeyvaultSecretsProvider config "
    "enableSecretRotation: 'true'; the add-on's config values are strings in the ARM "
    "schema); checkov expects a boolean there",
    evidence=(
        (
            (
                "properties",
                "addonProfiles",
                "azureKeyvaultSecretsProvider",
                "config",
                "enableSecretRotation",
            ),
            "'true'",
        ),
    ),
)

#: A site's sign-in settings, the config named authsettingsV2. checkov's Bicep checks of
#: Microsoft.Web/sites/config read every such config as if it were the site's web config.
_SITE_CONFIG = ("Microsoft.Web/sites/config",)
_AUTH_V2 = ((("name",), "'authsettingsV2'"),)
_NOT_IN_AUTH = (
    "checkov reads {prop} from every Microsoft.Web/sites/config, and this one is the "
    "authsettingsV2 (sign-in) config, which has no such property"
)
FALSE_POSITIVES[("bicep", "CKV_AZURE_13")] = Suppression(
    _SITE_CONFIG,
    f"{FALSE_POSITIVE}: App Service authentication is on (this authsettingsV2 config: "
    "platform.enabled: true, Microsoft Entra sign-in required); checkov reads enabled of "
    "the older authsettings config, which authsettingsV2 does not have (its check "
    "CKV_AZURE_56 reads platform.enabled here and passes)",
    evidence=(*_AUTH_V2, (("properties", "platform", "enabled"), "true")),
)
#: (check, why it is a false positive, the property it reads, what the file says instead).
_READ_FROM_AUTH_V2 = [
    (
        code,
        f"{what} is on in the site's siteConfig ({prop}: true)",
        prop,
        rf"\n    siteConfig: \{{\n(?:      [^\n]*\n)*?      {prop}: true\n",
    )
    for code, what, prop in (
        ("CKV_AZURE_63", "HTTP logging", "httpLoggingEnabled"),
        ("CKV_AZURE_65", "detailed error logging", "detailedErrorLoggingEnabled"),
        ("CKV_AZURE_66", "failed request tracing", "requestTracingEnabled"),
    )
]
_READ_FROM_AUTH_V2 += [
    (
        "CKV_AZURE_80",
        "the app runs on Linux (its kind ends in ',linux'), where no .NET Framework version "
        "applies (checkov's Terraform check is for Windows apps only)",
        "netFrameworkVersion",
        r"\n  kind: '[a-z]+,linux'\n",
    ),
    (
        "CKV_AZURE_222",
        "public network access is the site's property (publicNetworkAccess), which checkov "
        "checks on the site itself",
        "publicNetworkAccess",
        r"\n    publicNetworkAccess: publicNetworkAccess\n",
    ),
]
for _code, _why, _prop, _in_file in _READ_FROM_AUTH_V2:
    FALSE_POSITIVES[("bicep", _code)] = Suppression(
        _SITE_CONFIG,
        f"{FALSE_POSITIVE}: {_why}; " + _NOT_IN_AUTH.format(prop=_prop),
        evidence=_AUTH_V2,
        in_file=_in_file,
    )


FALSE_POSITIVES[("terraform", "CKV2_AZURE_31")] = Suppression(
    ("azurerm_subnet",),
    f"{FALSE_POSITIVE}: RouteServerSubnet, Azure Route Server's own subnet, takes no "
    "network security group (Azure refuses one there, as on GatewaySubnet and "
    "AzureFirewallSubnet, the two subnets the check exempts); checkov does not exempt it",
    evidence=((("name",), '"RouteServerSubnet"'),),
)


FALSE_POSITIVES[("terraform", "CKV_AZURE_26")] = Suppression(
    ("azurerm_mssql_server_security_alert_policy",),
    f"{FALSE_POSITIVE}: the alerts go to email_addresses = var.alert_email_addresses, a "
    "required input of the module that the root module fills from its required input "
    "sql_alert_email_addresses; checkov sees no value in a variable without a default",
    evidence=(
        (("state",), '"Enabled"'),
        (("email_addresses",), "var.alert_email_addresses"),
    ),
)

FALSE_POSITIVES[("terraform", "CKV2_AZURE_22")] = Suppression(
    ("azurerm_cognitive_account",),
    f"{FALSE_POSITIVE}: the account encrypts with the customer-managed key of the root "
    "module's required input customer_managed_key_id (customer_managed_key.key_vault_key_id); "
    "checkov passes only an azurerm_cognitive_account_customer_managed_key connected to an "
    "azurerm_key_vault_key created in the same configuration, and the key is an input here",
    evidence=((("customer_managed_key", "key_vault_key_id"), "var.customer_managed_key_id"),),
)


def _sql_child(type_: str, *settings: str) -> str:
    """A top-level child (``parent: server``) of ``type_`` with ``settings`` (``key:
    value`` lines, in order) in its properties."""
    body = r"\n(?:    [^\n]*\n)*?".join(re.escape(f"    {line}") for line in settings)
    return (
        rf"resource [A-Za-z0-9_]+ '{re.escape(type_)}@[^']+' = \{{\n  parent: [A-Za-z0-9_]+\n"
        rf"(?:  [^\n]*\n)*?  properties: \{{\n(?:    [^\n]*\n)*?{body}\n"
    )


_SQL_DB = ("Microsoft.Sql/servers/databases",)
_SERVER_ALERTS = _sql_child(
    "Microsoft.Sql/servers/securityAlertPolicies",
    "state: 'Enabled'",
    "emailAccountAdmins: true",
    "emailAddresses: alertEmailAddresses",
)
_NESTED = (
    "checkov's check reads a policy only from the database's nested resources array, "
    "which its Bicep parser never produces"
)
FALSE_POSITIVES[("bicep", "CKV_AZURE_26")] = Suppression(
    _SQL_DB,
    f"{FALSE_POSITIVE}: the server's security alert policy, which covers every database "
    "on it, e-mails the required input alertEmailAddresses (root input "
    f"sqlAlertEmailAddresses); {_NESTED}",
    in_file=_SERVER_ALERTS,
)
FALSE_POSITIVES[("bicep", "CKV_AZURE_27")] = Suppression(
    _SQL_DB,
    f"{FALSE_POSITIVE}: the server's security alert policy, which covers every database "
    f"on it, e-mails the admins (emailAccountAdmins: true); {_NESTED}",
    in_file=_SERVER_ALERTS,
)


def _service_logs(service: str) -> str:
    """The storage account module's diagnostic setting that logs ``service`` requests."""
    target = re.escape(f'"${{azurerm_storage_account.this.id}}/{service}Services/default"')
    return (
        rf'resource "azurerm_monitor_diagnostic_setting" "{service}" \{{\n(?:[^\n]*\n){{0,3}}?'
        rf"\s*target_resource_id\s*=\s*{target}\n(?:[^\n]*\n){{0,3}}?"
        r'\s*enabled_log \{\n\s*category = "StorageRead"\n'
    )


_NO_INSIGHTS = (
    "checkov accepts only azurerm_log_analytics_storage_insights, which reads the account "
    "with its access key (the modules turn shared-key access off) and must be connected to "
    "this resource in the same module"
)
for _code, _child, _service in (
    ("CKV2_AZURE_21", "azurerm_storage_container", "blob"),
    ("CKV2_AZURE_20", "azurerm_storage_table", "table"),
):
    FALSE_POSITIVES[("terraform", _code)] = Suppression(
        (_child,),
        f"{FALSE_POSITIVE}: {_service} read, write and delete requests are logged to the "
        "Log Analytics workspace by the storage account module (azurerm_monitor_diagnostic_"
        f"setting.{_service} on {_service}Services/default); {_NO_INSIGHTS}",
        in_kind=("storage_account", _service_logs(_service)),
    )

_WEB = ("azurerm_linux_web_app", "azurerm_windows_web_app")

#: (language, check id) → resource types, for the checks that public network access is
#: disabled; suppressed only where a flow from the internet needs it.
PUBLIC_CHECKS: dict[tuple[Language, str], tuple[str, ...]] = {
    ("terraform", "CKV_AZURE_222"): _WEB,
    ("terraform", "CKV_AZURE_221"): ("azurerm_linux_function_app", "azurerm_windows_function_app"),
    ("bicep", "CKV_AZURE_222"): ("Microsoft.Web/sites",),
    ("terraform", "CKV_AZURE_59"): _STORAGE_TF,
    ("bicep", "CKV_AZURE_59"): ("Microsoft.Storage/storageAccounts",),
    ("terraform", "CKV_AZURE_35"): _STORAGE_TF,
    ("bicep", "CKV_AZURE_35"): ("Microsoft.Storage/storageAccounts",),
    ("terraform", "CKV_AZURE_99"): ("azurerm_cosmosdb_account",),
    ("bicep", "CKV_AZURE_99"): ("Microsoft.DocumentDB/databaseAccounts",),
    ("terraform", "CKV_AZURE_101"): ("azurerm_cosmosdb_account",),
    ("bicep", "CKV_AZURE_101"): ("Microsoft.DocumentDB/databaseAccounts",),
    ("terraform", "CKV_AZURE_189"): ("azurerm_key_vault",),
    ("bicep", "CKV_AZURE_189"): ("Microsoft.KeyVault/vaults",),
    ("terraform", "CKV_AZURE_174"): ("azurerm_api_management",),
    ("bicep", "CKV_AZURE_174"): ("Microsoft.ApiManagement/service",),
    ("terraform", "CKV_AZURE_124"): ("azurerm_search_service",),
    ("bicep", "CKV_AZURE_124"): ("Microsoft.Search/searchServices",),
    ("terraform", "CKV_AZURE_134"): ("azurerm_cognitive_account",),
    ("bicep", "CKV_AZURE_134"): ("Microsoft.CognitiveServices/accounts",),
    ("terraform", "CKV_AZURE_113"): ("azurerm_mssql_server",),
    ("bicep", "CKV_AZURE_113"): ("Microsoft.Sql/servers",),
    ("terraform", "CKV_AZURE_139"): ("azurerm_container_registry",),
    ("bicep", "CKV_AZURE_139"): ("Microsoft.ContainerRegistry/registries",),
}

_HEAD = {
    "terraform": re.compile(r'^resource\s+"([A-Za-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"', re.M),
    "bicep": re.compile(r"^resource\s+([A-Za-z0-9_]+)\s+'([A-Za-z0-9./]+)@[^']*'\s*=", re.M),
}
_MODULE_KIND = re.compile(r"(?:^|/)modules/([a-z0-9_]+)(?:/main\.tf|\.bicep)$")


#: What a reason may hold in a comment: no brackets (the block parsers count them), no
#: line breaks, nothing that could end the comment or start code.
_UNSAFE = re.compile(r"[^A-Za-z0-9 .,;:=_/()'\"+<>→-]")


def comment(language: Language, code: str, reason: str) -> str:
    """checkov's suppression comment for ``code``: one line, the reason kept inert."""
    text = " ".join(_UNSAFE.sub(" ", reason).split())
    mark = "#" if language == "terraform" else "// "
    return f"{mark}checkov:skip={code}:{text}"


def value_at(
    lines: list[str], first: int, last: int, path: tuple[str, ...], language: Language
) -> str | None:
    """The source text set at ``path`` inside the block (first, last), or None."""
    key, rest = path[0], path[1:]
    sep = r"\s*=\s*" if language == "terraform" else r"'?\s*:\s*"
    quote = "" if language == "terraform" else "'?"
    attr = re.compile(rf"^\s*{quote}{re.escape(key)}{sep}(.*?)\s*$")
    block = re.compile(
        rf"^\s*{re.escape(key)}\s*\{{" if language == "terraform" else rf"^\s*'?{key}'?\s*:\s*\{{"
    )
    for i in _children(lines, first, last):
        if rest and block.match(lines[i]):
            return value_at(lines, i, _depths(lines, i), rest, language)
        found = attr.match(lines[i])
        if not rest and found and not block.match(lines[i]):
            return found.group(1)
    return None


def public_reasons(plan: Plan) -> dict[str, str]:
    """Module kind → why public access is accepted, for kinds an internet flow reaches."""
    out: dict[str, str] = {}
    for inst in plan.instances:
        if inst.public_access and inst.public_flows:
            flows = "; ".join(inst.public_flows)
            part = f"{inst.symbol} is reached directly from the internet ({flows})"
            out[inst.kind] = f"{out[inst.kind]}, {part}" if inst.kind in out else part
    return {
        kind: f"{ACCEPTED_BY_DIAGRAM}: {why}; the root module disables public network "
        "access for every other instance"
        for kind, why in out.items()
    }


def _wanted(
    language: Language, type_: str, kind: str | None, public: dict[str, str]
) -> list[tuple[str, Suppression]]:
    out = []
    if kind in public:  # first: where both apply, the diagram's reason is the one given
        out += [
            (code, Suppression(types, public[kind]))
            for (lang, code), types in PUBLIC_CHECKS.items()
            if lang == language and type_ in types
        ]
    return out + [
        (code, supp)
        for (lang, code), supp in FALSE_POSITIVES.items()
        if lang == language and type_ in supp.resource_types
    ]


def suppress_text(
    text: str,
    language: Language,
    kind: str | None,
    public: dict[str, str],
    modules: dict[str, str] | None = None,
) -> str:
    """``text`` with the suppression comments its resource blocks call for (``modules``:
    kind → the text of that kind's module in the same language)."""
    lines = text.split("\n")
    for match in list(_HEAD[language].finditer(text)):
        a, b = match.groups()
        type_, name = (a, b) if language == "terraform" else (b, a)
        for code, supp in _wanted(language, type_, kind, public):
            try:
                first, last = find_block(lines, language, type_, name)
            except FixError:
                continue
            if any(f"checkov:skip={code}:" in line for line in lines[first:last]):
                continue
            if any(
                value_at(lines, first, last, path, language) != value
                for path, value in supp.evidence
            ):
                continue
            if supp.in_file and not re.search(supp.in_file, "\n".join(lines)):
                continue
            if supp.in_kind and not re.search(
                supp.in_kind[1], (modules or {}).get(supp.in_kind[0], "")
            ):
                continue
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())] + "  "
            lines.insert(first + 1, indent + comment(language, code, supp.reason))
    return "\n".join(lines)


def suppress(files: list[GeneratedFile], plan: Plan) -> list[GeneratedFile]:
    """``files`` with the inline suppressions of :data:`FALSE_POSITIVES` (where the real
    setting is present) and :data:`PUBLIC_CHECKS` (in the modules of kinds a flow from
    the internet reaches)."""
    public = public_reasons(plan)
    modules: dict[str, dict[str, str]] = {}
    for file in files:
        found = _MODULE_KIND.search(file.path)
        if found:
            modules.setdefault(file.language, {})[found.group(1)] = file.content
    out = []
    for file in files:
        if file.language not in _HEAD or not file.path.endswith((".tf", ".bicep")):
            out.append(file)
            continue
        found = _MODULE_KIND.search(file.path)
        kind = found.group(1) if found else None
        text = suppress_text(
            file.content, file.language, kind, public, modules.get(file.language, {})
        )
        out.append(file if text == file.content else file.model_copy(update={"content": text}))
    return out
