"""Encounters assembled from an NDJSON export equal those gathered from a server holding it."""

from __future__ import annotations

import _sqlite3
import ctypes
import dataclasses
import gzip
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from adapters.bulk import (
    ExportIndex,
    IndexReport,
    NdjsonEncounters,
    encounters_from_ndjson,
    export_index,
)
from adapters.bulk.export_index import ExportChangedError
from adapters.gathering.assembly import condition_order
from fhir_coder.model import SourceRef
from sandbox.seed import build_seed_bundle
from sandbox.synthetic_export import write_export
from tests.adapters.synthea_gathering import gather_finished


def versionless(value):
    """``value`` with every version id dropped: the generated export carries none, the server
    gives each resource version 1 (an export made by the sandbox's $export has them too)."""
    if isinstance(value, SourceRef):
        return dataclasses.replace(value, version_id=None)
    if isinstance(value, tuple):
        return tuple(versionless(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: versionless(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "version_id" in changes:
            changes["version_id"] = None
        return dataclasses.replace(value, **changes)
    return value


@pytest.fixture
def seed_export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    write_export(build_seed_bundle(), folder)
    return folder


async def test_the_export_gives_the_encounters_the_server_gatherer_builds(asgi_fhir, tmp_path):
    # Lines shuffled: the server's search returns an encounter's Conditions in its own
    # order, the export in another; both readers sort them the same way, so even unranked
    # diagnoses come out in the same order.
    seed_export = tmp_path / "export"
    write_export(build_seed_bundle(), seed_export, shuffle_seed=5)
    gathered = await gather_finished(asgi_fhir)
    report = IndexReport()
    from_files = {
        item.encounter_id: item
        for item in encounters_from_ndjson(
            [seed_export], source_id=asgi_fhir.base_url, report=report
        )
    }
    assert set(from_files) == set(gathered.encounters)
    locations = {r["id"] for r in _lines(seed_export / "Location.ndjson")}
    for encounter_id, item in from_files.items():
        assert item.error is None
        # The export names each stay's Location by identifier (the server's copy names
        # none): read from the files, it is the Location's literal reference, as a server
        # that loaded the export would give.
        assert item.encounter is not None
        stays = [stay.reference for stay in item.encounter.locations]
        assert all(ref.removeprefix("Location/") in locations for ref in stays), stays
        assert not gathered.encounters[encounter_id].locations
        encounter = dataclasses.replace(item.encounter, locations=())
        assert encounter == versionless(gathered.encounters[encounter_id]), encounter_id
    assert any(item.encounter.locations for item in from_files.values())
    assert report.unresolved == []
    assert report.problems == []
    assert report.files == 10  # Observation and DocumentReference read, never kept


def test_conditional_references_resolve_after_every_file_is_read(tmp_path, seed_export):
    # The Condition file read first: its encounters are filed by identifier, conditionally.
    encounters = [
        orjson.loads(line) for line in (seed_export / "Encounter.ndjson").read_bytes().splitlines()
    ]
    csn = {e["id"]: e["identifier"][0] for e in encounters}
    lines = []
    for line in (seed_export / "Condition.ndjson").read_bytes().splitlines():
        condition = orjson.loads(line)
        ident = csn[condition["encounter"]["reference"].split("/")[1]]
        condition["encounter"] = {
            "reference": f"Encounter?identifier={ident['system']}|{ident['value']}"
        }
        lines.append(orjson.dumps(condition))
    (seed_export / "Condition.ndjson").write_bytes(b"\n".join(lines))
    first = tmp_path / "a-first"
    first.mkdir()
    (seed_export / "Condition.ndjson").rename(first / "Condition.ndjson")
    with ExportIndex() as index:
        report = index.add([first / "Condition.ndjson"])
        report = index.add(sorted(seed_export.glob("*.ndjson")), report)
        index.finish(report)
        assert report.unresolved == []
        reader = NdjsonEncounters(index, source_id="ehr")
        coded = [item for item in reader.assembled() if item.encounter is not None]
        assert sum(len(item.encounter.diagnoses) for item in coded) > len(coded)


def test_bad_lines_and_missing_targets_are_reported_not_fatal(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "Encounter.ndjson").write_bytes(
        b'{"resourceType":"Encounter","id":"e1","status":"finished","subject":{"reference":"Patient/p1"}}\n'
        b"not json\n"
        b'{"resourceType":"Encounter","id":"e2","status":"finished","subject":{"reference":"Patient/gone"}}\n'
    )
    (folder / "Patient.ndjson").write_bytes(
        b'{"resourceType":"Patient","id":"p1","gender":"female"}\n'
    )
    (folder / "Condition.ndjson").write_bytes(
        b'{"resourceType":"Condition","id":"c1","encounter":{"reference":"Encounter?identifier=x|nobody"}}\n'
    )
    report = IndexReport()
    items = {
        i.encounter_id: i for i in encounters_from_ndjson([folder], source_id="ehr", report=report)
    }
    assert report.problems == ["Encounter.ndjson:2: not a FHIR resource; line skipped"]
    assert items["e1"].encounter is not None
    assert "Patient/gone is not in the export" in str(items["e2"].error)
    (unresolved,) = [u for u in report.unresolved if u.resource == "Condition/c1"]
    assert "matches nothing" in unresolved.reason


def test_a_persistent_index_does_not_read_unchanged_files_again(tmp_path, seed_export):
    path = tmp_path / "index.sqlite3"
    with ExportIndex(path) as index:
        first = index.add(sorted(seed_export.glob("*.ndjson")))
    with ExportIndex(path) as index:
        again = index.add(sorted(seed_export.glob("*.ndjson")))
    assert first.files == 10
    assert first.files_skipped == 0
    assert again.files == 0
    assert again.files_skipped == 10


def _sqlite_memory() -> tuple[Callable[[int], int], Callable[[], int]] | None:
    """SQLite's ``sqlite3_memory_highwater`` and ``_used``, from the library Python uses."""
    try:
        library = ctypes.CDLL(_sqlite3.__file__)
        highwater, used = library.sqlite3_memory_highwater, library.sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    highwater.restype = used.restype = ctypes.c_int64
    return highwater, used


def test_memory_stays_flat_as_the_population_grows(tmp_path, monkeypatch):
    # Python's heap (traced) and SQLite's own (its allocations' high-water mark), with a
    # page cache smaller than both indexes so it is full in both runs: what is left to
    # grow is what the index would keep per encounter (a sort of every Encounter did:
    # +362 KiB from 100 to 800 patients; every length of IN list a statement: +150).
    monkeypatch.setattr(export_index, "CACHE_KIB", 64)
    sqlite = _sqlite_memory()
    peaks, sqlite_peaks = [], []
    for patients in (100, 800):
        folder = tmp_path / f"p{patients}"
        write_export(build_seed_bundle(seed=3, patients=patients), folder)
        if sqlite is not None:
            start = sqlite[1]()
            sqlite[0](1)  # reset the high-water mark to what is in use now
        tracemalloc.start()
        count = sum(1 for _ in encounters_from_ndjson([folder], source_id="ehr"))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        if sqlite is not None:
            sqlite_peaks.append(sqlite[0](0) - start)
        assert count > patients
    assert peaks[1] < peaks[0] * 2, peaks  # eight times the population, not eight times the memory
    if sqlite is None:
        pytest.skip("this Python's SQLite library does not export sqlite3_memory_highwater")
    assert sqlite_peaks[1] - sqlite_peaks[0] < 100 * 1024, sqlite_peaks


def test_vaccines_and_drugs_of_an_encounter_come_with_it(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "Encounter.ndjson").write_bytes(
        b'{"resourceType":"Encounter","id":"e1","status":"finished",'
        b'"subject":{"reference":"Patient/p1"}}\n'
    )
    (folder / "Patient.ndjson").write_bytes(b'{"resourceType":"Patient","id":"p1"}\n')
    (folder / "Immunization.ndjson").write_bytes(
        b'{"resourceType":"Immunization","id":"i1","status":"completed",'
        b'"vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},'
        b'"encounter":{"reference":"Encounter/e1"}}\n'
    )
    (folder / "MedicationAdministration.ndjson").write_bytes(
        b'{"resourceType":"MedicationAdministration","id":"m1","status":"completed",'
        b'"medicationCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/sid/ndc",'
        b'"code":"0641-0367-21"}]},"context":{"reference":"Encounter/e1"}}\n'
    )
    (item,) = encounters_from_ndjson([folder], source_id="ehr", report=IndexReport())
    assert [i.source.reference for i in item.encounter.immunizations] == ["Immunization/i1"]
    assert [m.source.reference for m in item.encounter.medications] == [
        "MedicationAdministration/m1"
    ]


def test_the_encounters_reason_comes_with_it(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "Encounter.ndjson").write_bytes(
        b'{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"},'
        b'"subject":{"reference":"Patient/p1"},'
        b'"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"271737000"}]}],'
        b'"reasonReference":[{"reference":"Condition/c9"}]}\n'
    )
    (folder / "Patient.ndjson").write_bytes(b'{"resourceType":"Patient","id":"p1"}\n')
    (item,) = encounters_from_ndjson([folder], source_id="ehr", report=IndexReport())
    assert [c.code for c in item.encounter.reason_codes] == ["271737000"]
    assert item.encounter.reason_references == ("Condition/c9",)


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _assembled(paths: list[Path]) -> dict[str, object]:
    return {
        item.encounter_id: item.encounter or item.error
        for item in encounters_from_ndjson(paths, source_id="ehr")
    }


def test_unranked_diagnoses_keep_their_order_whatever_order_the_lines_come_in(tmp_path):
    bundle = build_seed_bundle(seed=4, patients=40)
    orders = []
    for seed in (None, 1, 2):
        folder = tmp_path / f"order-{seed}"
        write_export(bundle, folder, shuffle_seed=seed)
        orders.append(_assembled([folder]))
    several = [
        e for e in orders[0].values() if not isinstance(e, Exception) and len(e.diagnoses) > 1
    ]
    assert several  # the comparison below is about encounters with more than one Condition
    assert orders[1] == orders[0]
    assert orders[2] == orders[0]
    conditions: dict[str, list[dict]] = {}
    for line in (tmp_path / "order-1" / "Condition.ndjson").read_bytes().splitlines():
        condition = orjson.loads(line)
        conditions.setdefault(condition["encounter"]["reference"], []).append(condition)
    for encounter in several:  # recorded first comes first; ties by id
        expected = sorted(conditions[encounter.reference], key=condition_order)
        assert [d.source.reference for d in encounter.diagnoses] == [
            f"Condition/{c['id']}" for c in expected
        ]


def test_a_compressed_export_gives_the_same_encounters(tmp_path, seed_export):
    packed = tmp_path / "packed"
    packed.mkdir()
    for path in seed_export.glob("*.ndjson"):
        (packed / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    assert _assembled([packed]) == _assembled([seed_export])


def test_a_file_changed_after_reading_is_refused_then_read_again(tmp_path, seed_export):
    path = tmp_path / "index.sqlite3"
    files = sorted(seed_export.glob("*.ndjson"))
    patients = seed_export / "Patient.ndjson"
    with ExportIndex(path) as index:
        index.finish(index.add(files))
        lines = patients.read_bytes().splitlines()
        patients.write_bytes(b"\n".join([b"", *reversed(lines)]) + b"\n")  # every offset moves
        first = orjson.loads(lines[0])
        # The index points into the old content: reading it is refused, not misread.
        with pytest.raises(ExportChangedError, match="changed after it was read"):
            index.get("Patient", first["id"])
    with ExportIndex(path) as index:
        again = index.add(files)
        assert (again.files, again.files_skipped) == (10, 0)  # all read again, not just one
        assert index.get("Patient", first["id"]) == first
        assert sum(1 for _ in NdjsonEncounters(index, source_id="ehr").assembled()) > 0
