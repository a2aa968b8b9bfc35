"""Every file of the public shared data read without a crash; what is unusable named by path."""

from pathlib import Path

import pytest

from adapters.gathering.files import read_fhir_file
from tests.shared_data import SHARED_DATA, shared_data_dir

FOLDERS = ("synthea-bundles", "fhir-r4-examples", "carin-bb", "bfd")


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_shared_file_is_read_without_a_crash(folder):
    files = sorted(shared_data_dir(folder).rglob("*.json"))
    assert files
    reports = [read_fhir_file(path) for path in files]
    assert all(report.usable for report in reports), [
        i.message for r in reports for i in r.issues if i.rule == "READ-FILE-UNUSABLE"
    ]
    assert sum(r.read + r.other for r in reports) >= len(files)
    for report in reports:
        for issue in report.issues:
            if issue.rule in ("READ-FILE-UNUSABLE", "READ-UNREADABLE"):
                assert str(report.path) in issue.message


def test_all_synthea_coding_resources_are_read():
    reports = [read_fhir_file(p) for p in sorted(shared_data_dir("synthea-bundles").glob("*.json"))]
    # 139 Encounter + 49 Condition + 214 Procedure + 6 Patient, per the data's README,
    # and the 31 Immunizations (billed as vaccine and administration)
    assert sum(r.read for r in reports) == 139 + 49 + 214 + 6 + 31


def test_the_whole_shared_folder_is_covered():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the public test data lives beside the repository")
    present = {p.name for p in SHARED_DATA.iterdir() if p.is_dir()}
    assert present <= set(FOLDERS), f"new shared data to read: {present - set(FOLDERS)}"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<html>not json</html>", "is not JSON"),
        (b'{"status": "ok"}', "not a FHIR resource"),
        (b"[1, 2]", "not a FHIR resource"),
    ],
)
def test_unusable_files_are_reported_with_their_path(tmp_path: Path, content, why):
    path = tmp_path / "odd.json"
    path.write_bytes(content)
    report = read_fhir_file(path)
    assert not report.usable
    [issue] = report.issues
    assert why in issue.message
    assert issue.source == str(path)


def test_a_resource_that_breaks_a_reader_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_bytes(
        b'{"resourceType": "Bundle", "entry": ['
        b'{"resource": {"resourceType": "Condition", "id": "bad", "meta": "oops"}},'
        b'{"resource": {"resourceType": "Condition", "id": "good", "code": {"text": "x"}}}]}'
    )
    report = read_fhir_file(path)
    assert report.read == 1
    [issue] = report.issues
    assert "Condition/bad" in issue.message
    assert str(path) in issue.message
