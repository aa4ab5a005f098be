"""Which typed Azure resources of the corpus diagrams get a module, per ARM type.

Each Azure diagram of ``../shared/corpus/diagrams`` goes through the SynthForge analysis
(review accepted) and ``module_development``; the table counts the typed Azure resources
per ARM type, with the module kind that deploys them or the reason none does. Run from
the repository root::

    python scripts/iac_coverage.py [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Print the markdown table and the total; exit 0."""
    sys.path.insert(0, str(REPO))
    from agents.synthforge.iac.corpus import analyse, azure_diagrams
    from agents.synthforge.iac.module_development import generate, load_kinds, module_kind

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("FORGEFLOW_CORPUS", REPO.parent / "shared" / "corpus")),
    )
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    used: dict[str, set[str]] = {}  # ARM type → the module kinds its resources got
    entries = {t.lower(): e for t, e in load_kinds().items()}
    diagrams = azure_diagrams(args.corpus / "diagrams")
    for diagram in diagrams:
        analysis = asyncio.run(analyse(diagram, REPO / "pipelines" / "synthforge.yaml"))
        modules = generate(analysis, {"iac": "both"})
        for resource in analysis.architecture.resources:
            if resource.provider == "azure":
                counts[resource.resource_type] += 1
                if resource.resource_type.lower() in entries:
                    kind = module_kind(entries[resource.resource_type.lower()], resource)
                    used.setdefault(resource.resource_type, set()).add(kind)
        for skip in modules.skipped:
            if not skip.reason.startswith("provider "):
                missing[skip.resource_type] += 1
                reasons[skip.resource_type] = skip.reason
    total, left = sum(counts.values()), sum(missing.values())
    print("| ARM type | resources | module |")
    print("|---|---:|---|")
    for type_, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        module = ", ".join(f"`{k}`" for k in sorted(used.get(type_, ())))
        if missing[type_]:
            module = f"none: {reasons[type_]}"
        print(f"| `{type_}` | {n} | {module} |")
    print()
    print(
        f"{total - left} of {total} typed Azure resources in {len(diagrams)} diagrams get a "
        f"module ({(total - left) / total:.1%}); {left} are listed with the reason."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
