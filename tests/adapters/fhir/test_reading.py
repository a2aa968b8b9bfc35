from datetime import UTC, date, datetime

import orjson
import pytest

from adapters.fhir.reading import (
    encounter_class,
    fhir_date,
    parse_fhir_datetime,
    read_codes,
    read_codings,
    read_condition,
    read_coverage,
    read_patient,
    read_procedure,
    read_providers,
)
from adapters.gathering.bundle_source import encounters_in_bundle
from fhir_coder.model import EncounterClass
from fhir_coder.systems import ICD10CM, SNOMED
from tests.shared_data import shared_data_dir


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2002", date(2002, 1, 1)),
        ("2002-05", date(2002, 5, 1)),
        ("2002-05-17", date(2002, 5, 17)),
        ("2026-01-15T09:00:00Z", datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
        (2002, None),
    ],
)
def test_fhir_dates_of_every_precision_are_read(sent, expected):
    assert parse_fhir_datetime(sent) == expected


def test_codings_get_canonical_systems_and_codeless_codings_are_dropped():
    concept = {
        "coding": [
            {"system": "urn:oid:2.16.840.1.113883.6.90", "code": "E119", "userSelected": True},
            {"system": SNOMED, "display": "no code"},
            "garbage",
        ],
        "text": "Diabetes",
    }
    [coding] = read_codings(concept)
    assert (coding.system, coding.code, coding.user_selected) == (ICD10CM, "E119", True)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"code": "AMB"}, EncounterClass.AMBULATORY),
        ({"code": "imp"}, EncounterClass.INPATIENT),
        ({"code": "emergency"}, EncounterClass.EMERGENCY),
        ({"code": "wellness"}, EncounterClass.AMBULATORY),
        ({"code": "spaceship"}, EncounterClass.OTHER),
        (None, EncounterClass.OTHER),
    ],
)
def test_encounter_class_reads_v3_codes_and_common_aliases(sent, expected):
    assert encounter_class(sent) is expected


def test_patient_keeps_only_sex_and_birth_date():
    facts = read_patient(
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Secret"}],
            "gender": "female",
            "birthDate": "1960",
            "_gender": {"extension": []},
        }
    )
    assert (facts.reference, facts.sex, facts.birth_date) == (
        "Patient/p1",
        "female",
        date(1960, 1, 1),
    )
    assert "Secret" not in repr(facts)


def test_condition_joined_with_its_encounter_diagnosis_listing():
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "meta": {"versionId": "3"},
        "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"coding": [{"system": ICD10CM, "code": "I10"}], "text": "HTN"},
    }
    listing = {
        "condition": {"reference": "Condition/c1"},
        "rank": 2,
        "use": {"coding": [{"code": "DD"}]},
    }
    diagnosis = read_condition(condition, listing)
    assert diagnosis.source.version_id == "3"
    assert (diagnosis.rank, diagnosis.use, diagnosis.listed_on_encounter) == (2, "DD", True)
    assert diagnosis.category == ("encounter-diagnosis",)
    assert read_condition(condition).listed_on_encounter is False


def test_providers_are_practitioner_participants_and_the_service_provider():
    encounter = {
        "participant": [
            {
                "type": [{"coding": [{"code": "ATND"}]}],
                "individual": {"reference": "Practitioner/1"},
            },
            {"individual": {"reference": "RelatedPerson/9"}},
        ],
        "serviceProvider": {"reference": "Organization/o", "display": "Clinic"},
    }
    assert [(p.reference, p.role) for p in read_providers(encounter)] == [
        ("Practitioner/1", "attender"),
        ("Organization/o", "service-provider"),
    ]


def test_every_official_example_reads_without_a_crash():
    folder = shared_data_dir("fhir-r4-examples")
    readers = {
        "Condition": read_condition,
        "Procedure": read_procedure,
        "Patient": read_patient,
        "Coverage": read_coverage,
        "Encounter": read_providers,
    }
    read = 0
    for path in sorted(folder.glob("*.json")):
        resource = orjson.loads(path.read_bytes())
        reader = readers.get(resource.get("resourceType"))
        if reader is not None:
            reader(resource)
            read += 1
    assert read >= 50


def test_what_servers_send_is_kept_and_what_is_dropped_is_reported():
    issues = []
    codings = read_codings(
        {
            "coding": [
                {
                    "system": "urn:oid:2.16.840.1.113883.6.90",
                    "code": "I10",
                    "display": "HTN (CMS/HCC)",
                },
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "unknown",
                },
                {"system": ICD10CM, "display": "no code"},
                "not a coding",
            ],
            "text": "Essential hypertension (SCT 59621000)",
        },
        issues=issues,
        source="Condition/c9",
        expression="Condition.code",
    )
    assert [(c.system, c.code, c.display) for c in codings] == [
        (ICD10CM, "I10", "HTN"),
        (SNOMED, "59621000", "Essential hypertension"),
    ]
    dropped = [i for i in issues if i.severity == "warning"]
    assert len(dropped) == 3
    assert all(i.source == "Condition/c9" and i.rule == "READ-DROPPED" for i in issues)
    assert any("SNOMED CT 59621000" in i.message for i in issues)


def test_snomed_in_text_is_not_added_when_a_snomed_coding_exists():
    concept = {"coding": [{"system": SNOMED, "code": "1"}], "text": "x (SCT 2)"}
    assert [c.code for c in read_codings(concept)] == ["1"]


CONCEPTS = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": " active ",
            }
        ]
    },
    {"coding": [{"code": ""}, {"code": "confirmed"}, "not an object", {"code": 7}]},
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "unknown",
            }
        ]
    },
    {"coding": [{"code": "a"}, {"code": "b", "system": "urn:oid:2.16.840.1.113883.6.96"}]},
    {"text": "Angina (SCT 194828000)"},
    {"coding": [{"code": "AD"}], "text": "admitting"},
    {"coding": []},
    {},
    "not a concept",
    None,
]


@pytest.mark.parametrize("concept", CONCEPTS)
def test_codes_read_alone_are_the_codes_of_the_codings(concept):
    assert read_codes(concept) == tuple(c.code for c in read_codings(concept))


def test_a_coding_sent_again_is_the_same_value_and_its_display_loses_the_hcc_suffix():
    concept = {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes (HCC)"}]}
    (first,) = read_codings(concept)
    (again,) = read_codings({"coding": [dict(concept["coding"][0])]})
    assert first is again
    assert first.display == "Diabetes"
    (chosen,) = read_codings({"coding": [{**concept["coding"][0], "userSelected": True}]})
    assert chosen.user_selected
    assert not first.user_selected
    (odd,) = read_codings({"coding": [{"system": SNOMED, "code": "1", "display": 5}]})
    assert odd.display == "5"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2026-01-15T23:30:00-05:00", date(2026, 1, 15)),  # the day where it was written
        ("2026-01-15", date(2026, 1, 15)),
        ("2002", date(2002, 1, 1)),
        ("2026-13-40", None),
        (20260115, None),
    ],
)
def test_days_of_fhir_dates(sent, expected):
    assert fhir_date(sent) == expected
    assert fhir_date(sent) == expected  # kept answers are the same answers


def test_a_procedure_keeps_the_conditions_and_codes_it_was_done_for():
    issues = []
    procedure = read_procedure(
        {
            "resourceType": "Procedure",
            "id": "p1",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "94640"}]},
            "reasonReference": [
                {"reference": "Condition/asthma"},
                {"reference": "Condition/htn/_history/3"},
                {"reference": "https://ehr.test/fhir/Condition/dm"},
                {"reference": "Condition/asthma"},  # said twice, kept once
                {"reference": "Observation/o1"},
                {"reference": "#contained-condition"},
                {"display": "no reference"},
                "not a reference",
            ],
            "reasonCode": [
                {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.90", "code": "J45.909"}]},
                {"coding": [{"system": SNOMED, "code": "195967001"}]},
                "not a concept",
            ],
        },
        issues=issues,
    )
    assert procedure.reason_references == ("Condition/asthma", "Condition/htn", "Condition/dm")
    assert [(c.system, c.code) for c in procedure.reason_codes] == [
        (ICD10CM, "J45.909"),
        (SNOMED, "195967001"),
    ]
    dropped = [i for i in issues if "Procedure.reasonReference" in i.expression]
    assert len(dropped) == 4
    assert all(i.source == "Procedure/p1" and i.severity == "information" for i in dropped)
    plain = read_procedure({"resourceType": "Procedure", "id": "p2", "reasonCode": "odd"})
    assert (plain.reason_references, plain.reason_codes) == ((), ())


def test_reasons_in_a_bundle_are_followed_from_their_full_urls():
    condition_url = "urn:uuid:4f1c8a52-0000-4000-8000-000000000001"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:pat", "resource": {"resourceType": "Patient", "id": "pat"}},
            {
                "fullUrl": "urn:uuid:enc",
                "resource": {
                    "resourceType": "Encounter",
                    "id": "enc",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": "urn:uuid:pat"},
                    "period": {"start": "2026-01-15T09:00:00Z"},
                },
            },
            {
                "fullUrl": condition_url,
                "resource": {
                    "resourceType": "Condition",
                    "id": "cond-1",
                    "encounter": {"reference": "urn:uuid:enc"},
                    "code": {"coding": [{"system": ICD10CM, "code": "I10"}]},
                },
            },
            {
                "fullUrl": "urn:uuid:proc",
                "resource": {
                    "resourceType": "Procedure",
                    "id": "proc",
                    "status": "completed",
                    "encounter": {"reference": "urn:uuid:enc"},
                    "code": {"coding": [{"system": SNOMED, "code": "46973005"}]},
                    "reasonReference": [
                        {"reference": condition_url},
                        {"reference": "urn:uuid:not-in-the-bundle"},
                    ],
                },
            },
        ],
    }
    [encounter] = encounters_in_bundle(bundle, source_id="test")
    [procedure] = encounter.procedures
    assert procedure.reason_references == ("Condition/cond-1",)
    assert [d.source.reference for d in encounter.diagnoses] == ["Condition/cond-1"]
    assert any("urn:uuid:not-in-the-bundle" in i.message for i in encounter.read_issues)
    # The Bundle itself is left as it was.
    assert bundle["entry"][3]["resource"]["reasonReference"][0] == {"reference": condition_url}
