"""The compiled NCCI/MUE cache: used on a second start, never when stale or damaged."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from codesets import ncci_cache
from codesets.cache import write_payload
from codesets.ncci import NcciEdits

FIXTURES = Path(__file__).parent / "fixtures"
DAY = date(2026, 1, 1)


@pytest.fixture
def folders(tmp_path):
    """Private copies of the fixture PTP and MUE folders, safe to change."""
    shutil.copytree(FIXTURES / "ncci", tmp_path / "ptp")
    shutil.copytree(FIXTURES / "mue", tmp_path / "mue")
    return tmp_path / "ptp", tmp_path / "mue", tmp_path / "cache"


def _load(folders) -> NcciEdits:
    ptp_dir, mue_dir, cache = folders
    return NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir, cache_dir=cache)


def _indicator(edits: NcciEdits) -> str:
    edit = edits.ptp_edit("99213", "36415", DAY, "practitioner")
    assert edit is not None
    return edit.modifier_indicator


def _refuse_to_parse(monkeypatch):
    def refuse(files):
        raise AssertionError("parsed again")

    monkeypatch.setattr(ncci_cache, "read_tables", refuse)


def test_a_second_start_reads_the_compiled_tables(folders, monkeypatch):
    first = _load(folders)
    _refuse_to_parse(monkeypatch)
    second = _load(folders)
    assert second.sources == first.sources
    assert second.ptp_count == first.ptp_count == 4
    assert second.ptp_edit("99213", "36415", DAY, "hospital") == first.ptp_edit(
        "99213", "36415", DAY, "hospital"
    )
    assert second.mue("J9902", DAY, "practitioner") == first.mue("J9902", DAY, "practitioner")


def test_a_file_changed_in_place_is_read_again(folders):
    assert _indicator(_load(folders)) == "1"
    path = folders[0] / "practitioner" / "ccipra-v321r0-f1.txt"
    stat = path.stat()
    text = path.read_text(encoding="latin-1")
    path.write_text(text.replace("\t*\t1\t", "\t*\t0\t", 1), encoding="latin-1")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same time stamp
    assert path.stat().st_size == stat.st_size
    assert _indicator(_load(folders)) == "0"
    assert len(list(folders[2].glob("ncci-*"))) == 1  # the stale compilation is gone


def test_a_file_added_is_read(folders):
    _load(folders)
    extra = folders[1] / "MCR_MUE_PractitionerServices_Eff_2026-04-01.csv"
    extra.write_text("HCPCS/CPT Code,MUE Values,MAI,Why\n99213,7,1 Line Edit,Added\n")
    limit = _load(folders).mue("99213", date(2026, 5, 1), "practitioner")
    assert limit is not None
    assert (limit.limit, limit.adjudication) == (7, 1)


@pytest.mark.parametrize("damage", ["garbage", "foreign payload"])
def test_a_damaged_compilation_is_replaced(folders, damage):
    _load(folders)
    (compiled,) = folders[2].glob("ncci-*")
    if damage == "garbage":
        compiled.write_bytes(compiled.read_bytes()[:-7])
    else:  # well formed, checksum right, but not tables
        write_payload(compiled, {"key": compiled.stem.rsplit("-", 1)[1], "tables": {"ptp": 1}})
    assert _indicator(_load(folders)) == "1"
    assert compiled.exists()
    assert _load(folders).mue_count == 4


def test_an_unwritable_cache_folder_only_costs_a_warning(folders, caplog):
    ptp_dir, mue_dir, cache = folders
    cache.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="codesets.ncci_cache"):
        edits = NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir, cache_dir=cache)
    assert _indicator(edits) == "1"
    assert "could not cache" in caplog.text


def test_without_folders_nothing_is_compiled(tmp_path):
    edits = NcciEdits(cache_dir=tmp_path)
    assert (edits.ptp_count, edits.mue_count, edits.sources) == (0, 0, [])
    assert edits.ptp_edit("99213", "36415", DAY, "practitioner") is None
    assert edits.mue("99213", DAY, "hospital") is None
    assert list(tmp_path.iterdir()) == []
