"""The claim as the scrubber reads it: small frozen values, no FHIR models on the hot path.

``adapters.claim_input`` reads any R4 Claim (ours or anyone's) leniently into these;
every value keeps its position in the source Claim so a finding can name the element
with a FHIRPath expression (0-based indexes, as FHIRPath counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fhir_coder.values import fast_init

__all__ = [
    "ClaimForm",
    "DiagnosisEntry",
    "InsuranceEntry",
    "ItemEntry",
    "ProcedureEntry",
    "service_date",
]


@fast_init
@dataclass(frozen=True, slots=True)
class DiagnosisEntry:
    """``Claim.diagnosis[index]``: ``coding_index`` is the coding the code came from."""

    index: int
    sequence: int | None
    code: str
    system: str
    types: tuple[str, ...] = ()
    poa: str | None = None
    coding_index: int = 0

    @property
    def expression(self) -> str:
        """The FHIRPath of the code."""
        return (
            f"Claim.diagnosis[{self.index}].diagnosisCodeableConcept"
            f".coding[{self.coding_index}].code"
        )

    @property
    def principal(self) -> bool:
        """Whether the claim calls this diagnosis principal."""
        return "principal" in self.types

    @property
    def admitting_only(self) -> bool:
        """Whether this is the admitting diagnosis alone (UB-04 FL 69): not a secondary one."""
        return "admitting" in self.types and "principal" not in self.types


@fast_init
@dataclass(frozen=True, slots=True)
class ProcedureEntry:
    """``Claim.procedure[index]`` (ICD-10-PCS on institutional claims)."""

    index: int
    sequence: int | None
    code: str
    system: str
    performed: date | None = None
    coding_index: int = 0

    @property
    def expression(self) -> str:
        """The FHIRPath of the code."""
        return (
            f"Claim.procedure[{self.index}].procedureCodeableConcept"
            f".coding[{self.coding_index}].code"
        )


@fast_init
@dataclass(frozen=True, slots=True)
class ItemEntry:
    """``Claim.item[index]``: a service line."""

    index: int
    sequence: int | None
    code: str
    system: str
    modifiers: tuple[str, ...] = ()
    quantity: float | None = None
    pointers: tuple[int, ...] = ()
    serviced: date | None = None
    unit_price: float | None = None
    net: float | None = None
    coding_index: int = 0
    factor: float | None = None
    revenue: str = ""  # the NUBC revenue code (institutional lines), "" when absent

    @property
    def expression(self) -> str:
        """The FHIRPath of the line's code."""
        return f"Claim.item[{self.index}].productOrService.coding[{self.coding_index}].code"

    @property
    def units(self) -> float:
        """Units billed: the quantity, or 1 when absent (as payers read it)."""
        return 1.0 if self.quantity is None else self.quantity


@fast_init
@dataclass(frozen=True, slots=True)
class InsuranceEntry:
    """``Claim.insurance[index]``."""

    index: int
    sequence: int | None
    focal: bool
    coverage: str


@fast_init
@dataclass(frozen=True, slots=True)
class ClaimForm:
    """One Claim as the edits take it, with the patient's age and sex when known.

    ``claim_type`` is the ``claim-type`` code (``professional``, ``institutional``, ...);
    ``age`` is in whole years on the date of service; ``sex`` is administrative gender.
    """

    claim_type: str = ""
    patient: str = ""
    provider: str = ""
    insurer: str = ""
    insurance: tuple[InsuranceEntry, ...] = ()
    period_start: date | None = None
    period_end: date | None = None
    created: date | None = None
    diagnoses: tuple[DiagnosisEntry, ...] = ()
    procedures: tuple[ProcedureEntry, ...] = ()
    items: tuple[ItemEntry, ...] = ()
    total: float | None = None
    age: int | None = None
    sex: str | None = None
    label: str = "Claim"

    @property
    def institutional(self) -> bool:
        """Whether the claim is an institutional one (the MCE and POA apply)."""
        return self.claim_type == "institutional"

    @property
    def professional(self) -> bool:
        """Whether the claim is a professional one (pointers are required on every line)."""
        return self.claim_type == "professional"

    def date_of_service(self) -> date | None:
        """The date codes are checked against (see :func:`service_date`)."""
        return service_date(
            institutional=self.institutional,
            items=self.items,
            period_start=self.period_start,
            period_end=self.period_end,
            created=self.created,
        )


def service_date(
    *,
    institutional: bool,
    items: tuple[ItemEntry, ...],
    period_start: date | None,
    period_end: date | None,
    created: date | None,
) -> date | None:
    """The date a claim's codes are checked against: discharge for institutional, else service.

    Institutional claims use the end of the billable period (the discharge date); others
    the first line's service date, then the period's start, then creation. A function of
    the parts, so a form can be given its patient's age on that date as it is made.
    """
    if institutional and period_end is not None:
        return period_end
    served = [item.serviced for item in items if item.serviced is not None]
    for candidate in (min(served) if served else None, period_start, period_end):
        if candidate is not None:
            return candidate
    return created
