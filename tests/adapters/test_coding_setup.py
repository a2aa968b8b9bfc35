"""The organisation's coding policy from the environment: PCS reporting and Medicare payers."""

from __future__ import annotations

import pytest

from adapters.coding_setup import (
    MEDICARE_PAYERS_ENV,
    PCS_REPORTING_ENV,
    policy_from_environment,
)
from fhir_coder.errors import ConfigurationError


def test_the_defaults_report_significant_procedures_and_list_no_medicare_payer(monkeypatch):
    monkeypatch.delenv(PCS_REPORTING_ENV, raising=False)
    monkeypatch.delenv(MEDICARE_PAYERS_ENV, raising=False)
    policy = policy_from_environment()
    assert policy.pcs_reporting == "significant"
    assert policy.medicare_payers == frozenset()
    assert policy.visit_codes  # the shipped visit table


def test_the_settings_are_read_and_a_wrong_value_is_named(monkeypatch):
    monkeypatch.setenv(PCS_REPORTING_ENV, " ALL ")
    monkeypatch.setenv(MEDICARE_PAYERS_ENV, "12502, Organization/cms ,,00882")
    policy = policy_from_environment()
    assert policy.pcs_reporting == "all"
    assert policy.medicare_payers == frozenset({"12502", "Organization/cms", "00882"})
    monkeypatch.setenv(PCS_REPORTING_ENV, "some")
    with pytest.raises(ConfigurationError, match="FHIR_CODER_PCS_REPORTING='some'"):
        policy_from_environment()
