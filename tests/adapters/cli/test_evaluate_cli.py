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
