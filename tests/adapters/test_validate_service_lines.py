"""CPT/HCPCS codes and modifiers of service lines, checked against the code sets configured.

The scrubber asks the registry the coding engine asks (HCPCS from CMS's file, CPT from the
licensed file: synthetic ones here), and says once per claim what it could not check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.scrubbing import default_scrubber, scrub_claim_json
from codesets import CodeSetRegistry
from fhir_coder.model import (
    Coding,
    Procedure,
    SourceRef,
)
from fhir_coder.outcome import Issue, Severity
from fhir_coder.systems import CPT, HCPCS
from tests.adapters.claim_json import professional_claim
from tests.adapters.test_processing import (
    assert_validate_agrees,
    code_and_scrub,
    listed,
    office_visit,
)

FIXTURES = Path(__file__).resolve().parents[1] / "codesets" / "fixtures"
HCPCS_FILE = FIXTURES / "HCPC2026_JAN_ANWEB_synthetic.txt"
CPT_FILE = FIXTURES / "CPT2026_synthetic.txt"
HCPCS_URI = "https://bluebutton.cms.gov/resources/codesystem/hcpcs"
CPT_URI = "http://www.ama-assn.org/go/cpt"
PATIENT = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}


def line(sequence: int, system: str, code: str, *modifiers: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sequence": sequence,
        "productOrService": {"coding": [{"system": system, "code": code}]},
        "diagnosisSequence": [1],
        "servicedDate": "2026-03-02",
        "quantity": {"value": 1},
    }
    if modifiers:
        item["modifier"] = [{"coding": [{"code": m}]} for m in modifiers]
    return item


def claim(*items: dict[str, Any]) -> dict[str, Any]:
    return professional_claim(["E11.9"], items, claim_id="visit-2")


G9999_ZZ = claim(line(1, HCPCS_URI, "G9999", "ZZ"))
ITEM = "Claim.item[{}].productOrService.coding[0].code"


@pytest.fixture(scope="module")
def with_files() -> CodeSetRegistry:
    with CodeSetRegistry(hcpcs_file=HCPCS_FILE, cpt_file=CPT_FILE) as registry:
        yield registry


def rules(issues: tuple[Issue, ...], rule: str) -> list[Issue]:
    return [issue for issue in issues if issue.rule == rule]


def test_codes_and_modifiers_not_in_the_files_are_errors_on_their_elements(with_files):
    scrubber = default_scrubber(codesets=with_files, notes=with_files)
    issues = scrub_claim_json(
        claim(
            line(1, HCPCS_URI, "G9999", "ZZ", "XS"),
            line(2, CPT_URI, "99213", "25"),
            line(3, CPT_URI, "99214"),
            line(4, HCPCS_URI, "G9901"),  # terminated on 2025-12-31
            line(5, HCPCS_URI, "J9902", "LT"),  # added in 2026; LT is not in this file
        ),
        scrubber,
        patient=PATIENT,
    )
    invalid = rules(issues, "PROCEDURE-CODE-INVALID")
    assert [(i.message, i.expression) for i in invalid] == [
        (
            "item 1: G9999 is not a valid HCPCS Level II code on 2026-03-02 (HCPCS 2026 JAN)",
            (ITEM.format(0),),
        ),
        ("item 3: 99214 is not a valid CPT code on 2026-03-02 (CPT 2026)", (ITEM.format(2),)),
        (
            "item 4: G9901 is not a valid HCPCS Level II code on 2026-03-02 (HCPCS 2026 JAN)",
            (ITEM.format(3),),
        ),
    ]
    assert all(i.severity is Severity.ERROR for i in invalid)
    unknown = rules(issues, "MODIFIER-UNKNOWN")
    assert [(i.message, i.expression) for i in unknown] == [
        (
            "item 1: modifier ZZ is not a HCPCS modifier on 2026-03-02 (HCPCS 2026 JAN)",
            ("Claim.item[0].modifier[0]",),
        ),
        (
            "item 5: modifier LT is not a HCPCS modifier on 2026-03-02 (HCPCS 2026 JAN)",
            ("Claim.item[4].modifier[0]",),
        ),
    ]
    assert unknown[0].severity is Severity.ERROR
    assert rules(issues, "CODE-NOT-CHECKED") == []  # everything was checked


def run_validate(tmp_path: Path, resource: dict[str, Any], **env: str) -> list[dict[str, Any]]:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(resource))
    environment = {
        k: v for k, v in os.environ.items() if not k.endswith(("_CPT_FILE", "_HCPCS_FILE"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", "validate", str(path), "--json"],
        env=environment | env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["issues"]


def test_validate_with_the_hcpcs_file_configured_flags_g9999_and_zz(tmp_path):
    issues = run_validate(tmp_path, G9999_ZZ, FHIR_CODER_HCPCS_FILE=str(HCPCS_FILE))
    found = {(i["id"], tuple(i["expression"])) for i in issues}
    assert ("PROCEDURE-CODE-INVALID", (ITEM.format(0),)) in found
    assert ("MODIFIER-UNKNOWN", ("Claim.item[0].modifier[0]",)) in found
    assert [i for i in issues if i["id"] == "CODE-NOT-CHECKED"] == []


def test_validate_without_the_files_says_once_what_it_did_not_check(tmp_path):
    issues = run_validate(
        tmp_path, claim(line(1, HCPCS_URI, "G9999", "ZZ"), line(2, CPT_URI, "99213"))
    )
    unchecked = sorted(
        (i["message"], i["expression"], i["severity"])
        for i in issues
        if i["id"] == "CODE-NOT-CHECKED"
    )
    assert unchecked == [
        (
            (
                "CPT codes were not checked for validity (item 2 (99213)): "
                "no licensed CPT file is configured"
            ),
            [ITEM.format(1)],
            "information",
        ),
        (
            (
                "HCPCS Level II codes were not checked for validity (item 1 (G9999)): "
                "no HCPCS file is configured"
            ),
            [ITEM.format(0)],
            "information",
        ),
    ]
    # ZZ is checked for its shape only without the HCPCS file, as before it.
    assert not [i for i in issues if i["id"] in ("PROCEDURE-CODE-INVALID", "MODIFIER-UNKNOWN")]


def test_the_pipeline_and_validate_agree_on_service_lines(coding):
    def procedure(pid: str, system: str, code: str) -> Procedure:
        return Procedure(
            SourceRef(f"Procedure/{pid}"),
            (Coding(system, code),),
            status="completed",
            performed=date(2026, 1, 15),
        )

    encounter = office_visit(
        diagnoses=(listed("dm", "E11.9", 1),),
        procedures=(procedure("flu", HCPCS, "G0008"), procedure("ekg", CPT, "93000")),
    )
    processed, scrubber = code_and_scrub(encounter, coding)
    messages = [i.message for i in processed.issues if i.rule == "CODE-NOT-CHECKED"]
    assert any(m.startswith("CPT codes were not checked for validity") for m in messages)
    assert_validate_agrees(processed, scrubber)
