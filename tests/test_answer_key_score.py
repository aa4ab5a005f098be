"""SynthForge against the hand-written answer keys of the corpus diagrams (issue 12).

Diagrams: ``../shared/corpus/diagrams`` (real public draw.io files; origins and licences
in its SOURCES.md). Keys: ``benchmarks/answer_keys/`` (written by hand from the drawings;
rules in its README). The scorer is ``benchmarks/score_synthforge.py``; this test holds
its totals at the targets and the README's table to what it prints today.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import require_corpus

pytestmark = pytest.mark.corpus

REPO = Path(__file__).resolve().parent.parent
KEYS = REPO / "benchmarks" / "answer_keys"


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "score_synthforge", REPO / "benchmarks" / "score_synthforge.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scored() -> tuple[ModuleType, list, object]:
    corpus = require_corpus("diagrams")
    scorer = _scorer()
    scores, total = [], scorer.Score("total")
    for key_path in sorted(KEYS.glob("*.json")):
        raw = json.loads(key_path.read_text("utf-8"))
        s = scorer.score(
            raw["diagram"], scorer.Key(raw), scorer.run_pipeline(corpus / raw["diagram"])
        )
        scores.append(s)
        total.add(s)
    return scorer, scores, total


def test_every_corpus_diagram_has_a_key(corpus_diagrams: Path) -> None:
    listed = {p.name for p in corpus_diagrams.iterdir() if p.suffix in (".drawio", ".xml")}
    keyed = {json.loads(p.read_text("utf-8"))["diagram"] for p in KEYS.glob("*.json")}
    assert listed == keyed and len(keyed) == 32


def test_totals_meet_the_targets(scored: tuple[ModuleType, list, object]) -> None:
    _, scores, total = scored
    assert total.typed_ok / total.arch >= 0.95, (total.typed_ok, total.arch)
    assert total.recalled / total.rels >= 0.90, (total.recalled, total.rels)
    assert total.found_ok / total.found >= 0.90, (total.found_ok, total.found)
    assert all(s.summary_ok for s in scores), [s.name for s in scores if not s.summary_ok]


def test_the_readme_table_is_what_the_scorer_prints(
    scored: tuple[ModuleType, list, object],
) -> None:
    scorer, scores, total = scored
    assert scorer.table(scores, total) in (REPO / "README.md").read_text("utf-8")
