"""Claim structure and diagnosis pointers: what a payer's front end rejects unread.

A claim needs a patient, a provider, insurance with a coverage, a billable period, a
principal diagnosis and lines with a product or service; sequences are unique and
pointers point at diagnoses that exist; totals add up. Professional (837P) lines point
at one to four diagnoses. An inpatient (UB-04) claim also states the discharge status,
the admission's type and point of origin, and a revenue code on every line: where the
encounter does not say them for certain, :func:`institutional_edits` says so.
"""

from __future__ import annotations

from collections import Counter

from fhir_coder.claim_parts import (
    DATA_ABSENT_REASON,
    admission_type,
    discharge_status,
    discharge_status_code,
    point_of_origin,
)
from fhir_coder.model import CodedEncounter, Coding
from fhir_coder.outcome import Issue
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import ClaimForm

__all__ = ["MAX_POINTERS", "institutional_edits", "pointer_edits", "structure_edits"]

MAX_POINTERS = 4
_CENTS = 0.005


def structure_edits(claim: ClaimForm) -> list[Issue]:
    """Findings about the Claim's required elements, sequences and totals."""
    found: list[Issue] = []
    name = claim.label
    if not claim.patient:
        found.append(finding("CLAIM-MISSING-PATIENT", f"{name} names no patient", "Claim.patient"))
    if not claim.provider:
        found.append(
            finding(
                "CLAIM-MISSING-PROVIDER",
                f"{name} names no billing provider",
                "Claim.provider",
                fix="set Claim.provider to the billing organisation or practitioner",
            )
        )
    if not claim.insurer:
        found.append(finding("CLAIM-MISSING-INSURER", f"{name} names no insurer", "Claim.insurer"))
    if not any(entry.coverage for entry in claim.insurance):
        found.append(
            finding(
                "CLAIM-MISSING-COVERAGE",
                f"{name} has no insurance entry with a coverage",
                "Claim.insurance",
                fix="add Claim.insurance with sequence, focal and coverage",
            )
        )
    if claim.period_start is None and claim.period_end is None:
        found.append(
            finding(
                "CLAIM-MISSING-BILLABLE-PERIOD",
                f"{name} has no billable period",
                "Claim.billablePeriod",
                fix="set billablePeriod to the dates of service (admission to discharge)",
            )
        )
    found.extend(_diagnosis_structure(claim))
    found.extend(_sequences(claim))
    found.extend(_items(claim))
    return found


def _diagnosis_structure(claim: ClaimForm) -> list[Issue]:
    if not claim.diagnoses:
        return [finding("CLAIM-NO-DIAGNOSIS", f"{claim.label} has no diagnosis", "Claim.diagnosis")]
    if not any(entry.principal for entry in claim.diagnoses) and not any(
        entry.sequence == 1 for entry in claim.diagnoses
    ):
        return [
            finding(
                "CLAIM-NO-PRINCIPAL-DIAGNOSIS",
                f"{claim.label} has no diagnosis typed principal and none with sequence 1",
                "Claim.diagnosis",
                fix="type the first-listed diagnosis 'principal'",
            )
        ]
    return []


def _sequences(claim: ClaimForm) -> list[Issue]:
    found: list[Issue] = []
    for element, entries in (
        ("diagnosis", claim.diagnoses),
        ("procedure", claim.procedures),
        ("item", claim.items),
        ("insurance", claim.insurance),
    ):
        if len(entries) < 2:
            continue
        sequences = [entry.sequence for entry in entries if entry.sequence is not None]
        if len(set(sequences)) == len(sequences):
            continue  # the common case, checked without counting
        counts = Counter(sequences)
        found.extend(
            finding(
                "CLAIM-DUPLICATE-SEQUENCE",
                f"{element} sequence {entry.sequence} is used {counts[entry.sequence]} times",
                f"Claim.{element}[{entry.index}].sequence",
                fix="number the entries 1, 2, 3... without repeats",
            )
            for entry in entries
            if entry.sequence is not None and counts[entry.sequence] > 1
        )
    return found


def _items(claim: ClaimForm) -> list[Issue]:
    found: list[Issue] = []
    if not claim.items:
        found.append(
            finding(
                "CLAIM-NO-ITEMS",
                f"{claim.label} has no service lines",
                "Claim.item",
                fix="add a line for each service billed",
            )
        )
    for item in claim.items:
        where = f"Claim.item[{item.index}]"
        # an institutional line may carry a revenue code alone (room and board, an
        # ancillary without HCPCS), productOrService then saying not-applicable
        revenue_only = claim.institutional and item.revenue and item.system == DATA_ABSENT_REASON
        if not item.code and not revenue_only:
            found.append(
                finding(
                    "ITEM-NO-PRODUCT",
                    f"item {item.sequence} has no product or service code",
                    f"{where}.productOrService",
                )
            )
        if claim.institutional and not item.revenue:
            found.append(
                finding(
                    "ITEM-NO-REVENUE",
                    f"item {item.sequence} ({item.code or 'no code'}) of an institutional claim "
                    "has no revenue code",
                    f"{where}.revenue",
                    fix="add the revenue code from the chargemaster (UB-04 FL 42)",
                )
            )
        if item.unit_price is not None and item.net is not None:
            factor = 1.0 if item.factor is None else item.factor
            expected = item.unit_price * item.units * factor
            if abs(expected - item.net) > _CENTS:
                found.append(
                    finding(
                        "ITEM-NET-MISMATCH",
                        f"item {item.sequence}: net {item.net:.2f} is not unit price "
                        f"{item.unit_price:.2f} x quantity {item.units:g} x factor {factor:g}"
                        f" = {expected:.2f}",
                        f"{where}.net",
                        fix=f"set net to {expected:.2f}",
                    )
                )
    nets = [item.net for item in claim.items if item.net is not None]
    if claim.total is not None and nets and len(nets) == len(claim.items):
        added = sum(nets)
        if abs(added - claim.total) > _CENTS:
            found.append(
                finding(
                    "CLAIM-TOTAL-MISMATCH",
                    f"total {claim.total:.2f} is not the sum of the item nets {added:.2f}",
                    "Claim.total",
                    fix=f"set total to {added:.2f}",
                )
            )
    return found


def pointer_edits(claim: ClaimForm) -> list[Issue]:
    """Diagnosis pointers: present on professional lines, valid, at most four there."""
    found: list[Issue] = []
    sequences = {entry.sequence for entry in claim.diagnoses if entry.sequence is not None}
    for item in claim.items:
        where = f"Claim.item[{item.index}].diagnosisSequence"
        if not item.pointers:
            if claim.professional:
                found.append(
                    finding(
                        "DX-POINTER-MISSING",
                        f"item {item.sequence} ({item.code or 'no code'}) points at no diagnosis",
                        where,
                        fix="point the line at the diagnoses that justify it (1 to 4)",
                    )
                )
            continue
        for position, pointer in enumerate(item.pointers):
            if pointer not in sequences:
                found.append(
                    finding(
                        "DX-POINTER-INVALID",
                        f"item {item.sequence} points at diagnosis {pointer}, "
                        "which the claim does not have",
                        f"{where}[{position}]",
                        fix="point at an existing Claim.diagnosis.sequence",
                    )
                )
        if claim.professional and len(item.pointers) > MAX_POINTERS:
            found.append(
                finding(
                    "DX-POINTER-TOO-MANY",
                    f"item {item.sequence} points at {len(item.pointers)} diagnoses; "
                    f"a professional line takes at most {MAX_POINTERS}",
                    where,
                    fix="keep the four most relevant pointers",
                )
            )
    return found


def _sent(codings: tuple[Coding, ...]) -> str:
    """What the encounter sent, for a message: ``system|code`` of each coding."""
    return ", ".join(f"{c.system}|{c.code}" if c.system else c.code for c in codings)


def institutional_edits(coded: CodedEncounter) -> list[Issue]:
    """The UB-04 facts an inpatient claim states and this encounter does not say for certain.

    Each is left off the Claim rather than guessed (:mod:`fhir_coder.claim_parts`), so a
    biller must add it: the discharge status (FL 17, a warning: payers reject an inpatient
    claim without it, and the MS-DRG was grouped on an assumed one), the priority (type)
    of admission (FL 14) and point of origin (FL 15) (information), and the revenue code
    of each service line (FL 42, an error: no 837I line goes without one). Professional
    claims have none of these: no findings.
    """
    encounter = coded.encounter
    if not encounter.encounter_class.is_inpatient:
        return []
    where = encounter.reference
    found: list[Issue] = []
    if discharge_status_code(encounter) is None:
        sent = encounter.discharge_disposition
        grouped = f"{discharge_status(encounter)[0]:02d}"
        found.append(
            finding(
                "DISCHARGE-STATUS-UNKNOWN",
                f"{where}: the discharge disposition "
                + (f"'{sent}' names no single NUBC discharge status" if sent else "is not given")
                + f"; the Claim carries none and the MS-DRG was grouped as {grouped}",
                "Encounter.hospitalization.dischargeDisposition",
                fix="add the patient discharge status (UB-04 FL 17) and regroup the stay",
                source=where,
            )
        )
    for rule, unmapped, codings, what, element, form_locator in (
        (
            "ADMISSION-TYPE-UNMAPPED",
            admission_type(encounter) is None,
            encounter.priority,
            ("the priority", "names no NUBC admission type", "priority (type) of admission"),
            "Encounter.priority",
            "FL 14",
        ),
        (
            "ADMISSION-SOURCE-UNMAPPED",
            point_of_origin(encounter) is None,
            encounter.admit_source,
            ("the admit source", "names no single NUBC point of origin", "point of origin"),
            "Encounter.hospitalization.admitSource",
            "FL 15",
        ),
    ):
        if not unmapped:
            continue
        given = _sent(codings)
        subject, fails, element_name = what
        found.append(
            finding(
                rule,
                f"{where}: {subject} "
                + (f"{given} {fails}" if given else "is not given")
                + f"; the Claim carries no {element_name}",
                element,
                fix=f"add the {element_name} (UB-04 {form_locator})",
                source=where,
            )
        )
    return found
