"""Generated Terraform is ``terraform fmt`` clean: as generated, and after the fixer's edits.

Needs a ``terraform`` binary on PATH (only ``terraform fmt`` runs: no provider download,
no network). Where it is absent the tests skip with the reason, unless
``FORGEFLOW_REQUIRE_TERRAFORM=1`` (set by ``.ci/run``), which makes that a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from iac_helpers import fmt_check

from agents.synthforge.iac import terraform
from agents.synthforge.iac.corpus import analyse, azure_diagrams
from agents.synthforge.iac.fixer import FIXES, Where, apply_fix
from agents.synthforge.iac.hcl_format import format_hcl
from agents.synthforge.iac.module_development import generate

REPO = Path(__file__).resolve().parent.parent


def write(folder: Path, files: list[tuple[str, str]]) -> int:
    count = 0
    for path, text in files:
        if path.endswith(".tf"):
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            count += 1
    return count


@pytest.mark.corpus
async def test_generated_terraform_of_every_corpus_diagram_is_fmt_clean(
    corpus_diagrams: Path, terraform_bin: str, tmp_path: Path
) -> None:
    written = 0
    for n, diagram in enumerate(azure_diagrams(corpus_diagrams)):
        analysis = await analyse(diagram, REPO / "pipelines" / "synthforge.yaml")
        modules = generate(analysis, {"iac": "terraform"})
        written += write(tmp_path / str(n), [(f.path, f.content) for f in modules.files])
    assert written > 100
    assert fmt_check(terraform_bin, tmp_path) == ""


def test_every_terraform_fix_leaves_its_module_fmt_clean(
    terraform_bin: str, tmp_path: Path
) -> None:
    edited = []
    for kind in terraform.MAIN_RESOURCE:
        text = format_hcl(dict(terraform.module_files(kind))["main.tf"])  # as generated
        for (language, _check), fix in FIXES.items():
            if language != "terraform":
                continue
            for type_ in fix.resource_types:
                if f'resource "{type_}" "this"' in text:
                    text = format_hcl(apply_fix(text, Where("main.tf", 1, f"{type_}.this"), fix))
                    edited.append(type_)
        write(tmp_path / kind, [("main.tf", text)])
    assert len(edited) > 20  # the fixes really edited the modules
    assert fmt_check(terraform_bin, tmp_path) == ""


def test_format_hcl_aligns_as_terraform_fmt_does(terraform_bin: str, tmp_path: Path) -> None:
    text = (
        'resource "x" "y" {\n  a = 1\n  long_name = "v"\n\n  b = [\n    1,\n  ]\n'
        '  cc = "#{not a comment}"\n  # a comment\n  d = 2\n  nested {\n    e = 3\n'
        "    ffff = 4\n  }\n}\n"
    )
    assert fmt_check(terraform_bin, tmp_path) == ""  # nothing there yet
    write(tmp_path, [("raw.tf", text)])
    assert "raw.tf" in fmt_check(terraform_bin, tmp_path)  # the check can fail
    write(tmp_path, [("raw.tf", format_hcl(text))])
    assert fmt_check(terraform_bin, tmp_path) == ""
