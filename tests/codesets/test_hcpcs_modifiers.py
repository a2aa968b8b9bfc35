"""The modifier port: HCPCS Level II modifiers from CMS's file, through the registry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codesets import CodeSetRegistry
from fhir_coder.errors import UnknownCodeSystemError
from fhir_coder.ports import ServiceCodesPort
from fhir_coder.systems import HCPCS

HCPCS_TXT = Path(__file__).parent / "fixtures" / "HCPC2026_JAN_ANWEB_synthetic.txt"
DAY = date(2026, 3, 2)


def test_a_modifier_of_the_file_is_valid_and_any_other_is_not(cache_folder):
    with CodeSetRegistry(cache_dir=cache_folder, hcpcs_file=HCPCS_TXT) as registry:
        port: ServiceCodesPort = registry
        found = port.modifier("xs ", DAY)
        assert (found.system, found.code, found.valid, found.release) == (
            HCPCS,
            "XS",
            True,
            "HCPCS 2026 JAN",
        )
        assert found.description == "Synthetic separate structure modifier"
        missing = port.modifier("ZZ", DAY)
        assert (missing.valid, missing.billable, missing.description) == (False, False, "")


def test_without_a_hcpcs_file_the_modifiers_cannot_be_answered(registry, monkeypatch):
    monkeypatch.delenv("FHIR_CODER_HCPCS_FILE", raising=False)
    if registry.procedures.hcpcs is not None:
        pytest.skip("a HCPCS file is configured for this run")
    with pytest.raises(UnknownCodeSystemError):
        registry.modifier("XS", DAY)


def test_the_registry_says_which_service_line_files_are_loaded(cache_folder):
    with CodeSetRegistry(cache_dir=cache_folder, hcpcs_file=HCPCS_TXT) as registry:
        assert registry.loaded(HCPCS)
        assert not registry.loaded("http://www.ama-assn.org/go/cpt")
        assert registry.loaded("http://hl7.org/fhir/sid/icd-10-cm")
