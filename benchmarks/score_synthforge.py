"""Score SynthForge on the corpus diagrams against the hand-written answer keys.

Runs the SynthForge pipeline (``pipelines/synthforge.yaml``: vision → filter → interactive
with every resource accepted → network_flow ∥ security ∥ cost_estimation → combine)
in-process on each corpus diagram — the same code ``python -m orchestration run
pipelines/synthforge.yaml --input D --set interactive.yes=true`` runs — and compares the
combined analysis with ``benchmarks/answer_keys/<diagram>.json`` (format and rules in
``benchmarks/answer_keys/README.md``):

- **type accuracy**: architectural icons of the key whose resource got the expected type
  (or one the key also accepts); an icon left untyped, judged non-architectural or given
  another type is wrong;
- **non-architectural**: the key's non-architectural icons the agents also set aside;
- **relationship recall**: the key's relationships (every edge but ``not_a_relationship``)
  for which the analysis has a relationship of an accepted kind between the drawn ends;
- **relationship precision**: the analysis's relationships that match a key relationship
  (ends and kind);
- **private/public agreement**: matched network relationships whose private judgement
  equals the key's ``path``;
- **duplicates merged**: second drawings (``same_as``) that ended up in the same resource
  as their first drawing;
- **summary = lists**: the report's summary counts equal the lists they summarise
  (resources, flows, private flows, virtual networks drawn as containers or as icons).

Prints a markdown table, per diagram and in total. Run from the repository root::

    python benchmarks/score_synthforge.py [--corpus DIR] [--keys DIR] [--misses]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NA = "non_architectural"
NOT_REL = "not_a_relationship"


@dataclass
class Score:
    """Counts for one diagram (or the total)."""

    name: str
    arch: int = 0
    typed_ok: int = 0
    na: int = 0
    na_ok: int = 0
    rels: int = 0
    recalled: int = 0
    found: int = 0
    found_ok: int = 0
    paths: int = 0
    paths_ok: int = 0
    dups: int = 0
    dups_ok: int = 0
    summary_ok: bool = True
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for f in ("arch", "typed_ok", "na", "na_ok", "rels", "recalled", "found", "found_ok"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        for f in ("paths", "paths_ok", "dups", "dups_ok"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.summary_ok = self.summary_ok and other.summary_ok


def ratio(ok: int, total: int) -> str:
    return f"{ok / total:.2f} ({ok}/{total})" if total else "—"


class Key:
    """One answer key, with its cells mapped to canonical resources."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.icons = {i["cell"]: i for i in raw["icons"]}
        self.aliases: dict[str, str] = dict(raw.get("aliases", {}))
        self.drawings: dict[str, set[str]] = {}
        for cell in [*self.aliases, *self.icons]:
            self.drawings.setdefault(self.canon(cell), {self.canon(cell)}).add(cell)

    def canon(self, cell: str) -> str:
        """The first drawing of the resource ``cell`` stands for."""
        seen: set[str] = set()
        while cell not in seen:
            seen.add(cell)
            if cell in self.aliases:
                cell = self.aliases[cell]
            elif cell in self.icons and self.icons[cell].get("same_as"):
                cell = self.icons[cell]["same_as"]
            else:
                break
        return cell

    def external(self, cell: str) -> bool:
        """A key end the agents may call the internet: not an architectural icon."""
        icon = self.icons.get(self.canon(cell))
        return icon is None or icon["expected"] == NA


def relationships(analysis: Any) -> list[tuple[str, str, str, bool | None]]:
    """(source, target, kind, private) of every relationship the analysis reports."""
    out: list[tuple[str, str, str, bool | None]] = []
    network = analysis.network
    if network is None:
        return out
    for f in network.flows:
        out.append((f.source, f.target, "network", f.private))
    for r in getattr(network, "relationships", []) or []:
        if r.kind != "network":
            out.append((r.source, r.target, r.kind, None))
    return out


def resource_of(analysis: Any) -> dict[str, str]:
    """Icon (drawing) id → the id of the resource it became."""
    out: dict[str, str] = {}
    for r in analysis.architecture.resources:
        out[r.id] = r.id
        if r.icon_id:
            out[r.icon_id] = r.id
        for d in getattr(r, "drawings", []) or []:
            out[d] = r.id
    return out


_SUMMARY = {
    "resources": re.compile(r"^- Resources: (\d+)$", re.M),
    "flows": re.compile(r"^- Flows: (\d+) \((\d+) private, (\d+) public\)$", re.M),
    "vnets": re.compile(r"^- Virtual networks: (\d+)$", re.M),
    "others": re.compile(r"^- Other relationships: (\d+)", re.M),
}


def summary_problems(analysis: Any) -> list[str]:
    """Where the report's summary disagrees with the lists it summarises."""
    report = analysis.report_markdown
    arch = analysis.architecture
    problems = []
    m = _SUMMARY["resources"].search(report)
    if m is None or int(m.group(1)) != len(arch.resources):
        problems.append("summary resources != resource list")
    network = analysis.network
    if network is not None:
        m = _SUMMARY["flows"].search(report)
        private = sum(1 for f in network.flows if f.private)
        if m is None or (int(m.group(1)), int(m.group(2))) != (len(network.flows), private):
            problems.append("summary flows != flow list")
        kinds = {c.id: c.kind for c in arch.containers}
        drawn = {c.id for c in arch.containers if c.kind == "vnet"}
        drawn |= {  # a VNet icon that is not the badge of a VNet box is a VNet of its own
            r.id
            for r in arch.resources
            if r.resource_type == "Microsoft.Network/virtualNetworks"
            and not any(kinds.get(c) == "vnet" for c in r.containers)
        }
        others = [r for r in network.relationships if r.kind != "network"]
        m = _SUMMARY["others"].search(report)
        section = report.split("## Other relationships", 1)[-1].split("\n## ", 1)[0]
        rows = sum(1 for line in section.splitlines() if line.startswith("| ")) - 1
        if m is None or int(m.group(1)) != len(others) or max(rows, 0) != len(others):
            problems.append("summary other relationships != relationship list")
        m = _SUMMARY["vnets"].search(report)
        listed = {v.id for v in network.vnets}
        if m is None or int(m.group(1)) != len(network.vnets) or not drawn <= listed:
            problems.append(
                f"summary virtual networks {m.group(1) if m else '?'} "
                f"!= {len(drawn)} drawn (containers or icons)"
            )
    return problems


def score(name: str, key: Key, analysis: Any) -> Score:
    s = Score(name)
    arch = analysis.architecture
    by_icon = {r.icon_id: r for r in arch.resources if r.icon_id}
    for r in arch.resources:
        for d in getattr(r, "drawings", []) or []:
            by_icon.setdefault(d, r)
    set_aside = {n.icon_id for n in arch.non_architectural}
    for cell, icon in key.icons.items():
        got = by_icon.get(cell)
        if icon["expected"] == NA:
            s.na += 1
            if got is None:
                s.na_ok += 1
            else:
                s.misses.append(f"NA {cell} [{icon['label']}] typed {got.resource_type}")
            continue
        s.arch += 1
        accepted = {icon["expected"], *icon.get("also_accepted", [])}
        if got is not None and got.resource_type in accepted:
            s.typed_ok += 1
        else:
            what = got.resource_type if got else ("set aside" if cell in set_aside else "untyped")
            s.misses.append(
                f"type {cell} [{icon['label']}] {icon['icon']}: {what}, want {icon['expected']}"
            )
        if icon.get("same_as"):
            s.dups += 1
            first = by_icon.get(key.canon(cell))
            if got is not None and first is not None and got.id == first.id:
                s.dups_ok += 1

    owner = resource_of(analysis)

    def ends(cells: list[str]) -> set[str]:
        """Every id the analysis may use for these cells: the cells, other drawings of
        the same resource (boxes it badges, redrawings), the resources they became."""
        out: set[str] = set()
        for c in cells:
            for cell in key.drawings.get(key.canon(c), set()) | {c}:
                out.add(cell)
                if cell in owner:
                    out.add(owner[cell])
            if key.external(c):
                out.add("internet")
        return out

    found = relationships(analysis)
    used = [False] * len(found)
    for e in key.raw["edges"]:
        if e["kind"] == NOT_REL:
            continue
        s.rels += 1
        kinds = {e["kind"], *e.get("also_kinds", [])}
        a, b = ends(e["from"]), ends(e["to"])
        hit = None
        for i, (src, tgt, kind, private) in enumerate(found):
            if kind in kinds and ((src in a and tgt in b) or (src in b and tgt in a)):
                used[i] = True
                hit = hit if hit is not None else (kind, private)
        if hit is None:
            s.misses.append(
                f"rel {e['cell']} {e['kind']} [{e['label'][:40]}] {e['from']}->{e['to']}"
            )
            continue
        s.recalled += 1
        if hit[0] == "network" and "path" in e:
            s.paths += 1
            if hit[1] == (e["path"] == "private"):
                s.paths_ok += 1
            else:
                s.misses.append(f"path {e['cell']} want {e['path']}")
    s.found = len(found)
    s.found_ok = sum(used)
    for (src, tgt, kind, _), ok in zip(found, used, strict=True):
        if not ok:
            s.misses.append(f"extra {kind} {src}->{tgt}")
    problems = summary_problems(analysis)
    s.summary_ok = not problems
    s.misses += problems
    return s


def run_pipeline(path: Path) -> Any:
    from agents.synthforge.analysis.vision import VisionAgent
    from orchestration.pipeline.file import load_spec, plan_stages, run_planned
    from orchestration.runtime.execution import RunContext

    planned = plan_stages(load_spec(REPO / "pipelines" / "synthforge.yaml"))
    data = VisionAgent.load_input(path)
    result = asyncio.run(
        run_planned(planned, data, RunContext(), settings={"interactive": {"yes": True}})
    )
    if not result.ok:
        raise RuntimeError(f"{path.name}: pipeline failed: {result.error}")
    return result.output


def table(scores: list[Score], total: Score) -> str:
    head = [
        "diagram",
        "type accuracy",
        "non-arch. set aside",
        "rel. recall",
        "rel. precision",
        "private/public",
        "duplicates merged",
        "summary = lists",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in [*scores, total]:
        name = f"**{s.name}**" if s is total else s.name
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    ratio(s.typed_ok, s.arch),
                    ratio(s.na_ok, s.na),
                    ratio(s.recalled, s.rels),
                    ratio(s.found_ok, s.found),
                    ratio(s.paths_ok, s.paths),
                    ratio(s.dups_ok, s.dups),
                    "yes" if s.summary_ok else "**no**",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/diagrams")
    parser.add_argument("--keys", type=Path, default=REPO / "benchmarks" / "answer_keys")
    parser.add_argument("--misses", action="store_true", help="list every miss per diagram")
    parser.add_argument("--only", default="", help="score only diagrams whose name contains this")
    args = parser.parse_args(argv)
    keys = sorted(args.keys.glob("*.json"))
    if not keys:
        print(f"no answer keys in {args.keys}", file=sys.stderr)
        return 2
    scores = []
    total = Score("total")
    for key_path in keys:
        raw = json.loads(key_path.read_text("utf-8"))
        if args.only and args.only not in raw["diagram"]:
            continue
        diagram = args.corpus / raw["diagram"]
        if not diagram.is_file():
            print(f"diagram missing: {diagram}", file=sys.stderr)
            return 2
        s = score(raw["diagram"], Key(raw), run_pipeline(diagram))
        scores.append(s)
        total.add(s)
    print(table(scores, total))
    if args.misses:
        for s in scores:
            if s.misses:
                print(f"\n{s.name}")
                print("\n".join(f"  {m}" for m in s.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
