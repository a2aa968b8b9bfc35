"""``fhir-coder validate``: any R4 Claim scrubbed with the real code sets, MCE and NCCI loader."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.operationoutcome import OperationOutcome

from adapters.claim_input import claim_from_eob, claims_in, read_claim
from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from adapters.payer_profiles import load_profiles, profile_named
from adapters.scrubbing import default_scrubber, scrub_claim_json
from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Severity
from tests.shared_data import shared_data_dir

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"


def diagnosis(sequence: int, code: str, kind: str = "secondary", poa: str = "y") -> dict[str, Any]:
    return {
        "sequence": sequence,
        "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": code}]},
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                        "code": kind,
                    }
                ]
            }
        ],
        "onAdmission": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission",
                    "code": poa,
                }
            ]
        },
    }


def institutional(*codes: str, patient: str = "Patient/p1") -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "id": "stay-1",
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "institutional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": patient},
        "billablePeriod": {"start": "2026-02-25", "end": "2026-03-02"},
        "created": "2026-03-03",
        "provider": {"reference": "Organization/hospital"},
        "insurer": {"reference": "Organization/payer"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "diagnosis": [
            diagnosis(n, code, "principal" if n == 1 else "secondary")
            for n, code in enumerate(codes, start=1)
        ],
        "procedure": [
            {
                "sequence": 1,
                "procedureCodeableConcept": {"coding": [{"system": PCS, "code": "0DTJ4ZZ"}]},
            }
        ],
        "item": [
            {
                "sequence": 1,
                "revenue": {"coding": [{"code": "0360"}]},
                "productOrService": {"coding": [{"system": CPT, "code": "44970"}]},
                "quantity": {"value": 1},
                "net": {"value": 5000, "currency": "USD"},
            }
        ],
        "total": {"value": 5000, "currency": "USD"},
    }


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1956-04-01"}


def bundle(claim: dict[str, Any], patient: dict[str, Any] | None = PATIENT) -> dict[str, Any]:
    entries = [{"fullUrl": "urn:uuid:claim", "resource": claim}]
    if patient is not None:
        entries.append({"fullUrl": "urn:uuid:patient", "resource": patient})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write(tmp_path: Path, resource: dict[str, Any], name: str = "claim.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(resource))
    return path


def run_json(capsys, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["validate", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def ids(result: dict[str, Any]) -> list[str]:
    return [issue["id"] for issue in result["issues"]]


def test_a_manifestation_as_principal_is_an_error_on_its_element(tmp_path, capsys):
    path = write(tmp_path, bundle(institutional("G01", "A39.0")))
    code, result = run_json(capsys, str(path))
    assert code == ExitCode.FINDINGS
    (found,) = [i for i in result["issues"] if i["id"] == "MCE-MANIFESTATION-AS-PDX"]
    assert found["severity"] == "error"
    assert found["message"].startswith("MCE MANIFESTATION_AS_PDX: principal diagnosis G01 is")
    assert found["expression"] == ["Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code"]
    assert "AGE-UNKNOWN" not in ids(result)  # the Patient in the Bundle gave the age
    assert result["claims"] == [
        {
            "claim": "Claim/stay-1",
            # information: NCCI-NOT-LOADED, ICD10CM-USE-ADDITIONAL, and CODE-NOT-CHECKED for
            # the CPT line (no licensed CPT file in the tests)
            "counts": {"fatal": 0, "error": 1, "warning": 2, "information": 3},
        }
    ]
    assert [i["message"] for i in result["issues"] if i["id"] == "CODE-NOT-CHECKED"] == [
        (
            "CPT codes were not checked for validity (item 1 (44970)): "
            "no licensed CPT file is configured"
        )
    ]


def test_a_clean_claim_exits_zero_with_only_warnings_and_information(tmp_path, capsys):
    path = write(tmp_path, bundle(institutional("K35.80", "E11.9")))
    code, result = run_json(capsys, str(path))
    assert code == ExitCode.OK, result
    assert all(issue["severity"] != "error" for issue in result["issues"])
    assert "NCCI-NOT-LOADED" in ids(result)  # nothing passes silently


def test_age_and_sex_come_from_a_contained_patient_or_the_flags(tmp_path, capsys):
    claim = institutional("J18.9", "Z38.00", patient="#pat")
    claim["contained"] = [{**PATIENT, "id": "pat"}]
    _, result = run_json(capsys, str(write(tmp_path, claim)))
    (age,) = [i for i in result["issues"] if i["id"] == "MCE-AGE-CONFLICT"]
    assert age["message"] == (
        "MCE AGE_CONFLICT: diagnosis 2 (Z38.00) conflicts with the patient's age (69)"
    )
    assert age["expression"] == ["Claim.diagnosis[1].diagnosisCodeableConcept.coding[0].code"]
    del claim["contained"]
    _, result = run_json(capsys, str(write(tmp_path, claim)))
    assert "AGE-UNKNOWN" in ids(result)
    assert "MCE-AGE-CONFLICT" not in ids(result)
    _, result = run_json(capsys, str(write(tmp_path, claim)), "--age", "0", "--sex", "male")
    assert "AGE-UNKNOWN" not in ids(result)
    assert "MCE-AGE-CONFLICT" not in ids(result)  # Z38.00 suits a newborn


def test_the_patient_can_come_from_the_source_server(tmp_path, capsys, loopback_base_url):
    newborn = {**PATIENT, "id": "validate-newborn", "birthDate": "2026-02-25"}
    response = httpx.put(f"{loopback_base_url}/Patient/validate-newborn", json=newborn)
    assert response.status_code in (200, 201)
    path = write(tmp_path, institutional("J18.9", "Z38.00", patient="Patient/validate-newborn"))
    _, result = run_json(capsys, str(path), "--server", loopback_base_url)
    assert "AGE-UNKNOWN" not in ids(result)
    assert "MCE-AGE-CONFLICT" not in ids(result)
    _, result = run_json(capsys, str(path))
    assert "AGE-UNKNOWN" in ids(result)


def test_the_date_flag_moves_the_date_of_service(tmp_path, capsys):
    path = write(tmp_path, bundle(institutional("J18.9")))
    _, result = run_json(capsys, str(path), "--date", "2017-05-01")
    assert "CODE-DATE-NOT-COVERED" in ids(result)


def test_the_outcome_is_a_conformant_operation_outcome(tmp_path, capsys):
    path = write(tmp_path, bundle(institutional("G01", "E11")))
    code = main(["validate", str(path), "--outcome"])
    outcome = json.loads(capsys.readouterr().out)
    assert code == ExitCode.FINDINGS
    OperationOutcome.model_validate(outcome)
    rules = [i["details"]["coding"][0]["code"] for i in outcome["issue"]]
    assert {"MCE-MANIFESTATION-AS-PDX", "ICD10CM-NOT-BILLABLE"} <= set(rules)


def test_the_table_names_each_finding_and_its_fix(tmp_path, capsys):
    path = write(tmp_path, bundle(institutional("J18.9", "E11")))
    assert main(["validate", str(path)]) == ExitCode.FINDINGS
    text = capsys.readouterr().out
    assert text.startswith("Claim/stay-1: 1 error")
    assert "ICD10CM-NOT-BILLABLE" in text
    assert "Claim.diagnosis[1].diagnosisCodeableConcept.coding[0].code" in text
    assert "fix: use one of E11.00, E11.01" in text


def test_ncci_edits_come_from_cms_files(tmp_path, capsys):
    ptp = tmp_path / "ptp"
    ptp.mkdir()
    (ptp / "ccipra-v321r0-f1.txt").write_text(
        "Column1\tColumn2\t*\tEffective\tDeletion\tModifier\tRationale\n"
        "93000\t93005\t\t20200101\t*\t0\tSynthetic rationale\n"
    )
    claim = institutional("I10")
    claim["type"]["coding"][0]["code"] = "professional"
    claim["item"] = [
        {
            "sequence": n,
            "productOrService": {"coding": [{"system": CPT, "code": code}]},
            "diagnosisSequence": [1],
            "servicedDate": "2026-03-02",
        }
        for n, code in enumerate(("93000", "93005"), start=1)
    ]
    del claim["total"]
    path = write(tmp_path, bundle(claim))
    _, result = run_json(capsys, str(path), "--ptp-dir", str(ptp))
    (found,) = [i for i in result["issues"] if i["id"] == "NCCI-PTP"]
    assert found["message"].startswith(
        "NCCI: item 2 (93005) is bundled into item 1 (93000) on 2026-03-02 (modifier indicator 0"
    )
    assert found["expression"] == ["Claim.item[1].productOrService.coding[0].code"]
    assert "NCCI-NOT-LOADED" not in ids(result)


def test_payer_profiles_from_a_settings_file(tmp_path, capsys):
    settings = tmp_path / "payers.toml"
    settings.write_text(
        '[profiles.acme]\nextends = "commercial"\n'
        '[profiles.acme.edits]\n"MCE-MANIFESTATION-AS-PDX" = "warning"\n"POA-MISSING" = "off"\n'
    )
    profiles = load_profiles(settings)
    assert profiles["acme"].sex_edits is True
    assert profiles["acme"].severity("MCE-MANIFESTATION-AS-PDX") is Severity.WARNING
    assert profiles["acme"].severity("POA-MISSING") is None
    assert profiles["acme"].severity("MCE-SEX-CONFLICT") is Severity.WARNING  # inherited
    path = write(tmp_path, bundle(institutional("G01", "A39.0")))
    code, result = run_json(capsys, str(path), "--payer", "acme", "--profiles", str(settings))
    assert code == ExitCode.OK
    (found,) = [i for i in result["issues"] if i["id"] == "MCE-MANIFESTATION-AS-PDX"]
    assert found["severity"] == "warning"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[profiles.x.edits]\n"NO-SUCH" = "error"\n', "unknown edits: NO-SUCH"),
        ('[profiles.x.edits]\n"POA-MISSING" = "fatal-ish"\n', "'fatal-ish' is not one of"),
        ('[profiles.x]\nextends = "nobody"\n', "extends unknown 'nobody'"),
        ("[profiles.x\n", "cannot read payer profiles"),
    ],
)
def test_a_wrong_profile_file_is_a_configuration_error(tmp_path, text, words):
    settings = tmp_path / "payers.toml"
    settings.write_text(text)
    with pytest.raises(ConfigurationError, match=words):
        profile_named("x", settings)


def test_errors_reading_the_file_have_their_own_exit_code(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.json")]) == ExitCode.CONFIGURATION
    path = write(tmp_path, {"resourceType": "Patient", "id": "x"})
    assert main(["validate", str(path)]) == ExitCode.CONFIGURATION
    assert "holds no Claim" in capsys.readouterr().err
    assert main(["validate", str(path), "--payer", "nobody"]) == ExitCode.CONFIGURATION


def test_the_reader_agrees_with_fhir_resources_on_a_conformant_claim():
    claim = institutional("G01", "A39.0")
    model = Claim.model_validate(claim)
    form = read_claim(claim, PATIENT)
    assert [d.sequence for d in form.diagnoses] == [d.sequence for d in model.diagnosis]
    assert [i.code for i in form.items] == [i.productOrService.coding[0].code for i in model.item]
    assert form.claim_type == "institutional"
    assert (form.age, form.sex) == (69, "female")
    assert form.total == float(model.total.value)


def _shared_claims() -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    found = []
    for folder in ("fhir-r4-examples", "carin-bb", "bfd", "synthea-bundles"):
        for path in sorted(shared_data_dir(folder).glob("*.json")):
            resource = json.loads(path.read_text())
            found.extend(
                (f"{path.name} {entry.label}", entry.claim, entry.patient)
                for entry in claims_in(resource, with_eobs=True)
            )
    return found


def test_every_claim_and_eob_in_the_shared_data_is_scrubbed_and_none_passes_silently():
    scrubber = default_scrubber()
    claims = _shared_claims()
    assert len(claims) > 300
    for label, claim, patient in claims:
        before = copy.deepcopy(claim)
        issues = scrub_claim_json(claim, scrubber, patient=patient, label=label)
        assert issues, f"{label} passed without a single finding"
        assert claim == before  # read, never changed
    eob_claims = [c for label, c, _ in claims if "ExplanationOfBenefit/" in label]
    assert len(eob_claims) > 100
    assert all("adjudication" not in item for c in eob_claims for item in c.get("item", []))


def test_a_claim_derived_from_an_eob_keeps_codes_and_drops_adjudication():
    eob = json.loads(
        (shared_data_dir("carin-bb") / "ExplanationOfBenefit_InpatientEOBExample1.json").read_text()
    )
    claim = claim_from_eob(eob)
    assert claim["resourceType"] == "Claim"
    assert claim["diagnosis"] == eob["diagnosis"]
    assert claim["insurance"][0]["coverage"] == eob["insurance"][0]["coverage"]
    assert "adjudication" not in json.dumps(claim.get("item", []))


async def test_the_pipeline_scrubs_the_claim_it_built_and_blocking_findings_make_a_draft(
    asgi_fhir,
):
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from adapters.pipeline import Outcome, Pipeline  # noqa: PLC0415
    from fhir_coder.edits import CATALOGUE, PayerProfile  # noqa: PLC0415

    coding = default_coding()
    plain = await Pipeline(asgi_fhir, coding, write=False).process("enc-0001-1")
    assert plain.outcome is Outcome.BUILT
    scrub_rules = {issue.rule for issue in plain.issues} & set(CATALOGUE)
    assert scrub_rules, plain.issues
    # A payer that makes one of those findings an error gets a draft Claim.
    strict = PayerProfile("strict", dict.fromkeys(scrub_rules, Severity.ERROR))
    scrubber = default_scrubber(strict, codesets=coding.codesets, notes=coding.notes)
    held = await Pipeline(asgi_fhir, coding, write=False, scrubber=scrubber).process("enc-0001-1")
    assert held.claim is not None
    assert held.claim["status"] == "draft"
    assert any(i.severity is Severity.ERROR and i.rule in scrub_rules for i in held.issues)


@pytest.mark.parametrize("junk", [None, 7, "x", [], {}, [None, 3, "y"], {"coding": "z"}])
def test_any_element_of_any_shape_is_read_leniently_and_reported_not_raised(junk):
    scrubber = default_scrubber()
    base = institutional("J18.9", "E11.9")
    base["item"][0] |= {
        "diagnosisSequence": [1],
        "modifier": [{"coding": [{"code": "59"}]}],
        "servicedPeriod": {"start": "2026-03-01"},
        "unitPrice": {"value": 5000},
        "factor": 1,
    }
    base["procedure"][0]["date"] = "2026-03-01"
    paths = (
        [(key,) for key in base]
        + [("diagnosis", 0, key) for key in base["diagnosis"][0]]
        + [("item", 0, key) for key in base["item"][0]]
        + [("procedure", 0, key) for key in base["procedure"][0]]
    )
    for path in paths:
        claim = copy.deepcopy(base)
        node: Any = claim
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = junk
        issues = scrub_claim_json(claim, scrubber, patient={"gender": junk, "birthDate": junk})
        assert all(issue.rule for issue in issues), path


def _as_ndjson(folder, resources_by_type):
    folder.mkdir()
    for kind, resources in resources_by_type.items():
        lines = [json.dumps(r) for r in resources]
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("shared", "claims_file", "patient_file"),
    [
        ("bfd", "eobByPatientIdAll.json", "patientRead.json"),
        ("carin-bb", "ExplanationOfBenefit_*.json", "Patient_ExamplePatient1.json"),
    ],
)
def test_bulk_ndjson_of_eobs_and_patients_is_scrubbed_as_the_same_bundle_is(
    shared, claims_file, patient_file, tmp_path, capsys
):
    """CMS BCDA / Blue Button exports: ExplanationOfBenefit.ndjson beside Patient.ndjson."""
    folder = shared_data_dir(shared)
    eobs = []
    for path in sorted(folder.glob(claims_file)):
        resource = json.loads(path.read_text())
        entries = resource.get("entry") or [{"resource": resource}]
        eobs += [e["resource"] for e in entries if e["resource"]["resourceType"] != "Patient"]
    patient = json.loads((folder / patient_file).read_text())
    _as_ndjson(tmp_path / "export", {"ExplanationOfBenefit": eobs, "Patient": [patient]})
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in [*eobs, patient]]}  # fmt: skip
    (tmp_path / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")

    def findings(path):
        main(["validate", str(path), "--eob", "--json"])
        report = json.loads(capsys.readouterr().out)
        by_claim = {}
        for issue in report["issues"]:
            by_claim.setdefault(issue["claim"].split(" ")[-1], set()).add(issue["id"])
        return [c["claim"] for c in report["claims"]], by_claim

    labels, from_ndjson = findings(tmp_path / "export")
    bundle_labels, from_bundle = findings(tmp_path / "bundle.json")
    assert len(labels) == len(eobs) == len(bundle_labels)
    assert all(label.startswith("ExplanationOfBenefit.ndjson:") for label in labels)
    assert from_ndjson == from_bundle  # the Patient found across files, as in one Bundle


def test_a_bad_ndjson_line_is_reported_and_the_rest_scrubbed(tmp_path, capsys):
    claim = json.loads((shared_data_dir("fhir-r4-examples") / "Claim-100150.json").read_text())
    (tmp_path / "Claim.ndjson").write_text(
        json.dumps(claim) + '\n{"resourceType": "Claim", oops\n', encoding="utf-8"
    )
    main(["validate", str(tmp_path / "Claim.ndjson")])
    printed = capsys.readouterr().out
    assert "skipped: Claim.ndjson:2: not a FHIR resource; line skipped" in printed
    assert "Claim.ndjson:1 Claim/100150" in printed
