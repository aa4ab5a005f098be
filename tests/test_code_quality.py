"""code_quality and code_quality_fixer: syntax errors, checkov findings, fixes, reasons.

Tests marked ``slow`` run the real checkov (about 3 s a run) over hand-written modules:
a broken module (a syntax error and an insecure setting) through the feedback loop, and
a loop that reaches its iteration limit because the failing resource is in a file the
fixer cannot edit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents.base import Agent, AgentConfig
from agents.synthforge.iac.code_quality import (
    SYNTAX,
    CheckovError,
    CodeQualityAgent,
    syntax_issue,
    validate,
)
from agents.synthforge.iac.fixer import (
    DEFAULT_REASON,
    FIXES,
    CodeQualityFixerAgent,
    FixError,
    apply_fix,
    can_fix,
    fix_modules,
    parse_location,
)
from agents.synthforge.iac.models import (
    AppliedSecurity,
    FixModulesRequest,
    GeneratedFile,
    GeneratedModules,
)
from orchestration.patterns.feedback_loop import FeedbackLoop, Issue

STORAGE_TLS10 = """\
resource "azurerm_storage_account" "legacy" {
  name                            = "stlegacy01"
  resource_group_name             = "rg-legacy"
  location                        = "westeurope"
  account_tier                    = "Standard"
  account_replication_type        = "GRS"
  min_tls_version                 = "TLS1_0"
  allow_nested_items_to_be_public = false
}
"""

BROKEN = """\
resource "azurerm_resource_group" "this" {
  name     = "rg-broken"
  location =
}
"""


def modules(
    *files: tuple[str, str], applied: list[AppliedSecurity] | None = None
) -> GeneratedModules:
    return GeneratedModules(
        source="hand-written",
        iac="terraform" if all(p.endswith((".tf", ".json")) for p, _ in files) else "both",
        files=[
            GeneratedFile(
                path=path,
                content=text,
                language="bicep" if path.endswith(".bicep") else "terraform",
            )
            for path, text in files
        ],
        applied=applied or [],
    )


# --------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("path", "text", "line"),
    [
        pytest.param("modules/rg/main.tf", BROKEN, 3, id="terraform-missing-value"),
        pytest.param(
            "main.bicep",
            "param location string\n\n"
            "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n"
            "  name: 'st'\n  location: \n}\n",
            6,
            id="bicep-missing-value",
        ),
        pytest.param(
            "main.bicep",
            "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'st'\n",
            2,
            id="bicep-unclosed-block",
        ),
    ],
)
def test_syntax_error_is_an_issue_with_file_and_line(path: str, text: str, line: int) -> None:
    file = GeneratedFile(
        path=path, content=text, language="bicep" if path.endswith(".bicep") else "terraform"
    )
    issue = syntax_issue(file)
    assert issue is not None
    assert issue.code == SYNTAX
    assert issue.location == f"{path}:{line}"
    assert not issue.fixable


def test_valid_files_have_no_syntax_issue() -> None:
    assert (
        syntax_issue(GeneratedFile(path="x.tf", content=STORAGE_TLS10, language="terraform"))
        is None
    )


# --------------------------------------------------------------------------- fixer (text)


def _where(resource: str, file: str = "modules/st/main.tf") -> str:
    return f"{file}:1 {resource}"


def test_fix_sets_attribute_and_creates_nested_blocks() -> None:
    where = parse_location(_where("module.st.azurerm_storage_account.legacy"))
    assert where is not None
    text = apply_fix(STORAGE_TLS10, where, FIXES[("terraform", "CKV_AZURE_44")])
    assert 'min_tls_version = "TLS1_2"' in text and "TLS1_0" not in text
    text = apply_fix(text, where, FIXES[("terraform", "CKV2_AZURE_38")])
    import hcl2

    resources = hcl2.loads(text)["resource"][0]
    # python-hcl2 8 keeps the labels' quotes; its bc-python-hcl2 fork drops them
    by_type = resources.get("azurerm_storage_account") or resources['"azurerm_storage_account"']
    parsed = by_type.get("legacy") or by_type['"legacy"']
    blob = parsed["blob_properties"][0]
    for policy in ("delete_retention_policy", "container_delete_retention_policy"):
        days = blob[policy][0]["days"]
        assert days in (7, [7])  # python-hcl2 gives 7, its bc-python-hcl2 fork [7]


def test_bicep_fix_edits_nested_properties() -> None:
    text = (
        "resource main 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n"
        "  name: name\n  properties: {\n    minimumTlsVersion: 'TLS1_0'\n  }\n}\n"
    )
    where = parse_location("modules/st.bicep:1 Microsoft.Storage/storageAccounts.main")
    assert where is not None
    fixed = apply_fix(text, where, FIXES[("bicep", "CKV_AZURE_44")])
    assert "minimumTlsVersion: 'TLS1_2'" in fixed
    from pycep import BicepParser

    BicepParser().parse(text=fixed)


def test_fix_of_a_missing_block_says_so() -> None:
    where = parse_location(_where("azurerm_storage_account.other"))
    assert where is not None
    with pytest.raises(FixError, match="azurerm_storage_account other not found"):
        apply_fix(STORAGE_TLS10, where, FIXES[("terraform", "CKV_AZURE_44")])


@pytest.mark.parametrize(
    ("issue", "fixable", "reason"),
    [
        pytest.param(
            Issue(code="CKV_AZURE_44", message="tls", location=_where("azurerm_storage_account.x")),
            True,
            "",
            id="known-check",
        ),
        pytest.param(
            Issue(code="CKV_AZURE_999", message="?", location=_where("azurerm_storage_account.x")),
            False,
            DEFAULT_REASON,
            id="unknown-check",
        ),
        pytest.param(
            Issue(code="CKV2_AZURE_1", message="cmk", location=_where("azurerm_storage_account.x")),
            False,
            "this resource's module does not yet",
            id="known-but-left-to-a-person",
        ),
        pytest.param(
            Issue(code="CKV_AZURE_44", message="tls", location=_where("azurerm_key_vault.x")),
            False,
            "covers azurerm_storage_account only",
            id="other-resource-type",
        ),
        pytest.param(
            Issue(
                code="CKV_AZURE_109",
                message="acl",
                location=_where("module.kv_public.azurerm_key_vault.this"),
            ),
            False,
            "public network access stays enabled (reached from the internet)",
            id="flows-need-public-access",
        ),
        pytest.param(
            Issue(
                code="CKV_AZURE_109",
                message="acl",
                location=_where("module.kv_private.azurerm_key_vault.this"),
            ),
            True,
            "",
            id="private-instance",
        ),
        pytest.param(
            Issue(code=SYNTAX, message="bad", location="main.tf:3", fixable=False),
            False,
            "syntax errors are not fixed",
            id="syntax",
        ),
    ],
)
def test_can_fix(issue: Issue, fixable: bool, reason: str) -> None:
    candidate = modules(
        ("main.tf", ""),
        applied=[
            AppliedSecurity(
                resource_id="a",
                resource_type="Microsoft.KeyVault/vaults",
                module="kv_public",
                public_network_access="Enabled",
                public_access_reason="reached from the internet",
            ),
            AppliedSecurity(
                resource_id="b",
                resource_type="Microsoft.KeyVault/vaults",
                module="kv_private",
                public_network_access="Disabled",
            ),
        ],
    )
    ok, why = can_fix(issue, candidate)
    assert ok is fixable
    assert reason in why


def test_fixer_records_fixes_and_reasons_and_rewrites_the_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "iac"
    candidate = modules(("modules/st/main.tf", STORAGE_TLS10), ("main.tf", "# root\n"))
    candidate.output_dir = str(target)
    issues = [
        Issue(
            code="CKV_AZURE_44",
            message="tls",
            location="modules/st/main.tf:1 module.a.azurerm_storage_account.legacy",
        ),
        # the same module block, reported for a second module instance: fixed once
        Issue(
            code="CKV_AZURE_44",
            message="tls",
            location="modules/st/main.tf:1 module.b.azurerm_storage_account.legacy",
        ),
        Issue(code="CKV_AZURE_17", message="certs", location="main.tf:1 azurerm_linux_web_app.x"),
    ]
    out = fix_modules(FixModulesRequest(candidate=candidate, issues=issues))
    assert [(f.code, f.iteration) for f in out.fixes] == [("CKV_AZURE_44", 1)]
    assert [(u.issue.code, u.reason) for u in out.unfixed] == [
        ("CKV_AZURE_17", "client certificates would be required from every caller; decide per app")
    ]
    assert out.fix_rounds[0].issues_sent == 3 and out.fix_rounds[0].unfixed == 1
    assert 'min_tls_version                 = "TLS1_0"' in candidate.files[0].content  # not mutated
    assert re.search(r'min_tls_version += "TLS1_2"', (target / "modules/st/main.tf").read_text())


def test_missing_checkov_is_one_clear_line() -> None:
    with pytest.raises(CheckovError) as info:
        validate(modules(("main.tf", STORAGE_TLS10)), {"checkov": "no-such-checkov-here"})
    assert "checkov not found (no-such-checkov-here)" in str(info.value)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- with checkov


class CannedModules(Agent[GeneratedModules, GeneratedModules]):
    """A generator that returns the modules it is given (hand-written ones, here)."""

    name = "canned_modules"
    input_model = GeneratedModules
    output_model = GeneratedModules

    async def process(self, data: GeneratedModules) -> GeneratedModules:
        return data


def _loop(max_iterations: int = 3) -> FeedbackLoop:
    return FeedbackLoop(
        CannedModules(),
        CodeQualityAgent(AgentConfig(name="code_quality")),
        CodeQualityFixerAgent(AgentConfig(name="code_quality_fixer")),
        max_iterations=max_iterations,
        name="iac",
    )


@pytest.mark.slow
async def test_broken_module_reports_the_syntax_error_and_fixes_the_insecure_setting() -> None:
    candidate = modules(("broken.tf", BROKEN), ("storage.tf", STORAGE_TLS10))
    result = await _loop().run(candidate)
    first = result.iterations[0]
    found = {(i.code, i.location) for i in first.issues_found}
    assert (SYNTAX, "broken.tf:3") in found
    assert ("CKV_AZURE_44", "storage.tf:1 azurerm_storage_account.legacy") in found
    assert "CKV_AZURE_44" in {i.code for i in first.issues_fixed}
    remaining = {i.code for i in result.remaining_issues}
    assert SYNTAX in remaining  # reported, not "fixed"
    assert "CKV_AZURE_44" not in remaining
    assert not [i for i in result.remaining_issues if i.fixable]
    assert isinstance(result.output, GeneratedModules)
    storage = next(f for f in result.output.files if f.path == "storage.tf")
    assert re.search(r'min_tls_version += "TLS1_2"', storage.content)


@pytest.mark.slow
async def test_loop_stops_at_its_limit_with_the_best_attempt_when_a_check_has_no_fix() -> None:
    """The storage properties come from a variable: the fixer cannot edit them in place."""
    legacy = """\
var storageProperties = {
  minimumTlsVersion: 'TLS1_0'
  supportsHttpsTrafficOnly: true
}

resource legacy 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stlegacy01'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GRS'
  }
  properties: storageProperties
}
"""
    candidate = modules(("main.bicep", legacy))
    result = await _loop(max_iterations=3).run(candidate)
    assert [it.iteration for it in result.iterations] == [1, 2, 3]
    assert not result.valid and result.error is None
    assert isinstance(result.output, GeneratedModules)
    assert result.output.fix_runs == 2  # fix, validate, fix, validate: the limit, not a crash
    tls = [i for i in result.remaining_issues if i.code == "CKV_AZURE_44"]
    assert tls and tls[0].fixable
    reasons = {u.issue.code: u.reason for u in result.output.unfixed}
    assert "properties is set to an expression, not a block" in reasons["CKV_AZURE_44"]
