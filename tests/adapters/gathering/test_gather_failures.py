"""Gathering against what the sandbox does not produce: broken resources, no metadata."""

import httpx
import pytest
import respx

from adapters.fhir.client import FhirClient, count_round_trips
from adapters.fhir.retry import RetryPolicy
from adapters.gathering.gather import GatherSession, gather_encounter
from fhir_coder.errors import CodingError, FhirResponseError
from fhir_coder.systems import ICD10CM

BASE = "https://ehr.test/fhir"


def fhir_json(body, status=200):
    return httpx.Response(status, json=body, headers={"Content-Type": "application/fhir+json"})


def searchset(*resources, outcome=None):
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    if outcome:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "warning", "code": "processing", "diagnostics": outcome}
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    return fhir_json({"resourceType": "Bundle", "type": "searchset", "entry": entries})


ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e1",
    "status": "finished",
    "class": {"code": "AMB"},
    "subject": {"reference": "Patient/p1"},
    "participant": [{"individual": {"identifier": {"value": "CSN-1"}, "display": "Dr X"}}],
    "period": {"start": "2025"},
}
GOOD = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {
        "coding": [
            {
                "system": "urn:oid:2.16.840.1.113883.6.90",
                "code": "E119",
                "display": "T2DM (CMS/HCC)",
            },
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "unknown",
            },
        ],
        "text": "Angina Pectoris (SCT 194828000)",
    },
}
BROKEN = {"resourceType": "Condition", "id": "c2", "meta": "not an object"}


@pytest.fixture
def router():
    router = respx.MockRouter(base_url=BASE, assert_all_called=False)
    router.get("/metadata").mock(return_value=fhir_json({"resourceType": "OperationOutcome"}, 500))
    router.get("/Encounter/e1").mock(return_value=fhir_json(ENCOUNTER))
    router.get("/Condition").mock(return_value=searchset(GOOD, BROKEN, outcome="1 result hidden"))
    router.get("/Procedure").mock(return_value=searchset())
    router.get("/Observation").mock(return_value=searchset())
    router.get("/Coverage").mock(return_value=searchset())
    router.get("/MedicationAdministration").mock(return_value=searchset())
    router.get("/Immunization").mock(return_value=searchset())
    router.get("/Patient/p1").mock(
        return_value=fhir_json({"resourceType": "Patient", "id": "p1", "gender": "male"})
    )
    return router


@pytest.fixture
async def fhir(router):
    async with FhirClient(
        BASE, transport=httpx.MockTransport(router.async_handler), retry=RetryPolicy.none()
    ) as client:
        yield client


async def test_one_bad_resource_is_reported_by_id_and_the_rest_is_read(fhir):
    encounter = await gather_encounter(fhir, "e1")
    [diagnosis] = encounter.diagnoses
    assert diagnosis.source.reference == "Condition/c1"
    rules = {(i.rule, i.source) for i in encounter.read_issues}
    assert ("READ-UNREADABLE", "Condition/c2") in rules
    assert ("READ-DROPPED", "Condition/c1") in rules  # the data-absent-reason coding
    assert any(i.rule == "READ-SEARCH-OUTCOME" for i in encounter.read_issues)
    icd, snomed = diagnosis.codings
    assert (icd.system, icd.code, icd.display) == (ICD10CM, "E119", "T2DM")
    assert (snomed.code, snomed.display) == ("194828000", "Angina Pectoris")


async def test_without_metadata_the_plain_strategy_is_used(fhir):
    with count_round_trips() as trips:
        encounter = await gather_encounter(fhir, "e1")
    # metadata; the Encounter, Conditions, Procedures, drugs and BMI Observations; Patient,
    # Coverage, Immunizations
    assert trips.count == 9
    unresolved = [i for i in encounter.read_issues if i.rule == "READ-UNRESOLVED-REFERENCE"]
    assert unresolved, "an identifier without a type cannot be searched"


async def test_a_failed_condition_search_fails_the_encounter(fhir, router):
    router.get("/Condition").mock(
        return_value=fhir_json(
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "forbidden"}],
            },
            403,
        )
    )
    with pytest.raises(FhirResponseError) as caught:
        await gather_encounter(fhir, "e1")
    assert caught.value.status_code == 403


async def test_an_encounter_without_a_readable_patient_cannot_be_coded(fhir, router):
    router.get("/Patient/p1").mock(
        return_value=fhir_json({"resourceType": "OperationOutcome"}, 404)
    )
    with pytest.raises(CodingError, match="no Patient"):
        await gather_encounter(fhir, "e1", session=GatherSession(fhir))


def include_statement():
    return {
        "resourceType": "CapabilityStatement",
        "software": {"name": "Some FHIR server"},
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Encounter",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchInclude": ["Encounter:patient"],
                        "searchRevInclude": ["Condition:encounter", "Procedure:encounter"],
                    }
                ],
            }
        ],
    }


def include_bundle(conditions):
    entries = [{"resource": {**ENCOUNTER, "participant": []}, "search": {"mode": "match"}}]
    entries += [
        {"resource": {**GOOD, "id": f"c{i}"}, "search": {"mode": "include"}}
        for i in range(conditions)
    ]
    entries.append(
        {
            "resource": {"resourceType": "Procedure", "id": "p1", "status": "completed"},
            "search": {"mode": "include"},
        }
    )
    return fhir_json({"resourceType": "Bundle", "type": "searchset", "entry": entries})


async def test_a_server_with_revinclude_and_no_batch_gets_one_search_for_round_one(fhir, router):
    router.get("/metadata").mock(return_value=fhir_json(include_statement()))
    included = router.get("/Encounter", params={"_id": "e1"}).mock(return_value=include_bundle(2))
    explicit = router.get("/Condition").mock(return_value=searchset())
    with count_round_trips() as trips:
        encounter = await gather_encounter(fhir, "e1")
    # metadata, the include search, the drugs and the BMI Observations, then Patient,
    # Coverage and Immunizations
    assert trips.count == 7
    sent = included.calls.last.request.url.params
    assert sent.get_list("_revinclude") == ["Condition:encounter", "Procedure:encounter"]
    assert len(encounter.diagnoses) == 2
    assert [p.source.reference for p in encounter.procedures] == ["Procedure/p1"]
    assert explicit.call_count == 0


async def test_an_include_count_that_looks_truncated_is_searched_again(fhir, router):
    router.get("/metadata").mock(return_value=fhir_json(include_statement()))
    router.get("/Encounter", params={"_id": "e1"}).mock(return_value=include_bundle(100))
    explicit = router.get("/Condition").mock(
        return_value=searchset(*({**GOOD, "id": f"c{i}"} for i in range(130)))
    )
    encounter = await gather_encounter(fhir, "e1")
    assert explicit.call_count == 1
    assert len(encounter.diagnoses) == 130


async def test_a_server_that_declares_batch_but_refuses_it_is_asked_plainly(fhir, router):
    statement = include_statement()
    statement["rest"][0]["interaction"] = [{"code": "batch"}]
    router.get("/metadata").mock(return_value=fhir_json(statement))
    refused = router.post("/").mock(
        return_value=fhir_json(
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-supported"}],
            },
            405,
        )
    )
    session = GatherSession(fhir)
    assert (await session.decide()).batch
    encounter = await gather_encounter(fhir, "e1", session=session)
    assert encounter.patient.sex == "male"
    assert refused.call_count == 1
    assert not session.strategy.batch


async def test_conditions_of_another_encounter_are_left_out_when_the_server_ignores_the_parameter():
    """A lenient server drops ``encounter=`` it does not know and answers with everything."""
    router = respx.MockRouter(base_url=BASE, assert_all_called=False)
    router.get("/metadata").mock(
        return_value=fhir_json(
            {
                "resourceType": "CapabilityStatement",
                "fhirVersion": "4.0.1",
                "rest": [{"mode": "server"}],
            }
        )
    )
    router.get("/Encounter/e1").mock(
        return_value=fhir_json(
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": "Patient/p1"},
            }
        )
    )
    mine = {
        "resourceType": "Condition",
        "id": "c1",
        "encounter": {"reference": "Encounter/e1"},
        "code": {"coding": [{"code": "I10"}]},
    }
    other = {
        "resourceType": "Condition",
        "id": "c2",
        "encounter": {"reference": "Encounter/e9"},
        "code": {"coding": [{"code": "J20.9"}]},
    }
    router.get("/Condition").mock(return_value=searchset(mine, other))
    router.get("/Procedure").mock(return_value=searchset())
    router.get("/Observation").mock(return_value=searchset())
    router.get("/Patient/p1").mock(return_value=fhir_json({"resourceType": "Patient", "id": "p1"}))
    router.get("/Coverage").mock(return_value=searchset())
    router.get("/MedicationAdministration").mock(return_value=searchset())
    router.get("/Immunization").mock(return_value=searchset())
    async with FhirClient(BASE, transport=httpx.MockTransport(router.async_handler)) as fhir:
        encounter = await gather_encounter(fhir, "e1")
    assert [d.source.reference for d in encounter.diagnoses] == ["Condition/c1"]
    [warning] = [i for i in encounter.read_issues if i.rule == "READ-SEARCH-MISMATCH"]
    assert "Condition/c2" in warning.message


async def test_immunizations_of_the_encounter_are_gathered_and_a_refused_search_is_reported(
    fhir, router
):
    given = {
        "resourceType": "Immunization",
        "id": "i1",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
        "encounter": {"reference": "Encounter/e1"},
        "occurrenceDateTime": "2025-05-01",
    }
    elsewhere = {**given, "id": "i2", "encounter": {"reference": "Encounter/e9"}}
    undated = {**given, "id": "i3", "encounter": None, "occurrenceDateTime": "2025-06-01"}
    found = router.get("/Immunization").mock(return_value=searchset(given, elsewhere, undated))
    encounter = await gather_encounter(fhir, "e1", session=GatherSession(fhir))
    assert found.calls.last.request.url.params["patient"] == "Patient/p1"
    # i3 names no encounter but falls in the encounter's period (the year 2025)
    assert [i.source.reference for i in encounter.immunizations] == [
        "Immunization/i1",
        "Immunization/i3",
    ]
    assert encounter.immunizations[0].vaccine[0].code == "140"
    router.get("/Immunization").mock(
        return_value=fhir_json({"resourceType": "OperationOutcome"}, 400)
    )
    refused = await gather_encounter(fhir, "e1", session=GatherSession(fhir))
    assert refused.immunizations == ()
    assert "READ-IMMUNIZATIONS-UNAVAILABLE" in {i.rule for i in refused.read_issues}


BMI = {
    "resourceType": "Observation",
    "id": "bmi1",
    "status": "final",
    "encounter": {"reference": "Encounter/e1"},
    "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]},
    "valueQuantity": {"value": 36.4, "unit": "kg/m2", "code": "kg/m2"},
    "effectiveDateTime": "2025-01-01",
}


async def test_the_bmi_observation_comes_in_round_one_by_its_code(fhir, router):
    measured = router.get("/Observation").mock(return_value=searchset(BMI))
    encounter = await gather_encounter(fhir, "e1")
    [observation] = encounter.observations
    assert (observation.source.reference, observation.value) == ("Observation/bmi1", 36.4)
    sent = measured.calls.last.request.url.params
    assert sent["encounter"] == "Encounter/e1"
    assert sent["code"] == "http://loinc.org|39156-5,http://loinc.org|59576-9"


async def test_a_refused_observation_search_costs_only_the_bmi(fhir, router):
    router.get("/Observation").mock(
        return_value=fhir_json({"resourceType": "OperationOutcome", "issue": []}, 403)
    )
    encounter = await gather_encounter(fhir, "e1")
    assert encounter.observations == ()
    assert encounter.diagnoses
    assert "READ-OBSERVATIONS-UNAVAILABLE" in {i.rule for i in encounter.read_issues}
