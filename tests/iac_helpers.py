"""Small hand-made analyses for the IaC tests: Azure resources and the flows between them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from agents.synthforge.models import (
    ArchitectureAnalysis,
    Flow,
    NetworkFlowResult,
    Resource,
    Review,
    ReviewedArchitecture,
)

if TYPE_CHECKING:
    from agents.synthforge.iac.models import GeneratedModules


def analysis(
    source: str, resources: list[tuple[str, str, str]], flows: list[Flow]
) -> ArchitectureAnalysis:
    """An accepted analysis of (id, ARM type, name) Azure resources and ``flows``."""
    arch = ReviewedArchitecture(
        source=source,
        resources=[
            Resource(id=i, name=n, provider="azure", resource_type=t, mapping_source="test")
            for i, t, n in resources
        ],
        review=Review(reviewer="test", method="accept_all"),
    )
    return ArchitectureAnalysis(
        architecture=arch, network=NetworkFlowResult(flows=flows), report_markdown="# r\n"
    )


def files_of(out: GeneratedModules) -> dict[str, str]:
    """Path → content of the generated files."""
    return {f.path: f.content for f in out.files}


def squashed(text: str) -> str:
    """``text`` with every run of white space one space (settings read across lines)."""
    return re.sub(r"\s+", " ", text)


def block_at(text: str, head: str) -> str:
    """The block of ``text`` that starts with ``head``, up to its closing brace."""
    start = text.index(head)
    return text[start : text.index("\n}\n", start) + 2]


def fmt_check(terraform_bin: str, folder: Path) -> str:
    """The files ``terraform fmt -check`` would change, with its diff ('' when clean)."""
    proc = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", "-diff", "-no-color", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 3), proc.stderr  # 3: files need formatting
    return proc.stdout if proc.returncode else ""


def fmt_diff(terraform_bin: str, files: dict[str, str], folder: Path) -> str:
    """What ``terraform fmt -check`` would change in the ``.tf`` of ``files`` (written
    under ``folder``): '' when clean."""
    for path, text in files.items():
        if path.endswith(".tf"):
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
    return fmt_check(terraform_bin, folder)
