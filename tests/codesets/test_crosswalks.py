from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap

from codesets.conceptmap import CURATED_PATH, CURATED_PATHS, ConceptMapCrosswalk
from codesets.crosswalks import CrosswalkRegistry, default_crosswalks
from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import CrosswalkPort
from fhir_coder.systems import ICD10CM, ICD10PCS, SNOMED
from sandbox import seed_catalog
from tests.shared_data import shared_data_dir

FY2026 = date(2026, 1, 1)
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def curated() -> ConceptMapCrosswalk:
    return ConceptMapCrosswalk([CURATED_PATH], rule_prefix="curated")


def test_the_curated_file_is_an_r4_conceptmap():
    resource = json.loads(CURATED_PATH.read_text(encoding="utf-8"))
    parsed = ConceptMap.model_validate(resource)
    assert [group.target for group in parsed.group] == [ICD10CM, ICD10PCS]


def test_every_curated_target_is_valid_and_billable_in_fy2026(curated, registry):
    checked = 0
    for (source, code, target), entries in curated.entries().items():
        assert source == SNOMED
        for entry in entries:
            if entry.equivalence == "unmatched":
                assert not entry.code
                assert entry.comment, f"{code}: an unmatched entry must say why"
                continue
            info = registry.lookup(target, entry.code, FY2026)
            assert info.valid, (code, entry.code, info)
            assert info.billable, (code, entry.code, info)
            if info.description:
                assert entry.display == info.description, (code, entry.code)
            if entry.equivalence != "equivalent":
                assert entry.comment, f"{code}: an inexact entry must say what to confirm"
            checked += 1
    assert checked > 80


def _synthea_codes(resource_type: str) -> set[str]:
    folder = shared_data_dir("synthea-bundles")
    found: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") != resource_type:
                continue
            for coding in resource.get("code", {}).get("coding", []):
                if coding.get("system") == SNOMED:
                    found.add(coding["code"])
    return found


@pytest.mark.parametrize(
    ("resource_type", "target"), [("Condition", ICD10CM), ("Procedure", ICD10PCS)]
)
def test_curated_covers_every_synthea_code(resource_type, target):
    # The ConceptMap and the curated tables beside it: one crosswalk to the engine.
    curated = ConceptMapCrosswalk(CURATED_PATHS, rule_prefix="curated")
    codes = _synthea_codes(resource_type)
    assert codes
    missing = sorted(code for code in codes if not curated.knows(SNOMED, code, target))
    assert missing == []


def test_curated_translations(curated):
    (diabetes,) = curated.translate(SNOMED, "44054006", ICD10CM, on=FY2026)
    assert (diabetes.code, diabetes.needs_review, diabetes.rule) == (
        "E119",
        False,
        "curated:44054006",
    )
    assert diabetes.source.startswith("fhir-coder curated SNOMED CT crosswalk")
    (hip,) = curated.translate(SNOMED, "359817006", ICD10CM, on=FY2026)
    # The index's unspecified code for a hip fracture: wider than the concept, coded as is.
    assert (hip.code, hip.needs_review, hip.equivalence) == ("S72009A", False, "wider")
    # An inexact target assumes what the concept does not say: a person confirms it.
    (transfusion,) = curated.translate(SNOMED, "180207008", ICD10PCS, on=FY2026)
    assert (transfusion.needs_review, transfusion.equivalence) == (True, "inexact")
    assert curated.translate(SNOMED, "430193006", ICD10PCS, on=FY2026) == ()
    assert "documentation" in (curated.unmapped_reason(SNOMED, "430193006", ICD10PCS) or "")
    assert curated.translate(SNOMED, "999999999", ICD10CM, on=FY2026) == ()


def test_sex_dependent_entry(curated):
    (female,) = curated.translate(SNOMED, "8619003", ICD10CM, on=FY2026, sex="female")
    (male,) = curated.translate(SNOMED, "8619003", ICD10CM, on=FY2026, sex="male")
    assert (female.code, male.code) == ("N979", "N469")
    assert not female.needs_review
    unknown = curated.translate(SNOMED, "8619003", ICD10CM, on=FY2026)
    assert {t.code for t in unknown} == {"N979", "N469"}
    assert all(t.needs_review for t in unknown)


def test_registry_keeps_answers_per_concept_age_and_sex(curated):
    registry = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    for sex in ("female", "male", None):
        asked = (SNOMED, "8619003", ICD10CM)
        first = registry.translate(*asked, on=FY2026, sex=sex)
        assert first == curated.translate(*asked, on=FY2026, sex=sex)
        assert registry.translate(*asked, on=FY2026, sex=sex) is first  # kept, not recomputed
    assert registry.translate(" http://snomed.info/sct/", " 8619003 ", ICD10CM, on=FY2026) == (
        curated.translate(SNOMED, "8619003", ICD10CM, on=FY2026)
    )  # aliases and blanks are still worked out before the maps are asked


def test_map_groups_code_together(curated):
    removal, insertion = curated.translate(SNOMED, "46706006", ICD10PCS, on=FY2026)
    assert (removal.code, removal.map_group) == ("0UPD7HZ", 1)
    assert (insertion.code, insertion.map_group) == ("0UH97HZ", 2)


def test_age_conditions_and_csv_crosswalks(tmp_path):
    path = tmp_path / "local.csv"
    path.write_text(
        "source_system,source_code,target_system,target_code,target_display,equivalence,comment\n"
        "http://snomed.info/sct,1,http://hl7.org/fhir/sid/icd-10-cm,I10,,equivalent,\n"
        "urn:oid:2.16.840.1.113883.6.96,2,icd-10-cm-unknown,X,,wider,a comment\n",
        encoding="utf-8",
    )
    walk = ConceptMapCrosswalk([path])
    (found,) = walk.translate(SNOMED, "1", ICD10CM, on=FY2026)
    assert (found.code, found.needs_review, found.rule) == ("I10", False, "crosswalk:1")
    (wider,) = walk.translate(SNOMED, "2", "icd-10-cm-unknown", on=FY2026)
    assert not wider.needs_review  # a wider target is the classification's less specific code
    conceptmap = {
        "resourceType": "ConceptMap",
        "status": "active",
        "name": "Ages",
        "group": [
            {
                "source": SNOMED,
                "target": ICD10CM,
                "element": [
                    {
                        "code": "3",
                        "target": [
                            {
                                "code": "R62.51",
                                "equivalence": "equivalent",
                                "dependsOn": [
                                    {"property": "urn:fhir-coder:patient-age", "value": "<18"}
                                ],
                            },
                            {
                                "code": "R62.7",
                                "equivalence": "equivalent",
                                "dependsOn": [
                                    {"property": "urn:fhir-coder:patient-age", "value": ">=18"}
                                ],
                            },
                        ],
                    }
                ],
            }
        ],
    }
    json_path = tmp_path / "ages.json"
    json_path.write_text(json.dumps(conceptmap), encoding="utf-8")
    ages = ConceptMapCrosswalk([json_path])
    assert [t.code for t in ages.translate(SNOMED, "3", ICD10CM, on=FY2026, age=10)] == ["R6251"]
    assert [t.code for t in ages.translate(SNOMED, "3", ICD10CM, on=FY2026, age=18)] == ["R627"]
    assert all(t.needs_review for t in ages.translate(SNOMED, "3", ICD10CM, on=FY2026))
    # Answers are kept per concept, age and sex: asked again, each age keeps its own.
    assert [t.code for t in ages.translate(SNOMED, "3", ICD10CM, on=FY2026, age=10)] == ["R6251"]
    assert [t.code for t in ages.translate(SNOMED, " 3", ICD10CM, on=FY2026, age=18)] == ["R627"]


def test_a_target_for_medicare_alone_says_so_and_leaves_the_payer_to_the_engine(tmp_path):
    hcpcs = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
    conceptmap = {
        "resourceType": "ConceptMap",
        "status": "active",
        "name": "Screenings",
        "group": [
            {
                "source": SNOMED,
                "target": hcpcs,
                "element": [
                    {
                        "code": "171207006",
                        "target": [
                            {
                                "code": "G0444",
                                "equivalence": "equivalent",
                                "dependsOn": [
                                    {"property": "urn:fhir-coder:payer-type", "value": "medicare"}
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "screenings.json"
    path.write_text(json.dumps(conceptmap), encoding="utf-8")
    (found,) = ConceptMapCrosswalk([path]).translate(SNOMED, "171207006", hcpcs, on=FY2026)
    # not a condition the crosswalk cannot decide (no review for it): the engine decides
    assert (found.code, found.payer, found.needs_review) == ("G0444", "medicare", False)
    (curated,) = CrosswalkRegistry(snomed_map="", conceptmaps=[]).translate(
        SNOMED, "171207006", hcpcs, on=FY2026
    )
    assert (curated.code, curated.payer) == ("G0444", "medicare")


def test_bad_crosswalk_files_are_configuration_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient"}', encoding="utf-8")
    with pytest.raises(ConfigurationError):
        ConceptMapCrosswalk([bad])
    with pytest.raises(ConfigurationError):
        ConceptMapCrosswalk([tmp_path / "absent.json"])


def test_registry_prefers_the_nlm_map_then_falls_back(monkeypatch):
    nlm = FIXTURES / "der2_iisssccRefset_ExtendedMapFull_synthetic.txt"
    registry = CrosswalkRegistry(snomed_map=nlm)
    port: CrosswalkPort = registry
    (from_nlm,) = port.translate(SNOMED, "1000001", ICD10CM, on=FY2026, sex="female")
    assert from_nlm.rule.startswith("NLM map group 1 priority 1")
    (from_curated,) = port.translate(SNOMED, "44054006", ICD10CM, on=FY2026)
    assert from_curated.rule == "curated:44054006"
    assert [entry.name for entry in registry.info()] == [
        "NLM SNOMED CT to ICD-10-CM",
        "fhir-coder curated crosswalk",
    ]
    monkeypatch.setenv("FHIR_CODER_SNOMED_MAP", str(nlm))
    assert CrosswalkRegistry().nlm is not None
    assert CrosswalkRegistry(curated=False).translate(SNOMED, "44054006", ICD10CM, on=FY2026) == ()


def test_default_crosswalks_is_built_once():
    assert default_crosswalks() is default_crosswalks()


def test_curated_agrees_with_the_sandbox_seed():
    """The seed's SNOMED CT and ICD-10-CM pairs are what the curated crosswalk (its ConceptMap
    and its tables alike: a concept lives in one of them) gives."""
    curated = ConceptMapCrosswalk(CURATED_PATHS, rule_prefix="curated")
    for condition in seed_catalog.CONDITIONS:
        targets = curated.translate(SNOMED, condition.snomed, ICD10CM, on=FY2026)
        codes = {t.code for t in targets}
        assert condition.icd10cm.replace(".", "") in codes, condition.snomed
    for procedure in seed_catalog.PROCEDURES:
        assert curated.knows(SNOMED, procedure.snomed, ICD10PCS), procedure.snomed
