"""Everything the coding engine is given in production, assembled in one place.

The code sets, crosswalks, notes and text search come from ``codesets`` (compiled caches
and the files an organisation configures); the policy, with its visit-code table, from
``FHIR_CODER_VISIT_CODES`` (a CSV) or the table shipped in ``adapters/data``, which
procedures of a stay are reported in ICD-10-PCS from ``FHIR_CODER_PCS_REPORTING``
(``significant``, the default, or ``all``), and the payers billed as Medicare when a
Coverage states no payer type from ``FHIR_CODER_MEDICARE_PAYERS`` (identifiers or payer
references, comma-separated).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from fhir_coder.coding import CodingPolicy, VisitCode, code_encounter
from fhir_coder.coding.guidelines import Rulebook
from fhir_coder.coding.pcs_reporting import PCS_REPORTING
from fhir_coder.errors import ConfigurationError
from fhir_coder.model import CodedEncounter, Encounter
from fhir_coder.ports import CodeNotesPort, CodeSetPort, CrosswalkPort, TextSearchPort
from fhir_coder.systems import canonical_system

__all__ = [
    "MEDICARE_PAYERS_ENV",
    "PCS_REPORTING_ENV",
    "VISIT_CODES_ENV",
    "CodingSetup",
    "default_coding",
    "policy_from_environment",
    "read_visit_codes",
]

VISIT_CODES_ENV = "FHIR_CODER_VISIT_CODES"
PCS_REPORTING_ENV = "FHIR_CODER_PCS_REPORTING"
MEDICARE_PAYERS_ENV = "FHIR_CODER_MEDICARE_PAYERS"
_COLUMNS = ["encounter_class", "encounter_type", "system", "code", "modifiers", "confirmed"]


@dataclass(frozen=True, slots=True, eq=False)
class CodingSetup:
    """The ports and policy :func:`fhir_coder.coding.code_encounter` takes.

    A set-up is one object, compared and hashed by identity: the scrubber kept per set-up
    (``adapters.scrubbing``) is then found without hashing its ports and visit table
    field by field for every encounter.
    """

    codesets: CodeSetPort
    crosswalks: CrosswalkPort | None
    notes: CodeNotesPort | None
    text: TextSearchPort | None
    policy: CodingPolicy
    # The Official Guidelines' rule tables; None: the ones shipped with the package. The
    # engine benchmark passes an empty Rulebook to measure the stage in the same run.
    rules: Rulebook | None = None

    def code(self, encounter: Encounter) -> CodedEncounter:
        """``encounter`` coded with these ports and this policy."""
        return code_encounter(
            encounter,
            self.codesets,
            crosswalks=self.crosswalks,
            notes=self.notes,
            text=self.text,
            policy=self.policy,
            rules=self.rules,
        )


def read_visit_codes(text: str, *, where: str) -> tuple[VisitCode, ...]:
    """The rows of a visit-code CSV; a malformed row is a ConfigurationError naming it."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    if reader.fieldnames != _COLUMNS:
        raise ConfigurationError(f"{where}: the header must be {','.join(_COLUMNS)}")
    rows: list[VisitCode] = []
    for number, row in enumerate(reader, start=2):
        if not row["encounter_class"] or not row["code"] or not row["system"]:
            raise ConfigurationError(f"{where}: row {number} lacks a class, system or code")
        if row["confirmed"] not in ("yes", "no"):
            raise ConfigurationError(f"{where}: row {number}: confirmed must be yes or no")
        rows.append(
            VisitCode(
                encounter_class=row["encounter_class"].strip().upper(),
                encounter_type=row["encounter_type"].strip() or "*",
                system=canonical_system(row["system"]),
                code=row["code"].strip(),
                modifiers=tuple(m for m in row["modifiers"].split() if m),
                confirmed=row["confirmed"] == "yes",
            )
        )
    return tuple(rows)


def _visit_codes() -> tuple[VisitCode, ...]:
    configured = os.environ.get(VISIT_CODES_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ConfigurationError(f"{VISIT_CODES_ENV} names {path}, which does not exist")
        return read_visit_codes(path.read_text(encoding="utf-8"), where=str(path))
    shipped = files("adapters") / "data" / "visit-codes.csv"
    return read_visit_codes(
        shipped.read_text(encoding="utf-8"), where="adapters/data/visit-codes.csv"
    )


def policy_from_environment() -> CodingPolicy:
    """The organisation's coding policy: the visit table, PCS reporting, Medicare payers."""
    reporting = os.environ.get(PCS_REPORTING_ENV, "").strip().lower() or "significant"
    if reporting not in PCS_REPORTING:
        raise ConfigurationError(
            f"{PCS_REPORTING_ENV}={reporting!r}: choose one of {', '.join(PCS_REPORTING)}"
        )
    payers = os.environ.get(MEDICARE_PAYERS_ENV, "")
    return CodingPolicy(
        visit_codes=_visit_codes(),
        pcs_reporting=reporting,
        medicare_payers=frozenset(p.strip() for p in payers.split(",") if p.strip()),
    )


@cache
def default_coding() -> CodingSetup:
    """The production set-up, built once per process."""
    from codesets import default_registry  # noqa: PLC0415 - loads the compiled index
    from codesets.crosswalks import default_crosswalks  # noqa: PLC0415

    registry = default_registry()
    return CodingSetup(
        codesets=registry,
        crosswalks=default_crosswalks(),
        notes=registry,
        text=registry,
        policy=policy_from_environment(),
    )
