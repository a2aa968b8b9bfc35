"""The synthetic data: deterministic, valid R4, realistic, and loadable."""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from fhir_coder.systems import CPT, ICD10CM, SNOMED, normalise_icd10cm
from sandbox.seed import (
    FIRST_DAY,
    HCC_SUFFIX,
    ICD10CM_OID,
    LAST_DAY,
    MRN_SYSTEM,
    NPI_SYSTEM,
    build_seed_bundle,
    load_bundle_file,
    npi_check_digit,
)
from sandbox.seed_catalog import CONDITIONS, PROCEDURES
from sandbox.store import Store

CODE_LIST = "simple_icd_10_cm/data/code-list-April-2026.txt"


@cache
def icd10cm_codes() -> frozenset[str]:
    """The FY2026 ICD-10-CM codes and headers (dotless), without the chapter and block rows."""
    path = Path(str(importlib.metadata.distribution("simple-icd-10-cm").locate_file(CODE_LIST)))
    return frozenset(
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and "-" not in line and not line.strip().isdigit()
    )


@cache
def icd10cm_headers() -> frozenset[str]:
    """Codes that have subcodes: categories and subcategories, which are not billable."""
    return frozenset(code[:end] for code in icd10cm_codes() for end in range(3, len(code)))


def is_billable(code: str) -> bool:
    return code in icd10cm_codes() and code not in icd10cm_headers()


def resources(bundle: dict[str, Any], resource_type: str | None = None) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if resource_type in (None, e["resource"]["resourceType"])
    ]


def icd_codings(condition: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in condition["code"]["coding"] if c["system"] in {ICD10CM, ICD10CM_OID}]


def test_same_seed_gives_identical_bytes():
    assert orjson.dumps(build_seed_bundle(7, 12)) == orjson.dumps(build_seed_bundle(7, 12))
    assert orjson.dumps(build_seed_bundle(8, 12)) != orjson.dumps(build_seed_bundle(7, 12))


def test_ids_are_deterministic_puts(seed_bundle):
    for entry in seed_bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{resource['resourceType']}/{resource['id']}",
        }
    counts = Counter(r["resourceType"] for r in resources(seed_bundle))
    assert counts["Patient"] == counts["Coverage"] == 12
    assert 24 <= counts["Encounter"] <= 48
    assert counts["Condition"] >= 25
    assert counts["Procedure"] > 0
    assert counts["Practitioner"] > 0
    assert counts["Organization"] >= 2


def test_every_resource_validates_as_r4b(seed_bundle):
    for resource in resources(seed_bundle):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    get_fhir_model_class("Bundle").model_validate(seed_bundle)


def test_curated_icd10cm_codes_are_billable_in_fy2026():
    not_billable = [
        spec.icd10cm for spec in CONDITIONS if not is_billable(spec.icd10cm.replace(".", ""))
    ]
    assert not_billable == []
    assert len(CONDITIONS) >= 30
    assert len({spec.snomed for spec in CONDITIONS}) == len(CONDITIONS)


def test_seeded_icd10cm_codes_are_billable_except_the_deliberate_headers(seed_bundle):
    headers = []
    for condition in resources(seed_bundle, "Condition"):
        for coding in icd_codings(condition):
            code = normalise_icd10cm(coding["code"])
            assert code is not None, coding
            assert code in icd10cm_codes(), coding
            if not is_billable(code):
                headers.append(code)
                assert len(code) == 3
    conditions = len(resources(seed_bundle, "Condition"))
    assert 1 <= len(headers) <= conditions // 10  # rare, but present


def test_conditions_come_in_both_vendor_shapes(seed_bundle):
    encounters = {e["id"]: e for e in resources(seed_bundle, "Encounter")}
    epic, synthea = 0, 0
    for condition in resources(seed_bundle, "Condition"):
        systems = {c["system"] for c in condition["code"]["coding"]}
        encounter = encounters[condition["encounter"]["reference"].removeprefix("Encounter/")]
        listed = {d["condition"]["reference"] for d in encounter.get("diagnosis", [])}
        if icd_codings(condition):
            epic += 1
            assert SNOMED in systems
            assert f"Condition/{condition['id']}" in listed
        else:
            synthea += 1
            assert systems == {SNOMED}
            assert "diagnosis" not in encounter
        assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    total = epic + synthea
    assert 0.3 * total <= epic <= 0.7 * total


def test_epic_shaped_codings_vary_as_real_feeds_do(seed_bundle):
    codings = [
        c for condition in resources(seed_bundle, "Condition") for c in icd_codings(condition)
    ]
    assert any("." in c["code"] for c in codings)
    assert any("." not in c["code"] and len(c["code"]) > 3 for c in codings)
    assert any(c["system"] == ICD10CM_OID for c in codings)
    assert any(c["display"].endswith(HCC_SUFFIX) for c in codings)


def test_encounter_diagnosis_roles_and_ranks(seed_bundle):
    uses = set()
    for encounter in resources(seed_bundle, "Encounter"):
        diagnosis = encounter.get("diagnosis", [])
        assert [d["rank"] for d in diagnosis] == list(range(1, len(diagnosis) + 1))
        for item in diagnosis:
            coding = item["use"]["coding"][0]
            assert coding["system"] == "http://terminology.hl7.org/CodeSystem/diagnosis-role"
            uses.add(coding["code"])
    assert uses == {"AD", "DD", "billing"}


def test_deliberate_problems_are_present(seed_bundle):
    statuses = Counter(
        c["verificationStatus"]["coding"][0]["code"] for c in resources(seed_bundle, "Condition")
    )
    assert statuses["refuted"] >= 1
    assert statuses["entered-in-error"] >= 1
    for condition in resources(seed_bundle, "Condition"):
        if condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error":
            assert "clinicalStatus" not in condition  # FHIR invariant con-5


def test_encounters_mix_classes_and_statuses_inside_fy2026(seed_bundle):
    encounters = resources(seed_bundle, "Encounter")
    assert {e["class"]["code"] for e in encounters} == {"AMB", "EMER", "IMP"}
    statuses = Counter(e["status"] for e in encounters)
    assert statuses["finished"] > len(encounters) / 2
    assert statuses["in-progress"] >= 1
    assert statuses["planned"] >= 1
    for encounter in encounters:
        start = date.fromisoformat(encounter["period"]["start"][:10])
        end = date.fromisoformat(encounter["period"].get("end", encounter["period"]["start"])[:10])
        assert FIRST_DAY <= start <= end <= LAST_DAY
        assert encounter["participant"][0]["individual"]["reference"].startswith("Practitioner/")
        assert encounter["serviceProvider"]["reference"].startswith("Organization/")
        if encounter["class"]["code"] == "IMP" and encounter["status"] == "finished":
            assert (end - start).days >= 2
            assert encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"]
    for condition in resources(seed_bundle, "Condition"):
        assert FIRST_DAY <= date.fromisoformat(condition["onsetDateTime"][:10]) <= LAST_DAY


def test_procedures_sit_inside_their_encounter_with_bare_cpt_codes(seed_bundle):
    encounters = {e["id"]: e for e in resources(seed_bundle, "Encounter")}
    with_cpt = 0
    for procedure in resources(seed_bundle, "Procedure"):
        encounter = encounters[procedure["encounter"]["reference"].removeprefix("Encounter/")]
        assert procedure["status"] == "completed"
        assert (
            encounter["period"]["start"]
            <= procedure["performedDateTime"]
            <= encounter["period"]["end"]
        )
        cpt = [c for c in procedure["code"]["coding"] if c["system"] == CPT]
        for coding in cpt:
            assert set(coding) == {"system", "code"}  # never a CPT descriptor
            with_cpt += 1
        if encounter["class"]["code"] == "IMP":
            assert cpt == []
    assert with_cpt > 0


def test_no_cpt_descriptor_text_anywhere(seed_bundle):
    cpt_codes = {spec.cpt for spec in PROCEDURES if spec.cpt}
    for procedure in resources(seed_bundle, "Procedure"):
        codes = {c["code"] for c in procedure["code"]["coding"] if c["system"] == CPT}
        if codes:
            snomed_display = next(
                c["display"] for c in procedure["code"]["coding"] if c["system"] == SNOMED
            )
            assert procedure["code"]["text"] == snomed_display
            assert codes <= cpt_codes


def test_practitioner_npis_pass_the_luhn_check(seed_bundle):
    npis = [
        identifier["value"]
        for resource in resources(seed_bundle)
        for identifier in resource.get("identifier", [])
        if identifier.get("system") == NPI_SYSTEM
    ]
    assert len(npis) >= 2
    for npi in npis:
        assert len(npi) == 10
        assert npi[0] in "12"
        assert npi[-1] == npi_check_digit(npi[:9])
    assert npi_check_digit("123456789") == "3"  # CMS's published example, 1234567893


def test_patients_span_ages_and_have_mrns(seed_bundle):
    ages = []
    for patient in resources(seed_bundle, "Patient"):
        assert patient["identifier"][0]["system"] == MRN_SYSTEM
        assert patient["gender"] in {"female", "male"}
        born = date.fromisoformat(patient["birthDate"])
        ages.append((FIRST_DAY - born).days // 365)
    assert min(ages) == 0
    assert max(ages) >= 65
    assert max(ages) <= 90


def test_coverage_names_a_payer_and_subscriber_id(seed_bundle):
    organizations = {o["id"] for o in resources(seed_bundle, "Organization")}
    for coverage in resources(seed_bundle, "Coverage"):
        assert coverage["subscriberId"]
        assert coverage["payor"][0]["reference"].removeprefix("Organization/") in organizations
        assert coverage["beneficiary"]["reference"].startswith("Patient/")


def test_seed_loads_from_a_file_and_reloads_idempotently(tmp_path, seed_bundle):
    path = tmp_path / "seed.json"
    path.write_bytes(orjson.dumps(seed_bundle))
    with Store(tmp_path / "db.sqlite3") as store:
        first = load_bundle_file(store, path)
        assert {e["response"]["status"] for e in first["entry"]} == {"201 Created"}
        count = store.resource_count()
        assert count == len(seed_bundle["entry"])

        second = load_bundle_file(store, path)

        assert {e["response"]["status"] for e in second["entry"]} == {"200 OK"}
        assert store.resource_count() == count
        patient = store.read("Patient", "pat-0001")
        assert patient is not None
        assert patient.version_id == 2


def test_a_file_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[]")
    with Store(tmp_path / "db.sqlite3") as store, pytest.raises(TypeError):
        load_bundle_file(store, path)


def test_patient_count_is_checked():
    with pytest.raises(ValueError, match="patients"):
        build_seed_bundle(patients=-1)
    assert len(build_seed_bundle(patients=0)["entry"]) > 0  # organisations, practitioners
