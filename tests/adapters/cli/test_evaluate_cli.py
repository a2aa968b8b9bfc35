"""``fhir-coder evaluate`` over the development gold set and over broken gold files."""

import json
from pathlib import Path

from adapters.cli.main import main
from adapters.exit_codes import ExitCode

GOLD = Path(__file__).resolve().parents[3] / "docs" / "gold" / "dev.tsv"


def test_development_gold_set_is_coded_with_no_invalid_code(capsys):
    assert main(["evaluate", str(GOLD), "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 51
    assert report["invalid_codes_emitted"] == 0
    # Every ICD-10-CM row as sent must come back exactly; the SNOMED rows need the crosswalk.
    assert report["exact"] >= 9
    assert 0 <= report["exact_agreement"] <= report["coverage"] <= 1


def test_malformed_gold_row_is_a_one_line_error_naming_the_line(tmp_path, capsys):
    gold = tmp_path / "gold.tsv"
    gold.write_text("input_system\tinput_code\tage\tsex\texpected\nhttp://snomed.info/sct\t1\t\n")
    assert main(["evaluate", str(gold)]) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err.strip()
    assert err == (
        f"fhir-coder: error: {gold}:2: expected 5 tab-separated columns "
        "(system, code, age, sex, expected), found 3"
    )


def test_missing_gold_file_is_a_configuration_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.tsv")]) == ExitCode.CONFIGURATION
    assert "does not exist" in capsys.readouterr().err


ENCOUNTERS = GOLD.parent / "encounters.tsv"


def test_the_encounter_development_set_agrees_in_every_family(capsys):
    assert main(["evaluate", str(ENCOUNTERS), "--json"]) == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert report["encounters"] >= 200
    assert report["invalid_codes_emitted"] == 0
    families = report["families"]
    for family in (
        "diabetes", "hypertension", "copd-asthma", "influenza", "covid-19", "other-with",
        "symptoms", "sepsis", "pregnancy", "etiology-manifestation", "z-codes",
        "status-history", "uncertain", "seventh-character", "laterality", "bmi", "separate",
    ):  # fmt: skip
        assert families[family]["encounters"] >= 5, family
    assert report["disagreements"] == []
    assert report["agreement"] == 1.0


def test_an_encounter_gold_row_that_disagrees_is_listed_with_its_section(tmp_path, capsys):
    gold = tmp_path / "encounters.tsv"
    gold.write_text(
        "id\tfamily\tsection\tclass\tage\tsex\tencounter\tconditions\texpected\tfirst\n"
        "dm\tdiabetes\tI.A.15\tAMB\t60\tmale\t-\tE11.9; N18.30\tE11.9 N18.30\tE11.9\n"
    )
    assert main(["evaluate", str(gold)]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert "diabetes: 0/1 (0.0%)" in printed
    assert "line 2 dm (I.A.15): expected E11.9 N18.30 first E11.9, got E11.22 N18.30" in printed


def test_a_malformed_encounter_gold_row_names_its_line(tmp_path, capsys):
    gold = tmp_path / "encounters.tsv"
    gold.write_text(
        "id\tfamily\tsection\tclass\tage\tsex\tencounter\tconditions\texpected\tfirst\n"
        "dm\tdiabetes\tI.A.15\tAMB\t60\tmale\t-\tE11.9{site=up}\tE11.9\t-\n"
    )
    assert main(["evaluate", str(gold)]) == ExitCode.CONFIGURATION
    assert f"{gold}:2: site is left, right or bilateral" in capsys.readouterr().err
