"""The coverage benchmark's review sample: reproducible, and a worksheet a reviewer can fill in.

``benchmarks/coverage.py --sample N --sample-seed S --review-file PATH`` is how the hand
review in ``docs/accuracy.md`` is drawn; a bounded population here proves the same seed
draws the same answers, the share from changed rows holds, and the worksheet carries the
concept, the codes with their method and the row's basis, without CPT descriptors.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from codesets.crosswalks import CrosswalkRegistry

# Loaded by path under its own name: ``coverage`` is also coverage.py's package name.
_SPEC = importlib.util.spec_from_file_location(
    "coverage_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"
)
assert _SPEC is not None
assert _SPEC.loader is not None
coverage = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = coverage
_SPEC.loader.exec_module(coverage)


@pytest.fixture(scope="module")
def answered() -> list[coverage.Answer]:
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    found = coverage.measure(coverage.population(12, 5), crosswalks, "generated")
    return [a for a in found if a.box in ("coded", "not reported")]


def test_the_same_seed_draws_the_same_sample(answered: list[coverage.Answer]) -> None:
    first = coverage.draw(answered, 20, 99, set(), 0.0)
    again = coverage.draw(answered, 20, 99, set(), 0.0)
    other = coverage.draw(answered, 20, 100, set(), 0.0)
    assert [a.source for a in first] == [a.source for a in again]
    assert [a.source for a in first] != [a.source for a in other]
    assert len({a.source for a in first}) == 20


def test_a_share_of_the_sample_comes_from_changed_rows(answered: list[coverage.Answer]) -> None:
    changed = {(a.concept_system, a.concept, a.targets[0]) for a in answered[::4]}
    picked = coverage.draw(answered, 30, 7, changed, 1 / 3)
    fresh = [a for a in picked if coverage.is_changed(a, changed)]
    assert len(picked) == 30
    assert len(fresh) >= 10


def test_the_worksheet_names_concept_codes_method_and_basis(
    answered: list[coverage.Answer], tmp_path: Path
) -> None:
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    rows = coverage.review_rows(answered, crosswalks)
    path = tmp_path / "sample.tsv"
    coverage.write_review(path, rows, "seed 99")
    with path.open(encoding="utf-8") as handle:
        read = list(csv.DictReader((t for t in handle if not t.startswith("#")), delimiter="\t"))
    assert len(read) == len(answered)
    coded_dx = [r for r in read if r["codes"].startswith("ICD-10-CM ")]
    assert coded_dx, "the population codes some conditions"
    for row in coded_dx:
        assert re.fullmatch(
            r"ICD-10-CM [A-Z][0-9A-Z]{2,6} \([a-z-]+( review)?\)(; .+)?", row["codes"]
        )
        assert row["basis"] or row["rule"]
        assert row["descriptions"].split(" ", 1)[0] in row["codes"]
    for row in read:
        if row["codes"].startswith("CPT "):
            assert row["descriptions"] == ""  # CPT descriptors are the AMA's: never written
    assert all(r["box"] == "not reported" and r["note"] for r in read if not r["codes"])
