"""The pipeline's Claims get the NCCI PTP and MUE edits the environment configures.

``FHIR_CODER_NCCI_PTP_DIR`` / ``FHIR_CODER_MUE_DIR`` name folders of CMS files (written here
in the CMS formats the loader reads); every Claim ``code_and_build`` makes (``code``,
``run``, ``watch`` and ``serve`` all go through it) is scrubbed with them, loaded once per
process, and its findings are those ``fhir-coder validate`` gives on the same Claim.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from adapters.cli.main import main
from adapters.coding_setup import CodingSetup
from adapters.exit_codes import ExitCode
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.pipeline import Outcome, Pipeline
from adapters.processing import Processed, code_and_build
from adapters.scrubbing import default_scrubber, pipeline_scrubber
from codesets.ncci import NcciEdits
from codesets.ncci_config import MUE_DIR_ENV, PTP_DIR_ENV, configured_folders, shared_ncci
from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Severity
from fhir_coder.validation import validate
from sandbox.seed import build_seed_bundle
from tests.adapters.test_processing import CREATED, assert_validate_agrees

CPT = "http://www.ama-assn.org/go/cpt"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
DAY = "2026-01-15"


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    """A practitioner PTP file and MUE file in CMS's layouts.

    83036 is bundled into the office visit 99213 (modifier indicator 0: never bypassed);
    96372 is allowed one unit per line (adjudication indicator 1).
    """
    ptp, mue = tmp_path / "ptp", tmp_path / "mue"
    ptp.mkdir()
    mue.mkdir()
    (ptp / "ccipra-v321r0-f1.txt").write_text(
        "CPT codes and descriptions only are copyright American Medical Association "
        "(synthetic file)\n"
        "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\t"
        "Deletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\t"
        "PTP Edit Rationale\n"
        "99213\t83036\t\t20200101\t*\t0\tSynthetic rationale: misuse of column two code\n"
    )
    (mue / "MCR_MUE_PractitionerServices_Eff_2026-01-01.csv").write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,"
        "MUE Rationale\n"
        "96372,1,1 Line Edit,Clinical: Data\n"
    )
    return ptp, mue


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tables: tuple[Path, Path]) -> tuple[Path, Path]:
    """The tables configured the way an organisation does: in the environment."""
    monkeypatch.setenv(PTP_DIR_ENV, str(tables[0]))
    monkeypatch.setenv(MUE_DIR_ENV, str(tables[1]))
    return tables


@pytest.fixture
def own_coding(coding: CodingSetup) -> CodingSetup:
    """The production set-up under a new identity: its default scrubber reads the
    environment afresh (one scrubber is kept per set-up, built at its first Claim)."""
    return dataclasses.replace(coding)


def visit_bundle() -> dict[str, Any]:
    """An office visit: the E/M line (99213), an HbA1c (83036) and two injections (96372)."""

    def procedure(pid: str, code: str) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "id": pid,
            "status": "completed",
            "subject": {"reference": "Patient/p"},
            "encounter": {"reference": "Encounter/e"},
            "performedDateTime": f"{DAY}T09:10:00Z",
            "code": {"coding": [{"system": CPT, "code": code}]},
        }

    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-05-17"},
        {
            "resourceType": "Organization",
            "id": "o",
            "identifier": [{"system": NPI, "value": "1234567893"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "d",
            "identifier": [{"system": NPI, "value": "1245319599"}],
        },
        {
            "resourceType": "Coverage",
            "id": "c",
            "status": "active",
            "beneficiary": {"reference": "Patient/p"},
            "payor": [{"reference": "Organization/payer", "display": "Payer"}],
        },
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/p"},
            "participant": [{"individual": {"reference": "Practitioner/d"}}],
            "serviceProvider": {"reference": "Organization/o"},
            "period": {"start": f"{DAY}T09:00:00Z", "end": f"{DAY}T09:30:00Z"},
        },
        {
            "resourceType": "Condition",
            "id": "dm",
            "subject": {"reference": "Patient/p"},
            "encounter": {"reference": "Encounter/e"},
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": ICD, "code": "E11.9"}]},
        },
        procedure("a1c", "83036"),
        procedure("inj1", "96372"),
        procedure("inj2", "96372"),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources],
    }


def processed_visit(coding: CodingSetup) -> Processed:
    (encounter,) = encounters_in_bundle(visit_bundle(), source_id="test")
    return code_and_build(encounter, coding, created=CREATED)


def scrub_findings(processed: Processed) -> tuple[Any, ...]:
    """The scrubber's part of the pipeline's findings (after coding's and validation's)."""
    before = processed.coded.issues + validate(processed.coded)
    assert processed.issues[: len(before)] == before
    return processed.issues[len(before) :]


def item_codes(claim: dict[str, Any]) -> list[str]:
    return [item["productOrService"]["coding"][0]["code"] for item in claim["item"]]


def test_configured_tables_bundle_and_limit_units_on_the_pipelines_claim(configured, own_coding):
    processed = processed_visit(own_coding)
    claim = processed.claim
    assert claim is not None, processed.issues
    assert item_codes(claim) == ["99213", "83036", "96372"]
    assert claim["item"][2]["quantity"] == {"value": 2}
    found = {issue.rule: issue for issue in scrub_findings(processed)}
    assert "NCCI-NOT-LOADED" not in found
    ptp, mue = found["NCCI-PTP"], found["MUE-UNITS"]
    assert ptp.severity is Severity.ERROR
    assert ptp.message.startswith(
        f"NCCI: item 2 (83036) is bundled into item 1 (99213) on {DAY} (modifier indicator 0"
    )
    assert ptp.expression == ("Claim.item[1].productOrService.coding[0].code",)
    assert mue.severity is Severity.ERROR
    assert "96372" in mue.message
    assert mue.expression[0].startswith("Claim.item[2]")
    assert claim["status"] == "draft"  # the bundling and the units block submission
    assert_validate_agrees(
        processed, default_scrubber(codesets=own_coding.codesets, notes=own_coding.notes)
    )


def test_fhir_coder_validate_finds_the_same_on_the_written_claim(
    configured, own_coding, tmp_path, capsys, monkeypatch
):
    """The Claim the pipeline wrote, through the command with ``--ptp-dir``/``--mue-dir``."""
    processed = processed_visit(own_coding)
    assert processed.claim is not None
    ptp, mue = configured
    monkeypatch.delenv(PTP_DIR_ENV)
    monkeypatch.delenv(MUE_DIR_ENV)
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1960-05-17"}
    path = tmp_path / "claim.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": processed.claim}, {"resource": patient}],
            }
        )
    )
    arguments = ["validate", str(path), "--json", "--ptp-dir", str(ptp), "--mue-dir", str(mue)]
    assert main(arguments) == ExitCode.FINDINGS
    result = json.loads(capsys.readouterr().out)
    from_validate = [
        (i["id"], i["severity"], i["message"], tuple(i["expression"])) for i in result["issues"]
    ]
    from_pipeline = [
        (i.rule, i.severity.value, i.message, i.expression) for i in scrub_findings(processed)
    ]
    assert from_validate == from_pipeline
    assert {"NCCI-PTP", "MUE-UNITS"} <= {rule for rule, *_ in from_validate}


def test_without_tables_the_pipeline_says_so_as_validate_does(monkeypatch, own_coding):
    monkeypatch.delenv(PTP_DIR_ENV, raising=False)
    monkeypatch.delenv(MUE_DIR_ENV, raising=False)
    processed = processed_visit(own_coding)
    assert processed.claim is not None
    rules = [issue.rule for issue in scrub_findings(processed)]
    assert "NCCI-NOT-LOADED" in rules
    assert not {"NCCI-PTP", "MUE-UNITS"} & set(rules)
    assert processed.claim["status"] == "active"
    assert pipeline_scrubber(own_coding).procedure_edits is None
    assert_validate_agrees(
        processed, default_scrubber(codesets=own_coding.codesets, notes=own_coding.notes)
    )


def test_the_tables_are_loaded_once_per_process(configured, own_coding, monkeypatch):
    loads: list[tuple[Path | None, Path | None]] = []
    real = NcciEdits.__init__

    def counting(self: NcciEdits, **folders: Any) -> None:
        loads.append((folders.get("ptp_dir"), folders.get("mue_dir")))
        real(self, **folders)

    monkeypatch.setattr(NcciEdits, "__init__", counting)
    for _ in range(5):
        assert processed_visit(own_coding).claim["status"] == "draft"
    # validate's scrubber for the same folders, named by flags, shares the loaded tables
    ptp, mue = configured
    validate_scrubber = default_scrubber(ptp_dir=ptp, mue_dir=mue)
    assert validate_scrubber.procedure_edits is pipeline_scrubber(own_coding).procedure_edits
    assert validate_scrubber.procedure_edits is shared_ncci()
    assert loads == [(ptp, mue)]


def test_a_missing_folder_stops_the_first_claim_with_a_clear_error(
    monkeypatch, tmp_path, own_coding
):
    monkeypatch.setenv(PTP_DIR_ENV, str(tmp_path / "absent"))
    monkeypatch.delenv(MUE_DIR_ENV, raising=False)
    with pytest.raises(ConfigurationError, match="NCCI PTP folder"):
        processed_visit(own_coding)


def test_a_flag_wins_over_the_environment_for_its_folder_only(configured, tmp_path):
    ptp, mue = configured
    other = tmp_path / "other-ptp"
    assert configured_folders() == (ptp, mue)
    assert configured_folders(ptp_dir=other) == (other, mue)


async def test_a_pipeline_run_over_a_server_drafts_the_bundled_claim(
    configured, own_coding, asgi_fhir
):
    """``Pipeline.process`` (what ``code``, ``run``, ``watch`` and ``serve`` call)."""
    for resource in visit_bundle()["entry"]:
        status, _ = await asgi_fhir.update(resource["resource"])
        assert status in (200, 201)
    pipeline = Pipeline(asgi_fhir, own_coding, write=False)
    result = await pipeline.process("e")
    assert result.outcome is Outcome.BUILT, (result.error, result.issues)
    assert result.claim is not None
    assert result.claim["status"] == "draft"
    rules = {issue.rule for issue in result.issues}
    assert {"NCCI-PTP", "MUE-UNITS"} <= rules
    assert "NCCI-NOT-LOADED" not in rules


def test_the_seed_corpus_scrubbed_with_tables_agrees_with_validate(
    own_coding, tmp_path, monkeypatch
):
    """Tables hitting the generator's codes: every Claim's findings are validate's."""
    ptp, mue = tmp_path / "seed-ptp", tmp_path / "seed-mue"
    ptp.mkdir()
    mue.mkdir()
    header = "Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tRationale\n"
    (ptp / "ccipra-v321r0-f1.txt").write_text(
        header
        + "99213\t93000\t\t20200101\t*\t1\tSynthetic: visit includes the ECG\n"
        + "99213\t85025\t\t20200101\t*\t0\tSynthetic: visit includes the count\n"
        + "99283\t71046\t\t20200101\t*\t0\tSynthetic: emergency visit includes the film\n"
    )
    (mue / "MCR_MUE_PractitionerServices_Eff_2020-01-01.csv").write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,"
        "MUE Rationale\n"
        "83036,1,2 Date of Service Edit: Policy,Policy\n"
        "93000,1,1 Line Edit,Data\n"
    )
    monkeypatch.setenv(PTP_DIR_ENV, str(ptp))
    monkeypatch.setenv(MUE_DIR_ENV, str(mue))
    scrubber = default_scrubber(codesets=own_coding.codesets, notes=own_coding.notes)
    encounters = encounters_in_bundle(build_seed_bundle(seed=3, patients=60), source_id="seed")
    rules: Counter[str] = Counter()
    drafted = 0
    for encounter in encounters:
        processed = code_and_build(encounter, own_coding, created=CREATED)
        if processed.claim is None:
            continue
        assert_validate_agrees(processed, scrubber)
        found = {issue.rule for issue in scrub_findings(processed)}
        rules.update(found)
        drafted += bool(found & {"NCCI-PTP", "MUE-UNITS", "MUE-UNITS-DOS"})
    assert rules["NCCI-PTP"] > 0
    assert "NCCI-NOT-LOADED" not in rules
    assert drafted > 0
