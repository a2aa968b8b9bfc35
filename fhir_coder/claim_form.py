"""The scrubber's form of a Claim this package builds, made from the coded encounter.

Reading our own Claim JSON back (``adapters.claim_input``) to scrub it cost more than
building it; the form is instead laid out from the same decisions
:func:`fhir_coder.claim.build_claim` makes (billing provider, coverage order, pointers,
service dates, prices), so the two describe the same claim. A test holds every form equal
to ``read_claim`` of the built Claim; claims from elsewhere are still read with it.
"""

from __future__ import annotations

from datetime import datetime

from fhir_coder.claim import (
    ROLE_CODES,
    ClaimOptions,
    billed_diagnoses,
    billing_and_team,
    claim_id_for,
    claim_total,
    day_of,
    diagnosis_pointers,
    institutional_pointers,
    insurer_of,
    line_price,
    ordered_coverages,
    serviced_on,
    split_procedures,
)
from fhir_coder.claim_parts import DATA_ABSENT_REASON, poa_indicator
from fhir_coder.facility import facility_charges, line_revenue
from fhir_coder.model import CodedEncounter, CodedLine, Provider
from fhir_coder.systems import canonical_system, display_icd10cm
from fhir_coder.validation.form import (
    ClaimForm,
    DiagnosisEntry,
    InsuranceEntry,
    ItemEntry,
    ProcedureEntry,
    service_date,
)

__all__ = ["claim_form"]

_SEXES = ("male", "female")
_NO_OPTIONS = ClaimOptions()


def _party(provider: Provider) -> str:
    """What the scrubber reads of a provider reference: reference, display, else the NPI."""
    if provider.reference:
        return provider.reference
    if provider.display:
        return provider.display
    return f"identifier {provider.npi}" if provider.npi else ""


def _code(line: CodedLine, written: str) -> tuple[str, str]:
    """(code, system) as the Claim carries them; a line without a code has neither."""
    code = written.strip()
    return (code, canonical_system(line.system)) if code else ("", "")


def claim_form(
    coded: CodedEncounter,
    *,
    created: datetime,
    options: ClaimOptions | None = None,
    claim_id: str | None = None,
) -> ClaimForm:
    """The :class:`ClaimForm` of ``build_claim(coded, ..., created=created, options=options)``.

    The patient's sex and age on the date of service come from the encounter, as
    ``read_claim`` takes them from the Patient. ``claim_id`` is the built Claim's id
    (derived again when not given).
    """
    options = options or _NO_OPTIONS
    encounter = coded.encounter
    inpatient = encounter.encounter_class.is_inpatient
    billing, _ = billing_and_team(encounter)
    coverages = ordered_coverages(encounter)
    insurer = insurer_of(coverages)
    diagnoses = []
    for index, line in enumerate(coded.diagnoses):
        code, system = _code(line, display_icd10cm(line.code))
        diagnoses.append(
            DiagnosisEntry(
                index=index,
                sequence=index + 1,
                code=code,
                system=system,
                types=(ROLE_CODES[line.role].lower(),),
                poa=poa_indicator(line, encounter).upper() if inpatient else None,
            )
        )
    icd_procedures, service_lines = split_procedures(coded)
    items = []
    nets: list[float | None] = []
    # Without a chargemaster a stay has no facility lines (as build_claim decides).
    schedule = options.fee_schedule
    facility = facility_charges(coded, schedule).lines if inpatient and schedule is not None else ()
    pointers = tuple(institutional_pointers(billed_diagnoses(coded))) if facility else ()
    for index, charge in enumerate(facility):
        nets.append(float(charge.net))
        items.append(
            ItemEntry(
                index=index,
                sequence=index + 1,
                code="",
                system=DATA_ABSENT_REASON,
                quantity=float(charge.units),
                pointers=pointers,
                serviced=charge.first,
                unit_price=float(charge.unit_price),
                net=float(charge.net),
                revenue=charge.revenue,
            )
        )
    for index, line in enumerate(service_lines, start=len(facility)):
        code, system = _code(line, line.code)
        price = line_price(line, options)
        net = None if price is None else float(price * line.units)
        nets.append(net)
        items.append(
            ItemEntry(
                index=index,
                sequence=index + 1,
                code=code,
                system=system,
                modifiers=tuple(m.strip().upper() for m in line.modifiers if m)
                if line.modifiers
                else (),
                quantity=float(line.units),
                pointers=tuple(diagnosis_pointers(line, coded.diagnoses, institutional=inpatient)),
                serviced=serviced_on(line, encounter),
                unit_price=None if price is None else float(price),
                net=net,
                revenue=(line_revenue(line, options.fee_schedule) or "") if inpatient else "",
            )
        )
    total = claim_total(nets) if options.fee_schedule is not None else None
    period_start, period_end = day_of(encounter.period_start), day_of(encounter.period_end)
    items_laid = tuple(items)
    patient = encounter.patient
    day = service_date(
        institutional=inpatient,
        items=items_laid,
        period_start=period_start,
        period_end=period_end,
        created=created.date(),
    )
    age = None
    if patient.birth_date is not None and day is not None and patient.birth_date <= day:
        age = patient.age_on(day)
    return ClaimForm(
        claim_type="institutional" if inpatient else "professional",
        patient=patient.reference,
        provider=_party(billing),
        insurer=insurer.payer_reference if insurer is not None else "",
        insurance=tuple(
            InsuranceEntry(index=i, sequence=i + 1, focal=i == 0, coverage=c.reference)
            for i, c in enumerate(coverages)
        ),
        period_start=period_start,
        period_end=period_end,
        created=created.date(),
        diagnoses=tuple(diagnoses),
        procedures=tuple(
            ProcedureEntry(
                index=index,
                sequence=index + 1,
                code=code,
                system=system,
                performed=line.performed,
            )
            for index, line in enumerate(icd_procedures)
            for code, system in (_code(line, line.code),)
        ),
        items=items_laid,
        total=None if total is None else float(total),
        age=age,
        sex=patient.sex if patient.sex in _SEXES else None,
        label=f"Claim/{claim_id or claim_id_for(encounter)}",
    )
