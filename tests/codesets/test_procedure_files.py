from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codesets import CodeSetRegistry
from codesets.cpt import CptFile
from codesets.hcpcs import HcpcsFile
from codesets.ncci import NcciEdits, setting_of
from fhir_coder.errors import ConfigurationError, UnknownCodeSystemError
from fhir_coder.ports import ProcedureEditPort
from fhir_coder.systems import CPT, HCPCS

FIXTURES = Path(__file__).parent / "fixtures"
HCPCS_TXT = FIXTURES / "HCPC2026_JAN_ANWEB_synthetic.txt"
CPT_TXT = FIXTURES / "CPT2026_synthetic.txt"


@pytest.fixture(scope="module")
def configured(cache_folder):
    with CodeSetRegistry(cache_dir=cache_folder, hcpcs_file=HCPCS_TXT, cpt_file=CPT_TXT) as built:
        yield built


def test_fixed_width_hcpcs_file():
    table = HcpcsFile(HCPCS_TXT)
    assert table.release == "HCPCS 2026 JAN"
    first = table.codes["A0001"]
    assert first.description.endswith("a long description that goes on to a second line")
    assert first.short_description == "SYNTH AMB SVC"
    assert first.added == date(2020, 1, 1)
    assert "99999" not in table.codes  # Level I lines are never read from the HCPCS file
    assert table.modifiers["XS"].description == "Synthetic separate structure modifier"
    assert table.codes["G9901"].terminated == date(2025, 12, 31)


def test_csv_hcpcs_file_reads_the_same_facts():
    table = HcpcsFile(FIXTURES / "hcpcs-synthetic.csv")
    assert table.codes["G9901"].terminated == date(2025, 12, 31)
    assert table.codes["A0001"].added == date(2020, 1, 1)
    assert "XS" in table.modifiers


def test_hcpcs_validity_by_date(configured):
    assert configured.lookup(HCPCS, "G9901", date(2025, 12, 31)).valid
    assert not configured.lookup(HCPCS, "G9901", date(2026, 1, 1)).valid
    assert not configured.lookup(HCPCS, "J9902", date(2025, 12, 31)).valid
    info = configured.lookup(HCPCS, "j9902", date(2026, 1, 1))
    assert (info.code, info.valid, info.billable, info.release) == (
        "J9902",
        True,
        True,
        "HCPCS 2026 JAN",
    )
    assert not configured.lookup(HCPCS, "A9999", date(2026, 1, 1)).valid


def test_cpt_from_the_licensed_file(configured):
    info = configured.lookup(CPT, "99213", date(2026, 3, 1))
    assert (info.valid, info.description, info.release) == (
        True,
        "synthetic procedure 1",
        "CPT 2026",
    )
    assert configured.lookup(CPT, "0500T", date(2026, 3, 1)).description == (
        "synthetic emerging technology 4"
    )
    assert not configured.lookup(CPT, "99215", date(2026, 3, 1)).valid
    assert "used for 2025-06-01" in configured.lookup(CPT, "99213", date(2025, 6, 1)).release
    # a CPT code sent under the HCPCS system is Level I, answered from the CPT file
    assert (
        configured.lookup(HCPCS, "99213", date(2026, 3, 1)).description == "synthetic procedure 1"
    )


def test_without_a_cpt_file_only_the_shape_is_checked(registry):
    with pytest.raises(UnknownCodeSystemError):
        registry.lookup(CPT, "99213", date(2026, 3, 1))
    bad = registry.lookup(CPT, "9921", date(2026, 3, 1))
    assert not bad.valid
    assert "shape" in bad.release
    with pytest.raises(UnknownCodeSystemError):
        registry.lookup(HCPCS, "A0001", date(2026, 3, 1))


def test_files_are_configured_from_the_environment(cache_folder, monkeypatch):
    monkeypatch.setenv("FHIR_CODER_HCPCS_FILE", str(HCPCS_TXT))
    monkeypatch.setenv("FHIR_CODER_CPT_FILE", str(CPT_TXT))
    with CodeSetRegistry(cache_dir=cache_folder) as from_env:
        assert CPT in from_env.systems
        assert from_env.lookup(HCPCS, "A0001", date(2026, 1, 1)).valid
        names = [entry.name for entry in from_env.info()]
    assert names == ["ICD-10-CM", "ICD-10-PCS", "HCPCS Level II", "CPT"]


def test_unreadable_files_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError):
        HcpcsFile(tmp_path / "absent.txt")
    empty = tmp_path / "CPT2026.txt"
    empty.write_text("no codes here\n")
    with pytest.raises(ConfigurationError):
        CptFile(empty)


@pytest.fixture(scope="module")
def edits() -> NcciEdits:
    return NcciEdits(ptp_dir=FIXTURES / "ncci", mue_dir=FIXTURES / "mue")


def test_edits_satisfy_the_port(edits):
    port: ProcedureEditPort = edits
    assert port.mue("99213", date(2026, 2, 1), "practitioner") is not None


def test_ptp_edits_by_setting_and_date(edits):
    edit = edits.ptp_edit("99213", "36415", date(2026, 1, 1), "practitioner")
    assert edit is not None
    assert (edit.modifier_indicator, edit.effective, edit.deleted) == ("1", date(2020, 1, 1), None)
    hospital = edits.ptp_edit("99213", "36415", date(2026, 1, 1), "hospital")
    assert hospital is not None
    assert hospital.modifier_indicator == "0"
    assert edits.ptp_edit("99213", "36415", date(2021, 1, 1), "hospital") is None
    assert edits.ptp_edit("36415", "99213", date(2026, 1, 1), "practitioner") is None


def test_ptp_edit_history(edits):
    old = edits.ptp_edit("A0001", "G9901", date(2022, 12, 31), "practitioner")
    assert old is not None
    assert (old.modifier_indicator, old.effective) == ("0", date(1996, 1, 1))
    assert edits.ptp_edit("A0001", "G9901", date(2023, 6, 1), "practitioner") is None
    later = edits.ptp_edit("A0001", "G9901", date(2024, 6, 1), "practitioner")
    assert later is not None
    assert later.modifier_indicator == "9"


def test_mue_picks_the_file_in_force(edits):
    early = edits.mue("99213", date(2025, 6, 1), "practitioner")
    late = edits.mue("99213", date(2026, 6, 1), "practitioner")
    assert early is not None
    assert late is not None
    assert (early.limit, late.limit, late.adjudication) == (1, 2, 2)
    assert edits.mue("99213", date(2024, 6, 1), "practitioner") is None
    hospital = edits.mue("A0001", date(2026, 6, 1), "hospital")
    assert hospital is not None
    assert (hospital.limit, hospital.adjudication) == (1, 1)
    assert edits.ptp_count == 4
    assert edits.mue_count == 4


def test_setting_must_be_named(tmp_path):
    assert setting_of(Path("x/ccipra-v321r0-f1.txt")) == "practitioner"
    assert setting_of(Path("MCR_MUE_OutpatientHospitalServices.csv")) == "hospital"
    with pytest.raises(ConfigurationError, match="practitioner or hospital"):
        setting_of(tmp_path / "edits.txt")
    with pytest.raises(ConfigurationError):
        NcciEdits(ptp_dir=tmp_path / "absent")
