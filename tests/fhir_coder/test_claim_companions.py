"""POA, place of service, discharge status, Provenance and Task: the parts around a Claim."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.task import Task

from codesets.drg import grouper_version
from fhir_coder.claim import as_replacement, build_claim, claim_id_for
from fhir_coder.claim_parts import discharge_status, place_of_service, poa_indicator
from fhir_coder.coding import code_encounter
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.model import EncounterClass
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.provenance import build_provenance
from fhir_coder.systems import ICD10CM
from fhir_coder.task import build_review_task

from .conftest import condition, office_visit

CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)
ADMITTED = datetime(2026, 1, 12, 22, 0, tzinfo=UTC)


def stay_with(codes, **dates):
    stay = office_visit(
        replace(condition("dm", (ICD10CM, "E11.9"), listed_rank=1), **dates),
        encounter_class=EncounterClass.INPATIENT,
        period_start=ADMITTED,
        period_end=datetime(2026, 1, 16, tzinfo=UTC),
    )
    coded = code_encounter(stay, codes)
    return coded.diagnoses[0], stay


@pytest.mark.parametrize(
    ("dates", "poa"),
    [
        ({"onset": date(2020, 1, 1)}, "Y"),
        ({"recorded": date(2026, 1, 11)}, "Y"),
        ({"onset": date(2026, 1, 14)}, "N"),
        ({"onset": date(2026, 1, 12)}, "U"),  # same day: the hour cannot be trusted
        ({"recorded": date(2026, 1, 13)}, "U"),  # recorded later says nothing about onset
        ({}, "U"),
    ],
)
def test_poa_comes_from_the_condition_dates_and_is_never_assumed(codes, dates, poa):
    line, stay = stay_with(codes, **dates)
    assert poa_indicator(line, stay) == poa


def test_place_of_service_and_discharge_status_follow_the_encounter():
    assert place_of_service(office_visit()) == "11"
    assert place_of_service(office_visit(encounter_class=EncounterClass.EMERGENCY)) == "23"
    assert place_of_service(office_visit(encounter_class=EncounterClass.OTHER)) is None
    assert discharge_status(office_visit(discharge_disposition="snf")) == (3, True)
    assert discharge_status(office_visit()) == (1, False)


def test_grouper_version_follows_the_discharge_date():
    assert grouper_version(date(2026, 1, 18)) == 430
    assert grouper_version(date(2026, 4, 1)) == 431
    assert grouper_version(date(2025, 10, 1)) == 430
    with pytest.raises(ReleaseNotAvailableError):
        grouper_version(date(2021, 5, 1))


def test_provenance_names_the_plugin_and_every_source_version(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")), version_id="4")
    coded = code_encounter(visit, codes)
    claim = build_claim(coded, (), created=CREATED)
    provenance = build_provenance(claim, coded, recorded=CREATED)
    Provenance.model_validate(provenance)
    what = [e["what"]["reference"] for e in provenance["entity"]]
    assert what[:2] == ["Encounter/visit-1/_history/4", "Patient/p1"]
    assert "Condition/dm/_history/1" in what
    assert "Coverage/c1" in what
    assert provenance["target"] == [{"reference": f"Claim/{claim['id']}"}]


def test_review_task_carries_the_blocking_findings_only(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")))
    claim = build_claim(code_encounter(visit, codes), (), created=CREATED)
    issues = (
        Issue(Severity.ERROR, IssueCode.CODE_INVALID, "E11 is a header", rule="R1", fix="E11.9"),
        Issue(Severity.WARNING, IssueCode.INFORMATIONAL, "just so you know", rule="R2"),
    )
    task = build_review_task(claim, visit, issues, authored=CREATED)
    Task.model_validate(task)
    assert [i["valueString"] for i in task["input"]] == ["ERROR R1: E11 is a header Fix: E11.9"]
    closed = build_review_task(claim, visit, (), authored=CREATED, done=True)
    assert closed["status"] == "completed"
    assert "input" not in closed


def test_a_replacement_has_its_own_id_and_points_at_the_prior_claim(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")))
    claim = build_claim(code_encounter(visit, codes), (), created=CREATED)
    replacement = as_replacement(claim, 2, claim["id"])
    assert replacement["id"] == claim_id_for(visit, 2) == f"{claim['id']}-r2"
    assert replacement["identifier"][0]["value"] == replacement["id"]
    assert replacement["related"][0]["claim"]["reference"] == f"Claim/{claim['id']}"
    assert "related" not in claim
