"""What a Procedure's record states beside its concept: body sites, devices, grafts, method."""

from __future__ import annotations

from adapters.fhir.reading import read_procedure
from adapters.gathering.bundle_source import encounters_in_bundle
from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.model import Coding, ProcedureDevice
from fhir_coder.systems import SNOMED

SCT = "http://snomed.info/sct"


def cath_lab_pci() -> dict:
    return {
        "resourceType": "Procedure",
        "id": "pci",
        "status": "completed",
        "code": {"coding": [{"system": SCT, "code": "415070008"}]},
        "bodySite": [
            {"coding": [{"system": SCT, "code": "68787002", "display": "Proximal LAD"}]},
            {"text": "Left internal mammary artery"},
        ],
        "contained": [
            {"resourceType": "Device", "id": "s1", "type": {"text": "Drug-eluting stent"}},
            {
                "resourceType": "Device",
                "id": "s2",
                "deviceName": [{"name": "Bare-metal stent", "type": "user-friendly-name"}],
            },
        ],
        "focalDevice": [
            {
                "action": {"coding": [{"system": SCT, "code": "129336009"}]},
                "manipulated": {"reference": "#s1"},
            },
            {
                "action": {"coding": [{"system": SCT, "code": "129303008"}]},
                "manipulated": {"reference": "#s2"},
            },
            {"manipulated": {"reference": "Device/elsewhere", "display": "Guide catheter"}},
        ],
        "usedCode": [{"text": "Saphenous vein graft"}],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/procedure-method",
                "valueCodeableConcept": {"coding": [{"system": SCT, "code": "129236007"}]},
            }
        ],
    }


def test_body_sites_are_read_and_a_site_in_words_alone_is_kept():
    procedure = read_procedure(cath_lab_pci())
    assert procedure.body_sites == (
        Coding(SNOMED, "68787002", "Proximal LAD"),
        Coding("", "", "Left internal mammary artery"),
    )


def test_focal_devices_follow_contained_devices_and_their_action():
    devices = read_procedure(cath_lab_pci()).devices
    assert devices == (
        ProcedureDevice(text="Drug-eluting stent", focal=True),
        ProcedureDevice(text="Bare-metal stent", focal=True, removed=True),
        ProcedureDevice(text="Guide catheter", focal=True),
        ProcedureDevice(text="Saphenous vein graft"),
    )


def test_the_procedure_method_extension_is_the_method():
    assert read_procedure(cath_lab_pci()).methods == (Coding(SNOMED, "129236007"),)


def test_a_procedure_as_synthea_writes_it_has_none_of_them():
    bare = {"resourceType": "Procedure", "id": "p", "code": {"coding": [{"code": "1"}]}}
    procedure = read_procedure(bare)
    assert (procedure.body_sites, procedure.devices, procedure.methods) == ((), (), ())


def test_a_sent_side_reaches_the_professional_line_as_its_modifier():
    # Procedure.bodySite was not read before: the LT/RT modifier rule never saw a side.
    xray = {
        "resourceType": "Procedure",
        "id": "x",
        "status": "completed",
        "encounter": {"reference": "Encounter/e"},
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": SCT, "code": "74016001", "display": "Knee X-ray"}]},
        "bodySite": [{"coding": [{"system": SCT, "code": "6757004", "display": "Right knee"}]}],
        "performedDateTime": "2026-02-03T10:00:00Z",
    }
    resources = [
        {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1970-01-01"},
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p"},
            "period": {"start": "2026-02-03T09:00:00Z", "end": "2026-02-03T11:00:00Z"},
        },
        xray,
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    [encounter] = encounters_in_bundle(bundle, source_id="t")
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    coded = code_encounter(encounter, default_registry(), crosswalks=crosswalks)
    [line] = [line for line in coded.procedures if line.code == "73560"]
    assert line.modifiers == ("RT",)
