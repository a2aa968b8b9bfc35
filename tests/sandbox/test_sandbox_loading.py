"""``--load`` of Bulk Data exports: any file order, conditional references, reports per resource."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from sandbox.loading import load_paths
from sandbox.seed import build_seed_bundle
from sandbox.synthetic_export import LOCATION_SYSTEM, write_export
from tests.shared_data import shared_data_dir

NPI = "http://hl7.org/fhir/sid/us-npi"


def conditional_references(folder: Path) -> int:
    return sum(path.read_bytes().count(b"?identifier=") for path in folder.glob("*.ndjson"))


def test_a_synthea_style_export_loads_raw_in_any_order_with_nothing_unresolved(store, tmp_path):
    folder = tmp_path / "export"
    written = write_export(build_seed_bundle(patients=10), folder, shuffle_seed=3)
    assert conditional_references(folder) > 50
    files = list(written.values())
    random.Random(5).shuffle(files)  # noqa: S311 - an order, not a secret
    report = load_paths(store, files)

    assert report.refused == []
    assert report.unresolved == []
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    assert report.written == lines
    encounter = store.read("Encounter", "enc-0001-1").resource
    assert encounter["participant"][0]["individual"]["reference"].startswith("Practitioner/prac-")
    assert encounter["location"][0]["location"]["reference"] == "Location/loc-org-hospital"
    assert encounter["serviceProvider"]["reference"] == "Organization/org-hospital"
    location = store.read("Location", "loc-org-hospital").resource
    assert location["managingOrganization"]["reference"] == "Organization/org-hospital"
    document = store.read("DocumentReference", "doc-enc-0001-1").resource
    assert document["author"][0]["reference"].startswith("Practitioner/prac-")


async def test_identifier_search_on_every_type_with_identifiers(client):
    location = {
        "resourceType": "Location",
        "id": "l1",
        "identifier": [{"system": LOCATION_SYSTEM, "value": "abc"}],
    }
    assert (await client.put("/Location/l1", json=location)).status_code == 201
    found = await client.get("/Location", params={"identifier": f"{LOCATION_SYSTEM}|abc"})
    assert [e["resource"]["id"] for e in found.json()["entry"]] == ["l1"]
    statement = (await client.get("/metadata")).json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for kind in ("Location", "Observation", "DocumentReference", "Claim", "Practitioner"):
        assert "identifier" in {p["name"] for p in by_type[kind].get("searchParam", [])}, kind


def write_lines(path: Path, *resources: dict | bytes) -> None:
    path.write_bytes(
        b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in resources) + b"\n"
    )


def test_what_cannot_load_is_reported_per_resource_and_the_rest_loads(store, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    twin = {"system": NPI, "value": "1111111111"}
    write_lines(
        folder / "Practitioner.ndjson",
        {"resourceType": "Practitioner", "id": "a", "identifier": [twin]},
        {"resourceType": "Practitioner", "id": "b", "identifier": [twin]},
        {"resourceType": "Practitioner", "id": "c", "identifier": [{"system": NPI, "value": "2"}]},
    )
    write_lines(
        folder / "DocumentReference.ndjson",
        {
            "resourceType": "DocumentReference", "id": "d-nobody", "status": "current",
            "author": [{"reference": f"Practitioner?identifier={NPI}|9999999999",
                        "display": "Dr X"}],
            "content": [{"attachment": {"contentType": "text/plain"}}],
        },
        {
            "resourceType": "DocumentReference", "id": "d-twins", "status": "current",
            "author": [{"reference": f"Practitioner?identifier={NPI}|1111111111"}],
            "content": [{"attachment": {"contentType": "text/plain"}}],
        },
        {
            "resourceType": "DocumentReference", "id": "d-by-name", "status": "current",
            "custodian": {"reference": "Organization?name=Riverbend"},
            "author": [{"reference": f"Practitioner?identifier={NPI}|2"}],
            "content": [{"attachment": {"contentType": "text/plain"}}],
        },
        {
            "resourceType": "DocumentReference", "id": "d-good", "status": "current",
            "author": [{"reference": f"Practitioner?identifier={NPI}|2"}],
            "content": [{"attachment": {"contentType": "text/plain"}}],
        },
        b"{not json",
        {"resourceType": "DocumentReference", "id": "d-bad", "status": "nonsense-status-code!"},
    )  # fmt: skip
    report = load_paths(store, [folder])

    assert store.read("DocumentReference", "d-good").resource["author"][0]["reference"] == (
        "Practitioner/c"
    )
    nobody = store.read("DocumentReference", "d-nobody").resource["author"][0]
    assert nobody == {"display": "Dr X", "type": "Practitioner",
                      "identifier": {"system": NPI, "value": "9999999999"}}  # fmt: skip
    refused = {line.split(" ")[1].rstrip(":"): line for line in report.refused}
    assert refused["DocumentReference/d-by-name"].startswith("DocumentReference.ndjson:3 ")
    assert "custodian Organization?name=Riverbend" in refused["DocumentReference/d-by-name"]
    assert "not loaded" in refused["DocumentReference/d-by-name"]
    assert "refused (422)" in refused["DocumentReference/d-bad"]
    assert "DocumentReference.ndjson:5: not JSON; line skipped" in report.refused
    assert len(report.refused) == 3
    kept = {line.split(" ")[1].rstrip(":"): line for line in report.unresolved}
    assert set(kept) == {"DocumentReference/d-nobody", "DocumentReference/d-twins"}
    assert kept["DocumentReference/d-nobody"].startswith(
        "DocumentReference.ndjson:1 DocumentReference/d-nobody: author[0] Practitioner?identifier="
    )
    assert (
        "matches nothing loaded; kept as a logical reference" in kept["DocumentReference/d-nobody"]
    )
    assert "matches 2 Practitioner resources" in kept["DocumentReference/d-twins"]
    assert store.read("DocumentReference", "d-twins").resource["author"][0]["identifier"] == twin


def test_synthea_bundles_and_an_export_load_together(store, tmp_path):
    bundles = sorted(shared_data_dir("synthea-bundles").glob("*.json"))
    folder = tmp_path / "export"
    write_export(build_seed_bundle(patients=3), folder)
    report = load_paths(store, [folder, *bundles])
    assert report.clean, report
    assert store.search("Patient", [], count=0).total == 3 + len(bundles)


def test_an_export_folder_with_its_state_file_loads_and_says_what_it_passed_over(store, tmp_path):
    folder = tmp_path / "export"
    write_export(build_seed_bundle(patients=2), folder)
    (folder / "export-state.json").write_text('{"status_url": "x"}', encoding="utf-8")
    report = load_paths(store, [folder])
    assert report.refused == ["export-state.json: not a Bundle; skipped"]
    assert report.unresolved == []
    assert store.read("Patient", "pat-0002") is not None
