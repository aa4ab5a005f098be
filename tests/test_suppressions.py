"""Inline checkov suppressions: written from data, only with their evidence, never silent.

A small analysis built here (a web app the internet reaches over HTTPS, a storage account
only the web app reaches, a Cosmos DB account with local authentication off) is
generated; the suppression comments must be where the tables say, with the real setting
beside them, and nowhere else. The ``slow`` tests run the real checkov: it must report
each suppressed check skipped (Terraform and Bicep alike), and the loop's output, report
and run summary list them with their reasons.
"""

from __future__ import annotations

import re

import pytest
from iac_helpers import analysis, files_of

from agents.base import AgentConfig
from agents.synthforge.iac.code_quality import CodeQualityAgent, accepted_issue, skipped
from agents.synthforge.iac.fixer import CodeQualityFixerAgent
from agents.synthforge.iac.models import GeneratedModules
from agents.synthforge.iac.module_development import ModuleDevelopmentAgent, generate
from agents.synthforge.iac.suppressions import (
    ACCEPTED_BY_DIAGRAM,
    FALSE_POSITIVE,
    FALSE_POSITIVES,
    comment,
    suppress_text,
    value_at,
)
from agents.synthforge.models import ArchitectureAnalysis, Flow
from orchestration.patterns.feedback_loop import FeedbackLoop


def make_analysis() -> ArchitectureAnalysis:
    return analysis(
        "shop__web__architecture.drawio",
        [
            ("web", "Microsoft.Web/sites", "Shop Front"),
            ("st", "Microsoft.Storage/storageAccounts", "Uploads"),
            ("cosmos", "Microsoft.DocumentDB/databaseAccounts", "Orders"),
        ],
        [
            Flow(source="internet", target="web", protocol="HTTPS", port=443, private=False),
            Flow(source="web", target="st", protocol="HTTPS", port=443, private=False),
        ],
    )


def _skips(text: str) -> dict[str, str]:
    """check id → reason of the suppression comments in ``text``."""
    return dict(re.findall(r"checkov:skip=([A-Z0-9_]+):(.*)", text))


def test_public_access_is_accepted_only_where_a_flow_from_the_internet_needs_it() -> None:
    files = files_of(generate(make_analysis(), {"iac": "both"}))
    for path in ("terraform/modules/web_app/main.tf", "bicep/modules/web_app.bicep"):
        site = files[path].split("resource authSettings ")[0]  # the site, not its sign-in
        reason = _skips(site)["CKV_AZURE_222"]
        assert reason.startswith(ACCEPTED_BY_DIAGRAM)
        assert "internet → web_app_shop_front (HTTPS/443)" in reason
    # the storage account is reached from the web app only: no public need, no skip
    for path in (
        "terraform/modules/storage_account/main.tf",
        "bicep/modules/storage_account.bicep",
    ):
        assert not {"CKV_AZURE_59", "CKV_AZURE_35"} & set(_skips(files[path]))
    assert "public_network_access_enabled = false" in re.sub(
        r"\s+", " ", files["terraform/main.tf"].split('module "storage_account')[1]
    )


def test_a_false_positive_is_suppressed_only_beside_the_real_setting() -> None:
    files = files_of(generate(make_analysis(), {"iac": "terraform"}))
    cosmos = files["modules/cosmosdb_account/main.tf"]
    reason = _skips(cosmos)["CKV_AZURE_140"]
    assert reason.startswith(FALSE_POSITIVE) and "local_authentication_enabled = false" in reason
    lines = cosmos.split("\n")
    first = next(i for i, line in enumerate(lines) if "azurerm_cosmosdb_account" in line)
    last = next(i for i in range(first, len(lines)) if lines[i] == "}")
    assert value_at(lines, first, last, ("local_authentication_enabled",), "terraform") == "false"
    storage = files["modules/storage_account/main.tf"]
    assert "CKV_AZURE_33" in _skips(storage)
    assert re.search(
        r'resource "azurerm_storage_account_queue_properties" "this" \{[^}]*'
        r"logging \{\s*delete\s*=\s*true\s*read\s*=\s*true\s*write\s*=\s*true",
        storage,
    )
    # without the setting there is no suppression: the check fails honestly
    plain = 'resource "azurerm_cosmosdb_account" "this" {\n  name = var.name\n}\n'
    assert suppress_text(plain, "terraform", "cosmosdb_account", {}) == plain
    wrong = plain.replace("name = var.name", "local_authentication_enabled = true")
    assert "checkov:skip" not in suppress_text(wrong, "terraform", "cosmosdb_account", {})


def test_every_false_positive_names_its_evidence_and_says_it_is_one() -> None:
    for (language, code), supp in FALSE_POSITIVES.items():
        assert supp.evidence or supp.in_file or supp.in_kind, (language, code)
        assert supp.reason.startswith(f"{FALSE_POSITIVE}: "), code


def test_the_reason_is_one_inert_line() -> None:
    text = comment("bicep", "CKV_AZURE_222", "x\n}\nresource evil {\n  # y")
    assert "\n" not in text and "{" not in text and "}" not in text
    assert text.startswith("// checkov:skip=CKV_AZURE_222:")
    assert comment("terraform", "CKV_AZURE_1", "ok").startswith("#checkov:skip=CKV_AZURE_1:ok")


def test_a_skipped_check_is_an_accepted_issue_with_its_reason() -> None:
    check = {
        "check_id": "CKV_AZURE_222",
        "check_name": "public access",
        "file_path": "/terraform/modules/web_app/main.tf",
        "file_line_range": [12, 40],
        "resource": "module.web.azurerm_linux_web_app.this",
        "check_result": {"result": "SKIPPED", "suppress_comment": "accepted by the diagram: x"},
    }
    assert skipped(check) and not skipped({**check, "check_result": {"result": "FAILED"}})
    issue = accepted_issue(check)
    assert issue.code == "CKV_AZURE_222" and not issue.fixable
    assert issue.reason == "accepted by the diagram: x"
    assert (
        issue.location
        == "terraform/modules/web_app/main.tf:12 module.web.azurerm_linux_web_app.this"
    )


@pytest.mark.slow
async def test_checkov_skips_each_suppressed_check_and_the_output_lists_them() -> None:
    loop = FeedbackLoop(
        ModuleDevelopmentAgent(AgentConfig(name="module_development", settings={"iac": "both"})),
        CodeQualityAgent(AgentConfig(name="code_quality")),
        CodeQualityFixerAgent(AgentConfig(name="code_quality_fixer")),
        name="iac",
    )
    result = await loop.run(make_analysis())
    assert isinstance(result.output, GeneratedModules)
    written = {
        (path.split("/")[0], code)
        for path, text in files_of(result.output).items()
        for code in _skips(text)
    }
    accepted = {(i.location.split("/")[0], i.code) for i in result.accepted if i.location}
    assert written and written == accepted  # every comment honoured, Bicep included
    assert result.output.accepted == result.accepted
    assert all(i.reason and not i.fixable for i in result.accepted)
    assert not {i.code for i in result.remaining_issues} & {c for _, c in written}
    report = result.output.report_markdown
    assert "## Checks suppressed with a reason" in report and "CKV_AZURE_222" in report


def test_a_child_false_positive_needs_the_setting_in_its_parent_module() -> None:
    """A blob container's read logging is the storage account module's diagnostic setting
    of the blob service: the container's suppression is written only when it is there."""
    shop = analysis(
        "shop__files__architecture.drawio",
        [
            ("st", "Microsoft.Storage/storageAccounts", "Files"),
            ("c", "Microsoft.Storage/storageAccounts/blobServices/containers", "Uploads"),
        ],
        [],
    )
    files = files_of(generate(shop, {"iac": "terraform"}))
    account = files["modules/storage_account/main.tf"]
    assert re.search(
        r'resource "azurerm_monitor_diagnostic_setting" "blob" \{[\s\S]*?'
        r'/blobServices/default"[\s\S]*?category = "StorageRead"',
        account,
    )
    container = files["modules/storage_container/main.tf"]
    assert _skips(container)["CKV2_AZURE_21"].startswith(FALSE_POSITIVE)
    plain = container.replace(container.split("\n")[1] + "\n", "", 1)
    assert "checkov:skip" not in plain
    no_logs = {"storage_account": account.split('resource "azurerm_monitor_diagnostic')[0]}
    assert "checkov:skip" not in suppress_text(plain, "terraform", "storage_container", {}, no_logs)
    assert "CKV2_AZURE_21" in suppress_text(
        plain, "terraform", "storage_container", {}, {"storage_account": account}
    )


def _sql_analysis() -> ArchitectureAnalysis:
    return analysis(
        "shop__sql__architecture.drawio",
        [
            ("web", "Microsoft.Web/sites", "Shop Front"),
            ("sql", "Microsoft.Sql/servers", "Orders DB"),
            ("ai", "Microsoft.CognitiveServices/accounts", "Language"),
            ("log", "Microsoft.OperationalInsights/workspaces", "Logs"),
        ],
        [
            Flow(source="internet", target="web", protocol="HTTPS", port=443, private=False),
            Flow(source="web", target="sql", protocol="TCP", port=1433, private=True),
        ],
    )


def test_sql_alerts_and_cognitive_keys_are_suppressed_beside_their_settings() -> None:
    files = files_of(generate(_sql_analysis(), {"iac": "both"}))
    tf = files["terraform/modules/mssql_database/main.tf"]
    reason = _skips(tf)["CKV_AZURE_26"]
    assert reason.startswith(FALSE_POSITIVE) and "sql_alert_email_addresses" in reason
    assert "email_addresses      = var.alert_email_addresses" in tf
    cognitive = _skips(files["terraform/modules/cognitive_account/main.tf"])
    assert "customer_managed_key_id" in cognitive["CKV2_AZURE_22"]
    bicep = files["bicep/modules/mssql_database.bicep"]
    for code in ("CKV_AZURE_26", "CKV_AZURE_27"):
        assert _skips(bicep)[code].startswith(FALSE_POSITIVE), code
    # written in the database's block, not the server's (whose checks pass on their own);
    # none for checkov's Bicep graph checks (CKV_AZURE_23, 25), which ignore the comments
    database = bicep.split("resource database ")[1].split("\n}\n")[0]
    assert database.count("checkov:skip=") == 2
    assert not {"CKV_AZURE_23", "CKV_AZURE_25"} & set(_skips(bicep))
    # without the server's policy (or with alerts to nobody), the database's checks fail
    for setting in ("emailAddresses: alertEmailAddresses", "state: 'Enabled'"):
        text = bicep.replace(setting, "state: 'Disabled'")
        text = re.sub(r"\n *// checkov:skip=[^\n]*", "", text)
        left = _skips(suppress_text(text, "bicep", "mssql_database", {}))
        assert not {"CKV_AZURE_26", "CKV_AZURE_27"} & set(left), setting
    plain_tf = re.sub(r"\n *#checkov:skip=[^\n]*", "", tf).replace(
        "var.alert_email_addresses", "[]"
    )
    assert "CKV_AZURE_26" not in _skips(suppress_text(plain_tf, "terraform", "mssql_database", {}))
