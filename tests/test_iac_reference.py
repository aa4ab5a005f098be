"""The generated modules against the providers' own reference data, for every corpus diagram.

``../shared/corpus/azure-schemas`` holds azurerm 4.x's resources, arguments and nested
blocks (required, deprecated, computed-only) and Azure's Bicep type definitions (API
versions, property trees, read-only flags), both extracted from the upstream repositories
(see its ``SOURCES.md``). :mod:`iac_reference` checks files against them; these tests run
it over the modules of every Azure corpus diagram, over the fixer's edits, and over
snippets with known mistakes (so a checker that finds nothing cannot pass for a clean
result).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import require_corpus
from iac_reference import (
    azurerm_schema,
    bicep_types,
    check_bicep_file,
    check_files,
    check_terraform_file,
)

from agents.synthforge.iac.corpus import analyse, azure_diagrams
from agents.synthforge.iac.fixer import FIXES
from agents.synthforge.iac.models import GeneratedModules
from agents.synthforge.iac.module_development import generate

pytestmark = [pytest.mark.corpus]

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipelines" / "synthforge.yaml"


@pytest.fixture(scope="module")
def schemas() -> Path:
    return require_corpus("azure-schemas")


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    return {}


@pytest.fixture
async def generated(corpus_diagrams: Path, shared: dict[str, Any]) -> dict[str, GeneratedModules]:
    """Terraform and Bicep for every Azure corpus diagram, made once for the module."""
    if "generated" not in shared:
        out = {}
        for diagram in azure_diagrams(corpus_diagrams):
            analysis = await analyse(diagram, PIPELINE)
            out[diagram.name] = generate(analysis, {"iac": "both"})
        shared["generated"] = out
    result: dict[str, GeneratedModules] = shared["generated"]
    return result


def test_every_corpus_diagram_fits_azurerm_4_and_the_bicep_types(
    generated: dict[str, GeneratedModules], schemas: Path
) -> None:
    problems = []
    terraform = bicep = 0
    for name, modules in generated.items():
        files = [(f.path, f.content) for f in modules.files]
        terraform += sum(1 for p, _ in files if p.endswith(".tf"))
        bicep += sum(1 for p, _ in files if p.endswith(".bicep"))
        problems += [f"{name}: {p}" for p in check_files(schemas, files)]
    assert not problems, "\n".join(problems[:40])
    assert terraform > 100 and bicep > 30  # the check saw real output


def _schema_path(entry: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """Why ``path`` (blocks…, argument) is not a settable azurerm argument, or None."""
    node = entry
    for part in path[:-1]:
        if node.get("arguments", {}).get(part, {}).get("deprecated"):
            return f"block {part!r} is deprecated"
        if part not in node.get("blocks", {}):
            return f"no block {part!r}"
        node = node["blocks"][part]
    spec = node.get("arguments", {}).get(path[-1])
    if spec is None or path[-1] in node.get("blocks", {}):
        return f"no argument {path[-1]!r}"
    if spec.get("deprecated") or spec.get("computed"):
        return f"argument {path[-1]!r} is deprecated or computed"
    return None


def test_every_terraform_fix_sets_a_real_azurerm_argument(schemas: Path) -> None:
    schema = azurerm_schema(schemas)
    problems = []
    for (language, check), fix in FIXES.items():
        if language != "terraform":
            continue
        for type_ in fix.resource_types:
            for path, _ in fix.edits:
                why = _schema_path(schema[type_], path)
                if why:
                    problems.append(f"{check} on {type_}: {'.'.join(path)}: {why}")
    assert not problems, "\n".join(problems)


def test_every_bicep_fix_sets_a_writable_property(schemas: Path) -> None:
    from agents.synthforge.iac import bicep

    types = bicep_types(schemas)
    used = bicep.api_versions()
    problems = []
    for (language, check), fix in FIXES.items():
        if language != "bicep":
            continue
        for type_ in fix.resource_types:
            tree = types[type_.lower()]["schemas"][used[type_]]
            for path, _ in fix.edits:
                node: dict[str, Any] = {"properties": tree}
                for part in path:
                    props = node.get("properties") or {}
                    if part not in props and isinstance(node.get("additionalProperties"), dict):
                        node = node["additionalProperties"]
                        continue
                    node = props.get(part, {})
                    if not node or node.get("readonly"):
                        problems.append(f"{check} on {type_}: {'.'.join(path)}: not writable")
                        break
    assert not problems, "\n".join(problems)


BAD_TERRAFORM = """\
resource "azurerm_monitor_diagnostic_setting" "this" {
  name               = "diag"
  target_resource_id = "x"

  metric {
    category = "AllMetrics"
  }
}

resource "azurerm_key_vault" "this" {
  name                      = "kv"
  location                  = "westeurope"
  resource_group_name       = "rg"
  enable_rbac_authorization = true
  no_such_argument          = 1
}
"""

BAD_BICEP = """\
resource acr 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: 'cr'
  location: 'westeurope'
  properties: {
    anonymousPullEnabled: false
  }
}

resource psql 'Microsoft.DBforPostgreSQL/flexibleServers@2022-12-01' = {
  name: 'psql'
  location: 'westeurope'
  properties: {
    network: {
      publicNetworkAccess: 'Disabled'
    }
  }
}

resource nope 'Microsoft.Web/sites@1999-01-01' = {
  name: 'x'
}
"""


def test_the_checks_find_known_mistakes(schemas: Path) -> None:
    tf = check_terraform_file("main.tf", BAD_TERRAFORM, azurerm_schema(schemas))
    assert any("block 'metric' is deprecated" in p for p in tf)
    assert any("'enable_rbac_authorization' is deprecated" in p for p in tf)
    assert any("unknown argument 'no_such_argument'" in p for p in tf)
    assert any("required argument 'tenant_id' is missing" in p for p in tf)
    assert any("required argument 'sku_name' is missing" in p for p in tf)
    bicep = check_bicep_file("main.bicep", BAD_BICEP, bicep_types(schemas))
    assert any("unknown property 'anonymousPullEnabled'" in p for p in bicep)
    assert any("'publicNetworkAccess' is read-only" in p for p in bicep)
    assert any("API version 1999-01-01 does not exist" in p for p in bicep)


SQL_CHILDREN = """\
resource main 'Microsoft.Sql/servers@2021-11-01' existing = {
  name: 'sql'
}

resource auditing 'Microsoft.Sql/servers/auditingSettings@2021-11-01' = {
  parent: main
  name: 'default'
  properties: {
    state: 'Enabled'
    retentionDays: 90
    noSuchProperty: true
  }
}

resource alerts 'Microsoft.Sql/servers/securityAlertPolicies@2021-11-01' = {
  parent: main
  name: 'Default'
  properties: {
    state: 'Enabled'
    creationTime: '2024-01-01'
  }
}
"""


def test_the_bicep_supplement_adds_only_types_the_excerpt_lacks(schemas: Path) -> None:
    import json

    from iac_reference import BICEP_EXTRA

    excerpt = json.loads((schemas / "bicep" / "types.json").read_text(encoding="utf-8"))
    extra = json.loads(BICEP_EXTRA.read_text(encoding="utf-8"))
    assert extra and not {k.lower() for k in excerpt} & {k.lower() for k in extra}
    problems = check_bicep_file("main.bicep", SQL_CHILDREN, bicep_types(schemas))
    assert len(problems) == 2, problems  # the types are known, their trees are checked
    assert any("unknown property 'noSuchProperty'" in p for p in problems)
    assert any("'creationTime' is read-only" in p for p in problems)


SITE_CONFIGS = """\
resource main 'Microsoft.Web/sites@2023-12-01' existing = {
  name: 'app'
}

resource auth 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: main
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    httpLoggingEnabled: true
  }
}

resource web 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: main
  name: 'web'
  properties: {
    httpLoggingEnabled: true
  }
}

resource typo 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: main
  name: 'authSettingsV3'
}
"""


def test_a_discriminated_body_is_checked_by_its_variant(schemas: Path) -> None:
    """A site's config is one type with a variant per name: each config's properties
    are its name's (the web config has httpLoggingEnabled, the sign-in config not)."""
    problems = check_bicep_file("main.bicep", SITE_CONFIGS, bicep_types(schemas))
    assert len(problems) == 2, problems
    assert any("auth (" in p and "unknown property 'httpLoggingEnabled'" in p for p in problems)
    assert any("typo (" in p and "name 'authSettingsV3' is not one of" in p for p in problems)


def test_module_calls_must_match_the_modules_variables() -> None:
    from iac_reference import check_terraform_modules

    files = {
        "main.tf": 'module "a" {\n  source = "./modules/x"\n  nmae   = "typo"\n}\n',
        "modules/x/variables.tf": 'variable "name" {\n  type = string\n}\n',
    }
    problems = check_terraform_modules(files)
    assert any("passes 'nmae'" in p for p in problems)
    assert any("required variable 'name'" in p for p in problems)


def test_at_least_90_percent_of_typed_azure_resources_get_a_module(
    generated: dict[str, GeneratedModules],
) -> None:
    total = covered = 0
    for modules in generated.values():
        azure_skipped = [s for s in modules.skipped if not s.reason.startswith("provider ")]
        instances = [a for a in modules.applied if not a.resource_id.startswith("added:")]
        total += len(instances) + len(azure_skipped)
        covered += len(instances)
        assert all(s.reason for s in azure_skipped)  # the rest are listed with why
    assert total > 250
    assert covered / total >= 0.9, f"{covered} of {total}"


#: Azure's naming rules per rule name of ``data/iac_kinds.json`` (characters; the length
#: comes from each kind's ``max``).
NAME_RULES = {
    "alnum": r"[a-z0-9]+",  # storage accounts, registries: globally unique, no hyphens
    "alpha": r"[a-z][a-z0-9]*",  # storage tables: start with a letter
    "hyphen": r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]",
    "lower": r"[a-z0-9][a-z0-9-]*[a-z0-9]",
    "dns": r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}",
}


async def test_default_names_follow_azure_naming_rules(corpus_diagrams: Path) -> None:
    import re

    from agents.synthforge.iac.module_development import _kind_entry, build_plan, load_kinds

    assert {e["name"] for e in load_kinds().values()} <= set(NAME_RULES)
    checked = 0
    for diagram in azure_diagrams(corpus_diagrams):
        plan = build_plan(await analyse(diagram, PIPELINE), {})
        names = [i.name_default for i in plan.instances]
        for inst in plan.instances:
            rule = _kind_entry(inst.resource.resource_type)  # the ARM type's naming rule
            assert rule is not None, inst.resource.resource_type
            name = inst.name_default
            assert re.fullmatch(NAME_RULES[rule["name"]], name), (inst.kind, name)
            assert 1 < len(name) <= rule["max"], (inst.kind, name)
            checked += 1
        # globally unique names (storage, registries, vaults, apps) differ within a diagram
        assert len(names) == len(set(names)), diagram.name
    assert checked > 250
