"""The compact NCCI/MUE tables answer exactly as a direct reading of the same files does."""

from __future__ import annotations

import gc
import random
import tracemalloc
from itertools import permutations

import pytest

from codesets.ncci import NcciEdits
from codesets.ncci_files import read_tables, source_files
from tests.codesets.ncci_synthetic import query_dates, reference, write_files


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("ncci-synthetic")
    ptp_dir, mue_dir, pool = write_files(root, seed=11)
    return ptp_dir, mue_dir, pool, root / "cache"


def _queries(ptp_dir, pool):
    """Every pair the files hold (both ways round), and pairs they do not."""
    rng = random.Random(3)  # noqa: S311 - reproducible queries
    pairs = set()
    for path in ptp_dir.rglob("*"):
        if path.is_file():
            for line in path.read_text(encoding="latin-1").splitlines():
                cells = line.replace('"', "").replace(",", "\t").split("\t")
                if len(cells) > 1:
                    pairs.add((cells[0].strip(), cells[1].strip()))
                    pairs.add((cells[1].strip(), cells[0].strip()))
    pairs.update(permutations(rng.sample(pool, 12), 2))
    return sorted(pairs)


def test_compact_tables_answer_like_the_reference(synthetic):
    ptp_dir, mue_dir, pool, cache = synthetic
    expected = reference(ptp_dir, mue_dir)
    parsed = NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir, cache_dir=cache)
    compiled = NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir, cache_dir=cache)
    assert compiled.sources == parsed.sources
    assert parsed.ptp_count == sum(len(rows) for rows in expected.rows.values())
    assert (
        parsed.mue_count
        == compiled.mue_count
        == sum(len(limits) for tables in expected.files.values() for _, limits in tables)
    )
    assert parsed.ptp_count > 3000
    found = {"edits": 0, "history": 0, "modifiers": set(), "settings": set()}
    for day in query_dates():
        for setting in ("practitioner", "hospital"):
            for column1, column2 in _queries(ptp_dir, pool):
                want = expected.ptp_edit(column1, column2, day, setting)
                assert parsed.ptp_edit(column1, column2, day, setting) == want
                assert compiled.ptp_edit(column1.lower(), f" {column2}", day, setting) == want
                if want is not None:
                    found["edits"] += 1
                    found["modifiers"].add(want.modifier_indicator)
                    found["settings"].add(want.setting)
                    found["history"] += want.deleted is not None
            for code in [*pool, "99999", "bad"]:
                want_limit = expected.mue(code, day, setting)
                assert parsed.mue(code, day, setting) == want_limit
                assert compiled.mue(code.lower(), day, setting) == want_limit
    # the files exercise what they are meant to: every indicator, both settings, deletions
    assert found["modifiers"] == {"0", "1", "9"}
    assert found["settings"] == {"practitioner", "hospital"}
    assert found["history"] > 100
    assert found["edits"] > 10_000


def test_pairs_with_several_rows_answer_with_the_first_in_force(synthetic):
    ptp_dir, mue_dir, _, cache = synthetic
    expected = reference(ptp_dir, mue_dir)
    edits = NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir, cache_dir=cache)
    overlapping = 0
    for (column1, column2, setting), rows in expected.rows.items():
        for day in query_dates():
            in_force = [
                row
                for row in rows
                if row.effective <= day and (row.deleted is None or day <= row.deleted)
            ]
            if len(in_force) > 1 and in_force[0] != in_force[1]:
                overlapping += 1
                assert edits.ptp_edit(column1, column2, day, setting) == in_force[0]
    assert overlapping > 50  # the generator makes rows of one pair overlap


def test_bytes_per_pair_stay_small(tmp_path):
    """A PTP row costs a few bytes of arrays, where a dataclass per row cost ~700."""
    ptp_dir, _, _ = write_files(tmp_path, seed=5, rows=100_000)
    files = source_files(ptp_dir, None)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tables, _ = read_tables(files)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    rows = sum(len(table) for table in tables.ptp.values())
    assert rows > 90_000
    assert kept / rows < 24, f"{kept / rows:.1f} bytes a row"
