"""The gates of Synthea's module concepts: who the modules can give each concept to.

``benchmarks/synthea_gates.py`` reads Synthea's module state machines; these tests give it
small modules in the same JSON shapes (Gender and Age conditions, a Guard, a Delay from
birth, an attribute set in one module and tested in another, a submodule) and check the
concept list it wrote and the population ``benchmarks/coverage.py`` draws from it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str, alias: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(alias, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(BENCHMARKS))
gates_module = _load("synthea_gates", "synthea_gates")
coverage = _load("coverage", "coverage_benchmark_gates")


def _onset(code: str, then: str = "Terminal") -> dict[str, object]:
    return {"type": "ConditionOnset", "codes": [{"system": "SNOMED-CT", "code": code,
            "display": code}], "direct_transition": then}  # fmt: skip


def _write(root: Path, name: str, states: dict[str, object]) -> None:
    path = root / "src" / "main" / "resources" / "modules" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "states": {**states, "Terminal":
                                                          {"type": "Terminal"}}}))  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    female = {"condition_type": "Gender", "gender": "F"}
    past_50 = {"condition_type": "Age", "operator": ">", "quantity": 50, "unit": "years"}
    expecting = {"condition_type": "Attribute", "attribute": "expecting", "operator": "==",
                 "value": True}  # fmt: skip
    _write(tmp_path, "reproduction", {
        "Initial": {"type": "Initial", "conditional_transition": [
            {"condition": female, "transition": "Wait"}, {"transition": "Terminal"}]},
        "Wait": {"type": "Delay", "exact": {"quantity": 14, "unit": "years"},
                 "direct_transition": "Cycle"},
        "Cycle": {"type": "Delay", "range": {"low": 21, "high": 35, "unit": "days"},
                  "conditional_transition": [{"condition": past_50, "transition": "Terminal"},
                                             {"transition": "Conceive"}]},
        "Conceive": {"type": "SetAttribute", "attribute": "expecting", "value": True,
                     "direct_transition": "Cycle"},
    })  # fmt: skip
    _write(tmp_path, "pregnancy", {
        "Initial": {"type": "Initial", "direct_transition": "Unset"},
        "Unset": {"type": "SetAttribute", "attribute": "expecting", "value": False,
                  "direct_transition": "Guard"},
        "Guard": {"type": "Guard", "allow": expecting, "direct_transition": "Onset"},
        "Onset": _onset("1001", "Term"),
        "Term": {"type": "Delay", "exact": {"quantity": 40, "unit": "weeks"},
                 "direct_transition": "Unset"},
    })  # fmt: skip
    _write(tmp_path, "childhood", {
        "Initial": {"type": "Initial", "direct_transition": "Grow"},
        "Grow": {"type": "Delay", "range": {"low": 1, "high": 3, "unit": "years"},
                 "conditional_transition": [
            {"condition": {"condition_type": "Age", "operator": "<", "quantity": 18,
                           "unit": "years"}, "transition": "Child"},
            {"transition": "Terminal"}]},
        "Child": _onset("1002"),
    })  # fmt: skip
    _write(tmp_path, "adulthood", {
        "Initial": {"type": "Initial", "direct_transition": "Adult"},
        "Adult": {"type": "Guard", "allow": {"condition_type": "Age", "operator": ">=",
                  "quantity": 18, "unit": "years"}, "direct_transition": "Call"},
        "Call": {"type": "CallSubmodule", "submodule": "sub/adult_things",
                 "direct_transition": "Terminal"},
    })  # fmt: skip
    _write(tmp_path, "sub/adult_things", {
        "Initial": {"type": "Initial", "direct_transition": "Male"},
        "Male": {"type": "Simple", "conditional_transition": [
            {"condition": {"condition_type": "Gender", "gender": "M"}, "transition": "Onset"},
            {"transition": "Terminal"}]},
        "Onset": _onset("1003"),
    })  # fmt: skip
    _write(tmp_path, "checkup", {
        "Initial": {"type": "Initial", "direct_transition": "Thirty"},
        "Thirty": {"type": "Guard", "allow": {"condition_type": "Age", "operator": ">=",
                   "quantity": 30, "unit": "years"}, "direct_transition": "Call"},
        "Call": {"type": "CallSubmodule", "submodule": "sub/visit",
                 "direct_transition": "Onset"},
        "Onset": _onset("1005"),
    })  # fmt: skip
    _write(tmp_path, "sub/visit", {
        "Initial": {"type": "Initial", "direct_transition": "Visit"},
        "Visit": {"type": "Encounter", "encounter_class": "ambulatory",
                  "direct_transition": "Exam"},
        "Exam": {"type": "Procedure", "duration": {"low": 10, "high": 20, "unit": "minutes"},
                 "direct_transition": "End"},
        "End": {"type": "EncounterEnd", "direct_transition": "Terminal"},
    })  # fmt: skip
    _write(tmp_path, "anyone", {
        "Initial": {"type": "Initial", "direct_transition": "Visit"},
        "Visit": {"type": "Encounter", "wellness": True, "direct_transition": "Onset"},
        "Onset": _onset("1004", "Visit"),
    })  # fmt: skip
    return tmp_path


def test_gates_follow_gender_age_delays_attributes_and_submodules(checkout: Path) -> None:
    found = {code: gate for (kind, code), gate in gates_module.gates(checkout).items()}
    step = gates_module.STEP
    # Set for women from 14 (a 14-year wait, then a cycle) until the cycle stops at 50; the
    # pregnancy module unsets it before waiting again, so it passes within a step of a set.
    assert found["1001"].sexes == frozenset({"F"})
    assert 14 < found["1001"].low < 14.1
    assert found["1001"].high == pytest.approx(50 + step)
    # A wait of 1-3 years from birth, then 'age < 18': the bound is the wait's, not 18.
    assert found["1002"].cell() == ("", "1-3.02")
    # A Guard waiting for 18 passes within a step of it; the submodule keeps its gate.
    assert found["1003"].cell() == ("M", "18-18.02")
    # Each wellness visit comes after an unknown wait: anyone.
    assert found["1004"].cell() == ("", "")
    # A submodule holds its caller as long as its longest path: an encounter's wait (the
    # stated assumption) and a 20-minute procedure.
    minutes = 20 / (365.25 * 24 * 60)
    assert found["1005"].low == 30
    assert found["1005"].high == pytest.approx(30 + step + gates_module.ENCOUNTER_WAIT + minutes)


def test_an_attribute_the_java_code_sets_is_not_a_gate(checkout: Path) -> None:
    java = checkout / "src" / "main" / "java" / "Lifecycle.java"
    java.parent.mkdir(parents=True)
    java.write_text(
        'class L { void f(Person person) { person.attributes.put("expecting", true); '
        'Person mother = new Person(1); mother.attributes.put("other", 1); } }'
    )
    found = gates_module.gates(checkout)
    assert found[("condition", "1001")].high == math.inf  # set in Java too: at any age
    assert "other" not in gates_module.java_names(checkout)  # a temporary person's


def test_a_cell_never_narrows_the_gate() -> None:
    gate = gates_module.Gate(frozenset({"F"}), 15.157, 44.001)
    assert gate.cell() == ("F", "15.15-44.01")
    back = gates_module.parse_cell(*gate.cell())
    assert back.low <= gate.low
    assert back.high >= gate.high
    assert gates_module.parse_cell("", "") == gates_module.Gate()
    assert gates_module.parse_cell("M", "60-").high == math.inf


def test_the_concept_list_records_the_modules_gates() -> None:
    concepts = {c.code: c for c in coverage._concepts("condition")}
    pregnancy, prostate = concepts["72892002"], concepts["126906006"]
    assert pregnancy.sexes == "F"
    assert pregnancy.low >= 14
    assert prostate.sexes == "M"
    assert prostate.low >= 18
    assert concepts["38341003"].sexes == ""  # hypertension: anyone


def test_the_population_draws_each_concept_only_for_patients_its_gate_admits() -> None:
    concepts = {c.code: c for kind in ("condition", "procedure") for c in coverage._concepts(kind)}
    encounters = coverage.population(60, 3)
    checked = 0
    for encounter in encounters:
        sex = "F" if encounter.patient.sex == "female" else "M"
        assert encounter.patient.birth_date is not None
        assert encounter.period_start is not None
        age = coverage._age(encounter.patient.birth_date.isoformat(),
                            encounter.period_start.date().isoformat())  # fmt: skip
        assert age >= 0
        for coded in (*encounter.diagnoses, *encounter.procedures):
            concept = concepts[coded.codings[0].code]
            assert concept.admits(sex, age), (concept, sex, age)
            checked += 1
    assert checked > 100


def test_emitted_weights_give_unseen_concepts_the_good_turing_share() -> None:
    concepts = [coverage.Concept(code, "", "", 0.0, math.inf) for code in "abcd"]
    weights = coverage.emitted_weights(concepts, coverage.Counter({"a": 3, "b": 1, "z": 9}))
    assert weights["c"] == weights["d"] == pytest.approx(0.25 / 2)  # N1/N = 1/4, two unseen
    assert weights["a"] == pytest.approx(0.75 * 3 / 4)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert set(coverage.emitted_weights(concepts, coverage.Counter()).values()) == {1.0}


def test_vaccines_follow_the_schedule_ages(tmp_path: Path) -> None:
    path = tmp_path / "src" / "main" / "resources" / "immunization_schedule.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "pcv13": {"code": {"code": "133", "display": "PCV13"}, "at_months": [2, 4, 780]},
        "zoster": {"code": {"code": "121", "display": "zoster"}, "at_months": [600, 606]},
    }))  # fmt: skip
    found = gates_module.vaccine_ages(tmp_path)
    # Each scheduled age to 48 months past it (Immunizations.immunizationDue), merged.
    assert gates_module.bands_cell(found["133"][1]) == "0.16-4.34;65-69"
    assert gates_module.bands_cell(found["121"][1]) == "50-54.5"
    assert gates_module.parse_bands("0.16-4.34;65-69") == [(0.16, 4.34), (65.0, 69.0)]


def test_the_population_gives_vaccines_only_at_the_schedule_s_ages() -> None:
    schedule = dict(coverage._schedule())
    given = 0
    for encounter in coverage.population(60, 3):
        assert encounter.patient.birth_date is not None
        assert encounter.period_start is not None
        age = coverage._age(
            encounter.patient.birth_date.isoformat(), encounter.period_start.date().isoformat()
        )
        for shot in encounter.immunizations:
            cvx = shot.vaccine[0].code
            assert any(low <= age < high for low, high in schedule[cvx]), (cvx, age)
            given += 1
    assert given > 10
