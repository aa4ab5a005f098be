"""A child resource drawn with its parent (a database with its SQL server) is found on it,
and the cost estimate counts the pair once."""

from __future__ import annotations

import json
from pathlib import Path

from synthforge_fixtures import resource

from agents.synthforge.analysis.children import ancestor_types, drawn_children, drawn_parent
from agents.synthforge.analysis.cost_estimation import estimate
from agents.synthforge.models import Review, ReviewedArchitecture

SERVER = "Microsoft.Sql/servers"
DB = "Microsoft.Sql/servers/databases"


def test_ancestor_types_are_nearest_first_and_none_for_a_top_level_type() -> None:
    assert ancestor_types("Microsoft.Storage/storageAccounts/blobServices/containers") == [
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts",
    ]
    assert ancestor_types(SERVER) == []


def test_the_arm_parent_slash_child_name_picks_the_server() -> None:
    # the shape of a real diagram: two servers, the database beside them (not inside),
    # labelled the way ARM names a child resource
    a = resource("a", "sqlsrv-app-{ENV}", SERVER, "data", ["rg"])
    b = resource("b", "sqlsrv-dwh-{ENV}", SERVER, "data", ["rg"])
    db = resource("db", "SQLSRV-DWH-{ENV}/sqldb-dwh", DB, "data", ["rg"])
    assert drawn_parent(db, [a, b, db]) is b


def test_the_enclosing_box_picks_the_server() -> None:
    a = resource("a", "orders server", SERVER, "data", ["rg"])
    b = resource("b", "billing server", SERVER, "data", ["rg"])
    db = resource("db", "billing", DB, "data", ["rg", "b"])
    assert drawn_parent(db, [a, b, db]) is b


def test_the_only_server_of_the_diagram_is_the_one() -> None:
    server = resource("s", "sql", SERVER, "data", [])
    db = resource("db", "orders", DB, "data", [])
    assert drawn_children([server, db]) == {"s": [db]}


def test_several_servers_and_nothing_to_tell_them_apart_leaves_it_unresolved() -> None:
    a = resource("a", "one", SERVER, "data", [])
    b = resource("b", "two", SERVER, "data", [])
    db = resource("db", "orders", DB, "data", [])
    assert drawn_parent(db, [a, b, db]) is None
    assert drawn_children([a, b, db]) == {}


def test_a_top_level_resource_or_one_without_its_parent_drawn_has_none() -> None:
    db = resource("db", "orders", DB, "data", [])
    kv = resource("kv", "vault", "Microsoft.KeyVault/vaults", "security", [])
    assert drawn_parent(db, [db, kv]) is None and drawn_parent(kv, [db, kv]) is None


def _arch(*resources):  # type: ignore[no-untyped-def]
    return ReviewedArchitecture(
        source="x.drawio",
        resources=list(resources),
        review=Review(reviewer="t", method="accept_all"),
    )


def test_a_server_with_its_database_drawn_is_priced_once() -> None:
    server = resource("s", "sqlsrv", SERVER, "data", [])
    db = resource("db", "sqlsrv/orders", DB, "data", [])
    alone = estimate(_arch(resource("s2", "sqlsrv", SERVER, "data", [])))
    pair = estimate(_arch(server, db))
    # alone, the server is priced as the one database it needs
    assert alone.total_monthly > 0
    by_id = {i.resource_id: i for i in pair.items}
    assert by_id["s"].monthly_cost == 0.0
    assert "priced on its own" in by_id["s"].assumptions[0]
    assert by_id["db"].monthly_cost == alone.total_monthly
    assert pair.total_monthly == alone.total_monthly


def test_a_blob_container_named_after_its_account_gets_that_account_in_the_modules() -> None:
    from iac_helpers import analysis

    from agents.synthforge.iac.module_development import generate

    shop = analysis(
        "shop__two-accounts__architecture.drawio",
        [
            ("logs", "Microsoft.Storage/storageAccounts", "stlogs"),
            ("web", "Microsoft.Storage/storageAccounts", "stweb"),
            ("c", "Microsoft.Storage/storageAccounts/blobServices/containers", "stweb/images"),
        ],
        [],
    )
    root = {f.path: f.content for f in generate(shop, {"iac": "terraform"}).files}["main.tf"]
    block = root.split('source      = "./modules/storage_container"', 1)[1].split("}", 1)[0]
    assert "parent_id   = module.storage_account_stweb.id" in block


_SQL_SERVER, _SQL_DB = "Microsoft.Sql/servers", "Microsoft.Sql/servers/databases"


def _sql_modules(resources: list[tuple[str, str, str]]) -> dict[str, str]:
    from iac_helpers import analysis

    from agents.synthforge.iac.module_development import generate

    made = analysis("shop__sql__architecture.drawio", resources, [])
    out = generate(made, {"iac": "both"})
    files = {f.path: f.content for f in out.files}
    files["warnings"] = "\n".join(out.warnings)
    return files


def test_databases_drawn_on_their_server_are_deployed_by_its_module_by_name() -> None:
    files = _sql_modules(
        [
            ("srv", _SQL_SERVER, "sqlsrv-shop"),
            ("orders", _SQL_DB, "sqlsrv-shop/sqldb-orders"),
            ("billing", _SQL_DB, "sqlsrv-shop/Billing"),
        ]
    )
    root = files["terraform/main.tf"]
    assert root.count('source                        = "./modules/mssql_database"') == 1
    assert "database_names                = var.mssql_database_sqlsrv_shop_database_names" in root
    variables = files["terraform/variables.tf"]
    block = variables.split('variable "mssql_database_sqlsrv_shop_database_names" {', 1)[1]
    default = block.split("default     = ", 1)[1].split("\n", 1)[0]
    names = json.loads(default)
    assert len(names) == 2 and names[0].startswith("sqldb-orders-")
    assert names[1].startswith("sqldb-billing-")  # the kind's prefix, once
    module = files["terraform/modules/mssql_database/main.tf"]
    assert "for_each       = toset(local.database_names)" in module
    assert 'length(var.database_names) > 0 ? var.database_names : ["sqldb-${var.name}"]' in module
    bicep_root = files["bicep/main.bicep"]
    assert bicep_root.count("'modules/mssql_database.bicep'") == 1
    assert "databaseNames: mssqlDatabaseSqlsrvShopDatabaseNames" in bicep_root
    assert (
        "[for item in (empty(databaseNames) ? ['sqldb-${name}'] : databaseNames): {"
        in (files["bicep/modules/mssql_database.bicep"])
    )
    assert "'sqlsrv-shop/sqldb-orders' is drawn on 'sqlsrv-shop'" in files["warnings"]


def test_a_database_whose_server_is_not_drawn_or_is_ambiguous_gets_a_server_of_its_own() -> None:
    alone = _sql_modules([("orders", _SQL_DB, "orders")])
    assert alone["terraform/main.tf"].count('"./modules/mssql_database"') == 1
    assert "database_names" not in alone["terraform/main.tf"]
    two = _sql_modules(
        [("a", _SQL_SERVER, "one"), ("b", _SQL_SERVER, "two"), ("orders", _SQL_DB, "orders")]
    )
    assert two["terraform/main.tf"].count('"./modules/mssql_database"') == 3
    assert "is drawn on" not in two["warnings"]


def test_the_folded_modules_fit_the_references_and_terraform_fmt(
    terraform_bin: str, tmp_path: Path
) -> None:
    from conftest import require_corpus
    from iac_helpers import fmt_check
    from iac_reference import check_files

    files = _sql_modules(
        [("srv", _SQL_SERVER, "sqlsrv-shop"), ("orders", _SQL_DB, "sqlsrv-shop/orders")]
    )
    del files["warnings"]
    problems = check_files(require_corpus("azure-schemas"), list(files.items()))
    assert not problems, "\n".join(problems)
    for path, text in files.items():
        if path.endswith(".tf"):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text, encoding="utf-8")
    assert fmt_check(terraform_bin, tmp_path) == ""
