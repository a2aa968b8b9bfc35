"""Building the FHIR R4 Claim for a coded encounter, as plain JSON.

The Claim is built as a dict (building ``fhir.resources`` models costs ~1 ms per claim,
so they stay in tests and at the write boundary). Its id is derived from the source
server and the encounter, so writing it again with PUT updates the same Claim instead
of creating a second one; a replacement (after the first was submitted) carries a
revision suffix and points at the claim it replaces. What coding does not decide (POA,
place of service, revenue codes, prices, the DRG) comes from :mod:`fhir_coder.claim_parts`
and the ports in :class:`ClaimOptions`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fhir_coder import __version__
from fhir_coder.claim_parts import (
    ADMISSION_TYPE_SYSTEM,
    DATA_ABSENT_REASON,
    DISCHARGE_STATUS_SYSTEM,
    DRG_SYSTEM,
    NPI_SYSTEM,
    POA_SYSTEM,
    POS_SYSTEM,
    REVENUE_SYSTEM,
    SUPPORTING_INFO_TYPE,
    FeeSchedule,
    admission_type,
    discharge_status,
    discharge_status_code,
    place_of_service,
    poa_indicator,
    point_of_origin,
)
from fhir_coder.errors import CodeSetError
from fhir_coder.facility import FacilityLine, facility_charges, line_revenue
from fhir_coder.model import (
    CodedEncounter,
    CodedLine,
    CoverageRef,
    DiagnosisRole,
    Encounter,
    Provider,
)
from fhir_coder.outcome import Issue, has_errors, operation_outcome
from fhir_coder.ports import DrgAssignment, DrgGrouperPort, MceClaim
from fhir_coder.systems import CPT, FHIR_CODER_NS, HCPCS, ICD10CM, ICD10PCS, display_icd10cm
from fhir_coder.values import fast_init

__all__ = [
    "CLAIM_IDENTIFIER_SYSTEM",
    "FINDINGS_EXTENSION",
    "GUIDELINE_EXTENSION",
    "ClaimOptions",
    "as_replacement",
    "build_claim",
    "claim_id_for",
    "claim_id_of",
    "diagnosis_codes",
    "group_drg",
]

CLAIM_IDENTIFIER_SYSTEM = f"{FHIR_CODER_NS}:claim"
"""Identifier system of the key that ties a Claim to its source encounter."""

FINDINGS_EXTENSION = f"{FHIR_CODER_NS}:findings"
GUIDELINE_EXTENSION = f"{FHIR_CODER_NS}:guideline"
"""Extension on a ``Claim.diagnosis`` an encounter-level rule produced or changed: the rule,
its Official Guidelines section and the lines it replaced, one extension per rule."""
"""Extension on a draft Claim pointing at the contained OperationOutcome of its findings."""

_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
_DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
_CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
_PROCEDURE_TYPE = "http://terminology.hl7.org/CodeSystem/ex-procedure-type"
_RELATED = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
_MAX_POINTERS = 4  # an 837P line points at no more than four diagnoses


@dataclass(frozen=True, slots=True)
class ClaimOptions:
    """What an organisation configures about its Claims.

    ``fee_schedule`` prices the lines (none: no ``unitPrice``/``net``/``total``); ``drg``
    groups inpatient stays (none: no ``packageCode``).
    """

    fee_schedule: FeeSchedule | None = None
    drg: DrgGrouperPort | None = None


_NO_OPTIONS = ClaimOptions()


def claim_id_for(encounter: Encounter, revision: int = 0) -> str:
    """The Claim id for ``encounter``: stable across runs, unique per source server.

    A hash keeps it within FHIR's 64-character id limit whatever the source id looks
    like (Epic's ids alone exceed 64 characters) and says nothing about the patient.
    A replacement claim (``revision`` 1, 2...) adds ``-r<revision>``.
    """
    return claim_id_of(encounter.source_id, encounter.reference, revision)


def claim_id_of(source_id: str, encounter_reference: str, revision: int = 0) -> str:
    """:func:`claim_id_for` from the source's name and ``Encounter/{id}`` alone.

    Known before the encounter is read, so the write-back can ask for the Claim in the
    same round trip as the encounter.
    """
    key = f"{source_id.rstrip('/')}|{encounter_reference}"
    base = "fc-" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{base}-r{revision}" if revision else base


def _when(moment: datetime | date | None) -> str | None:
    """A FHIR date or dateTime; a time without a zone is cut to its date, which FHIR allows."""
    if moment is None:
        return None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.isoformat()


@lru_cache(maxsize=16)
def _instant(created: datetime) -> str:
    """``Claim.created`` to the second; a run stamps many claims with the same moment."""
    return created.isoformat(timespec="seconds")


def _reference(ref: str, display: str = "") -> dict[str, str]:
    out = {"reference": ref}
    if display:
        out["display"] = display
    return out


def _party(provider: Provider) -> dict[str, Any]:
    """A reference to a provider, with its NPI as the logical identifier when known."""
    out: dict[str, Any] = _reference(provider.reference, provider.display)
    if provider.npi:
        out["identifier"] = {"system": NPI_SYSTEM, "value": provider.npi}
    return out


def _money(value: Decimal, currency: str) -> dict[str, Any]:
    return {"value": float(value), "currency": currency}


ROLE_CODES: dict[DiagnosisRole | None, str] = {
    **{role: role.value for role in DiagnosisRole},
    None: DiagnosisRole.SECONDARY.value,
}
"""``Claim.diagnosis.type`` code of a line's role (none: secondary), without an enum's
``.value`` descriptor per diagnosis; the scrubber's form reads the same table."""


def _diagnosis_entry(
    sequence: int,
    line: CodedLine,
    encounter: Encounter,
    drg: DrgAssignment | None,
    *,
    inpatient: bool,
) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": line.system, "code": display_icd10cm(line.code)}
    if line.display:
        coding["display"] = line.display
    entry: dict[str, Any] = {"sequence": sequence}
    if line.changes:
        entry["extension"] = [
            {"url": GUIDELINE_EXTENSION, "valueString": str(change)} for change in line.changes
        ]
    entry["diagnosisCodeableConcept"] = {"coding": [coding]}
    entry["type"] = [{"coding": [{"system": _DIAGNOSIS_TYPE, "code": ROLE_CODES[line.role]}]}]
    if inpatient:
        poa = poa_indicator(line, encounter)
        entry["onAdmission"] = {"coding": [{"system": POA_SYSTEM, "code": poa}]}
        if drg is not None and sequence == 1:
            entry["packageCode"] = {
                "coding": [{"system": DRG_SYSTEM, "code": drg.drg, "display": drg.description}],
                "text": drg.version,
            }
    return entry


# supportingInfo categories (C4BBSupportingInfoType code, display), one per UB-04 fact.
_ADMISSION_TYPE_CATEGORY = ("admtype", "Admission Type")
_POINT_OF_ORIGIN_CATEGORY = ("pointoforigin", "Point Of Origin")
_DISCHARGE_STATUS_CATEGORY = ("discharge-status", "Discharge Status")


def _supporting_info(encounter: Encounter) -> list[dict[str, Any]]:
    """The UB-04 facts of an inpatient stay the encounter states, in form-locator order.

    Priority (type) of admission (FL 14), point of origin (FL 15) and patient discharge
    status (FL 17), each a ``supportingInfo`` with CARIN BB's category and the NUBC code,
    as CARIN BB and BFD write them. A fact the encounter does not state for certain is
    left out (``fhir_coder.validation.structure.institutional_edits`` says so).
    """
    facts: list[tuple[tuple[str, str], str, str]] = []
    priority = admission_type(encounter)
    if priority is not None:
        facts.append((_ADMISSION_TYPE_CATEGORY, ADMISSION_TYPE_SYSTEM, priority))
    origin = point_of_origin(encounter)
    if origin is not None:
        facts.append((_POINT_OF_ORIGIN_CATEGORY, *origin))
    status = discharge_status_code(encounter)
    if status is not None:
        facts.append((_DISCHARGE_STATUS_CATEGORY, DISCHARGE_STATUS_SYSTEM, status))
    return [
        {
            "sequence": sequence,
            "category": {
                "coding": [{"system": SUPPORTING_INFO_TYPE, "code": kind, "display": display}]
            },
            "code": {"coding": [{"system": system, "code": code}]},
        }
        for sequence, ((kind, display), system, code) in enumerate(facts, start=1)
    ]


@fast_init
@dataclass(frozen=True, slots=True)
class _ItemContext:
    """What every service line of one claim shares, worked out once per claim."""

    encounter: Encounter
    inpatient: bool
    care_team: bool  # the claim has a care team: each line names its first member
    place: str | None  # place of service of the encounter's class
    options: ClaimOptions


def _item_entry(
    sequence: int, line: CodedLine, pointers: list[int], shared: _ItemContext
) -> dict[str, Any]:
    encounter, options = shared.encounter, shared.options
    coding: dict[str, Any] = {"system": line.system, "code": line.code}
    if line.display:
        coding["display"] = line.display
    item: dict[str, Any] = {"sequence": sequence}
    if shared.care_team:
        item["careTeamSequence"] = [1]
    if pointers:
        item["diagnosisSequence"] = pointers
    schedule = options.fee_schedule
    if shared.inpatient and (revenue := line_revenue(line, schedule)):
        item["revenue"] = {"coding": [{"system": REVENUE_SYSTEM, "code": revenue}]}
    item["productOrService"] = {"coding": [coding]}
    if line.modifiers:
        item["modifier"] = [{"coding": [_modifier(m)]} for m in line.modifiers]
    serviced = serviced_on(line, encounter)
    if serviced is not None:
        item["servicedDate"] = serviced.isoformat()
    if shared.place:
        item["locationCodeableConcept"] = {"coding": [{"system": POS_SYSTEM, "code": shared.place}]}
    item["quantity"] = {"value": line.units}
    price = line_price(line, options)
    if price is not None and options.fee_schedule is not None:
        currency = options.fee_schedule.currency
        item["unitPrice"] = _money(price, currency)
        item["net"] = _money(price * line.units, currency)
    item["encounter"] = [{"reference": encounter.reference}]
    return item


def _facility_item(
    sequence: int, line: FacilityLine, pointers: list[int], shared: _ItemContext
) -> dict[str, Any]:
    """A revenue-only line of a stay: room and board (units the days) or an ancillary.

    It has no CPT/HCPCS code, so ``productOrService`` says not-applicable (CARIN BB's
    way); an ancillary line names the ``Claim.procedure`` it bills.
    """
    item: dict[str, Any] = {"sequence": sequence}
    if shared.care_team:
        item["careTeamSequence"] = [1]
    if pointers:
        item["diagnosisSequence"] = pointers
    if line.procedure is not None:
        item["procedureSequence"] = [line.procedure]
    item["revenue"] = {"coding": [{"system": REVENUE_SYSTEM, "code": line.revenue}]}
    item["productOrService"] = {
        "coding": [{"system": DATA_ABSENT_REASON, "code": "not-applicable"}]
    }
    if line.first == line.last:
        item["servicedDate"] = line.first.isoformat()
    else:
        item["servicedPeriod"] = {"start": line.first.isoformat(), "end": line.last.isoformat()}
    if shared.place:
        item["locationCodeableConcept"] = {"coding": [{"system": POS_SYSTEM, "code": shared.place}]}
    item["quantity"] = {"value": line.units}
    currency = shared.options.fee_schedule.currency if shared.options.fee_schedule else "USD"
    item["unitPrice"] = _money(line.unit_price, currency)
    item["net"] = _money(line.net, currency)
    item["encounter"] = [{"reference": shared.encounter.reference}]
    return item


def billed_diagnoses(coded: CodedEncounter) -> int:
    """How many diagnoses lines may point at: all but the admitting one (placed last)."""
    return sum(1 for line in coded.diagnoses if line.role is not DiagnosisRole.ADMITTING)


def institutional_pointers(count: int) -> list[int]:
    """An institutional line's ``diagnosisSequence``: the stay's first four diagnoses."""
    return _FIRST_POINTERS[:count]


def day_of(moment: datetime | date | None) -> date | None:
    """The calendar day of a FHIR date or dateTime (in the offset it was written with)."""
    if moment is None:
        return None
    return moment.date() if isinstance(moment, datetime) else moment


def serviced_on(line: CodedLine, encounter: Encounter) -> date | None:
    """A service line's ``servicedDate``: when it was performed, else the encounter's start."""
    return line.performed or day_of(encounter.period_start)


def line_price(line: CodedLine, options: ClaimOptions) -> Decimal | None:
    """The unit charge of a line under the configured fee schedule, if any."""
    return options.fee_schedule.price(line) if options.fee_schedule else None


# The layout decisions below are shared by the Claim JSON and its scrubber form
# (fhir_coder.claim_form), so that the two always describe the same claim.


def billing_and_team(encounter: Encounter) -> tuple[Provider, list[Provider]]:
    """The billing provider (the organisation, else the first practitioner) and the care team."""
    organisations = [p for p in encounter.providers if p.role == "service-provider"]
    practitioners = [p for p in encounter.providers if p.role != "service-provider"]
    return (organisations or practitioners)[0], practitioners


def ordered_coverages(encounter: Encounter) -> list[CoverageRef]:
    """The encounter's coverages in ``Claim.insurance`` order (by ``Coverage.order``)."""
    coverages = encounter.coverages
    if len(coverages) < 2:  # nothing to order
        return list(coverages)
    return sorted(coverages, key=lambda c: (c.order is None, c.order or 0, c.reference))


def insurer_of(coverages: list[CoverageRef]) -> CoverageRef | None:
    """The coverage whose payer is the Claim's insurer: the first that names one."""
    for coverage in coverages:  # a loop, not next() over a generator: twice per claim
        if coverage.payer_reference:
            return coverage
    return None


def diagnosis_pointers(
    line: CodedLine, diagnoses: tuple[CodedLine, ...], *, institutional: bool
) -> list[int]:
    """A service line's ``diagnosisSequence``: the diagnoses that justify it, at most four.

    Payers' medical-necessity edits (NCD/LCD) read only the diagnoses a line points at, so
    a professional line points at the claim diagnoses its procedure names as reasons: the
    Condition coded into one is among its ``reasonReference`` (or carries a SNOMED CT
    concept its ``reasonCode`` names), or its code is among its ICD-10-CM ``reasonCode``.
    They keep claim order (principal first) and 837P's limit of four. A line naming no
    reason that matches (the E/M visit line names none) points at the first four
    diagnoses, as does every institutional line: an 837I/UB-04 line has no diagnosis
    pointer, its diagnoses belong to the whole stay.
    """
    if not institutional and (line.reason_references or line.reason_codes):
        references, codes = line.reason_references, line.reason_codes
        matched = [
            sequence
            for sequence, diagnosis in enumerate(diagnoses, start=1)
            if diagnosis.source.reference in references
            or diagnosis.code in codes
            or (diagnosis.changes and _folded_into(diagnosis, references, codes))
        ]
        if matched:
            return matched[:_MAX_POINTERS]
    # a fresh list: the Claim owns it; the admitting diagnosis (last, if any) is not pointed at
    count = len(diagnoses)
    for diagnosis in diagnoses:  # a loop, not a generator: asked for every service line
        if diagnosis.role is DiagnosisRole.ADMITTING:
            count -= 1
    return _FIRST_POINTERS[:count]


def _folded_into(diagnosis: CodedLine, references: tuple[str, ...], codes: tuple[str, ...]) -> bool:
    """Whether a reason was folded into ``diagnosis`` by an Official Guidelines rule.

    A procedure done for a symptom the Guidelines leave off (a chest X-ray for the cough
    of a pneumonia) points at the diagnosis that took the symptom's place.
    """
    return any(
        source in references or code in codes
        for change in diagnosis.changes
        for source, code in zip(change.sources, change.codes, strict=True)
    )


_FIRST_POINTERS = list(range(1, _MAX_POINTERS + 1))
"""Pointers at the first four diagnoses, cut to a claim's count (a slice, not a range)."""


def split_procedures(coded: CodedEncounter) -> tuple[list[CodedLine], list[CodedLine]]:
    """ICD-10-PCS codes (the institutional claim's procedures) and CPT/HCPCS service lines."""
    icd = [line for line in coded.procedures if line.system == ICD10PCS]
    return icd, [line for line in coded.procedures if line.system != ICD10PCS]


def claim_total(nets: list[float | None]) -> Decimal | None:
    """The sum of the line nets as written, only when every line is priced.

    A total of some lines would understate the claim.
    """
    if not nets or any(net is None for net in nets):
        return None
    return sum((Decimal(str(net)) for net in nets if net is not None), Decimal(0))


def group_drg(coded: CodedEncounter, grouper: DrgGrouperPort) -> DrgAssignment | None:
    """The MS-DRG of an inpatient stay, or None when the stay cannot be grouped.

    Grouping needs a discharge date, the patient's age and a principal diagnosis; the
    POA indicators are the ones the Claim carries (:func:`poa_indicator`).
    """
    encounter = coded.encounter
    discharge = encounter.date_of_service
    if not encounter.encounter_class.is_inpatient or discharge is None or not coded.diagnoses:
        return None
    age = encounter.patient.age_on(discharge)
    if age is None:
        return None
    # the admitting diagnosis (FL 69) is neither principal nor secondary: not grouped
    principal, *others = (d for d in coded.diagnoses if d.role is not DiagnosisRole.ADMITTING)
    status, _ = discharge_status(encounter)
    mce = MceClaim(
        discharge=discharge,
        age=age,
        sex=encounter.patient.sex,
        principal=principal.code,
        principal_poa=poa_indicator(principal, encounter),
        secondary=tuple((line.code, poa_indicator(line, encounter)) for line in others),
        procedures=tuple(line.code for line in coded.procedures if line.system == ICD10PCS),
        discharge_status=status,
    )
    try:
        return grouper.group(mce)
    except CodeSetError:
        # no MS-DRG release covers the discharge: the Claim goes without one, and the
        # scrubber's MCE, which runs on the same releases, says so (CODE-DATE-NOT-COVERED)
        return None


def _modifier(code: str) -> dict[str, str]:
    """A modifier coding: two digits are CPT modifiers (50, 59), letters HCPCS (LT, RT, XS)."""
    return {"system": CPT if code.isdigit() else HCPCS, "code": code}


def build_claim(
    coded: CodedEncounter,
    issues: tuple[Issue, ...],
    *,
    created: datetime,
    options: ClaimOptions | None = None,
) -> dict[str, Any]:
    """The R4 Claim for ``coded``: ``draft`` while ``issues`` hold an error, else ``active``.

    The caller must have checked :func:`fhir_coder.validation.claim_can_be_built`: this
    function assumes a patient, at least one provider and at least one coverage.
    """
    options = options or _NO_OPTIONS
    encounter = coded.encounter
    inpatient = encounter.encounter_class.is_inpatient
    claim_id = claim_id_for(encounter)
    drg = group_drg(coded, options.drg) if options.drg is not None and inpatient else None
    billing, practitioners = billing_and_team(encounter)
    coverages = ordered_coverages(encounter)
    diagnoses = [
        _diagnosis_entry(i, line, encounter, drg, inpatient=inpatient)
        for i, line in enumerate(coded.diagnoses, start=1)
    ]
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": claim_id,
        "meta": {"tag": [{"system": f"{FHIR_CODER_NS}:generator", "code": __version__}]},
        "identifier": [{"system": CLAIM_IDENTIFIER_SYSTEM, "value": claim_id}],
        "status": "draft" if has_errors(issues) else "active",
        "type": {
            "coding": [
                {"system": _CLAIM_TYPE, "code": "institutional" if inpatient else "professional"}
            ]
        },
        "use": "claim",
        "patient": _reference(encounter.patient.reference),
        "billablePeriod": {
            k: v
            for k, v in (
                ("start", _when(encounter.period_start)),
                ("end", _when(encounter.period_end)),
            )
            if v
        },
        "created": _instant(created),
        "provider": _party(billing),
        "priority": {"coding": [{"system": _PRIORITY, "code": "normal"}]},
        "insurance": [
            {"sequence": i, "focal": i == 1, "coverage": _reference(c.reference)}
            for i, c in enumerate(coverages, start=1)
        ],
        "diagnosis": diagnoses,
    }
    insurer = insurer_of(coverages)
    if insurer is not None:
        claim["insurer"] = _reference(insurer.payer_reference, insurer.payer_display)
    if practitioners:
        claim["careTeam"] = [
            {
                "sequence": i,
                "provider": _party(p),
                "role": {
                    "coding": [
                        {"system": _CARE_TEAM_ROLE, "code": "primary" if i == 1 else "other"}
                    ]
                },
            }
            for i, p in enumerate(practitioners, start=1)
        ]
    if inpatient and (supporting := _supporting_info(encounter)):
        claim["supportingInfo"] = supporting
    # ICD-10-PCS codes are the institutional claim's procedures; CPT/HCPCS are its lines.
    icd_procedures, service_lines = split_procedures(coded)
    if icd_procedures:
        claim["procedure"] = [
            {
                "sequence": i,
                "type": [
                    {
                        "coding": [
                            {
                                "system": _PROCEDURE_TYPE,
                                "code": "primary" if i == 1 else "secondary",
                            }
                        ]
                    }
                ],
                "procedureCodeableConcept": {
                    "coding": [{"system": line.system, "code": line.code}]
                },
            }
            | ({"date": line.performed.isoformat()} if line.performed else {})
            for i, line in enumerate(icd_procedures, start=1)
        ]
    # Without a chargemaster a stay has no facility lines (only a finding, made elsewhere).
    schedule = options.fee_schedule
    facility = facility_charges(coded, schedule).lines if inpatient and schedule is not None else ()
    if service_lines or facility:
        shared = _ItemContext(
            encounter,
            inpatient=inpatient,
            care_team=bool(practitioners),
            place=place_of_service(encounter),
            options=options,
        )
        # the stay's room and board and ancillaries first (revenue-only lines), then the
        # lines with a CPT/HCPCS code
        pointers = institutional_pointers(billed_diagnoses(coded)) if facility else []
        claim["item"] = [
            _facility_item(i, line, pointers[:], shared) for i, line in enumerate(facility, start=1)
        ] + [
            _item_entry(
                i,
                line,
                diagnosis_pointers(line, coded.diagnoses, institutional=inpatient),
                shared,
            )
            for i, line in enumerate(service_lines, start=len(facility) + 1)
        ]
        if options.fee_schedule is not None:
            nets = [item["net"]["value"] if "net" in item else None for item in claim["item"]]
            total = claim_total(nets)
            if total is not None:
                claim["total"] = _money(total, options.fee_schedule.currency)
    if claim["status"] == "draft":
        _attach_findings(claim, issues)
    return claim


def _attach_findings(claim: dict[str, Any], issues: tuple[Issue, ...]) -> None:
    """Carry a draft's blocking findings on the Claim itself, as a contained OperationOutcome.

    Whoever opens the draft on the EHR sees why it is one without finding the Task; the
    extension is the reference R4 requires of a contained resource. A clean rebuild drops both.
    """
    blocking = [issue for issue in issues if issue.severity.blocks]
    claim["contained"] = [operation_outcome(*blocking, outcome_id="findings")]
    claim["extension"] = [{"url": FINDINGS_EXTENSION, "valueReference": {"reference": "#findings"}}]


def diagnosis_codes(claim: dict[str, Any]) -> list[str]:
    """The ICD-10-CM codes on ``claim`` in sequence order (for summaries and tests)."""
    return [
        coding["code"]
        for entry in sorted(claim.get("diagnosis", []), key=lambda d: d.get("sequence", 0))
        for coding in entry.get("diagnosisCodeableConcept", {}).get("coding", [])
        if coding.get("system") == ICD10CM
    ]


def as_replacement(claim: dict[str, Any], revision: int, prior_id: str) -> dict[str, Any]:
    """``claim`` as the replacement of an already submitted claim ``prior_id``.

    A submitted claim is never changed in place: the replacement has an id and an
    identifier of its own (``-r<revision>``) and ``related`` points at the prior claim,
    as payers expect of a corrected claim.
    """
    base = str(claim["id"]).split("-r", 1)[0]
    new_id = f"{base}-r{revision}"
    return claim | {
        "id": new_id,
        "identifier": [{"system": CLAIM_IDENTIFIER_SYSTEM, "value": new_id}],
        "related": [
            {
                "claim": {"reference": f"Claim/{prior_id}"},
                "relationship": {"coding": [{"system": _RELATED, "code": "prior"}]},
            }
        ],
    }
