"""The encounter as a coder sees it, and what coding makes of it.

These are plain frozen dataclasses, not FHIR models: the adapters read what servers send
leniently into them, the core codes and validates them, and only the written Claim is
checked against the R4 model (in tests and at the write boundary). They carry no names,
addresses or identifiers of the patient: what the coding rules need is sex and birth date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from fhir_coder.outcome import Issue
from fhir_coder.values import fast_init

__all__ = [
    "CodedEncounter",
    "CodedLine",
    "Coding",
    "CodingMethod",
    "CoverageRef",
    "Diagnosis",
    "DiagnosisRole",
    "Encounter",
    "EncounterClass",
    "EncounterLocation",
    "GuidelineChange",
    "Immunization",
    "MedicationAdministration",
    "Observation",
    "PatientFacts",
    "Procedure",
    "ProcedureDevice",
    "Provider",
    "SourceRef",
]


class EncounterClass(StrEnum):
    """``Encounter.class`` (v3 ActCode) as far as coding cares."""

    AMBULATORY = "AMB"
    EMERGENCY = "EMER"
    INPATIENT = "IMP"
    ACUTE = "ACUTE"
    NONACUTE = "NONAC"
    OBSERVATION = "OBSENC"
    SHORT_STAY = "SS"
    HOME = "HH"
    VIRTUAL = "VR"
    FIELD = "FLD"
    PRENATAL = "PRENC"
    OTHER = "OTHER"

    @cached_property  # asked several times an encounter: kept on the member once known
    def is_inpatient(self) -> bool:
        """Whether the stay is billed on an institutional inpatient claim (ICD-10-PCS, DRG)."""
        return self in _INPATIENT_CLASSES


_INPATIENT_CLASSES = frozenset(
    {EncounterClass.INPATIENT, EncounterClass.ACUTE, EncounterClass.NONACUTE}
)


@fast_init
@dataclass(frozen=True, slots=True)
class SourceRef:
    """The resource a fact came from: ``Condition/123`` and the version that was read."""

    reference: str
    version_id: str | None = None

    def __str__(self) -> str:
        return self.reference


@fast_init
@dataclass(frozen=True, slots=True)
class Coding:
    """One coding as the source sent it, with its system already made canonical."""

    system: str
    code: str
    display: str = ""
    user_selected: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class PatientFacts:
    """What the coding rules need to know about the patient: no name, no identifiers."""

    reference: str
    sex: str = "unknown"  # administrative gender: female | male | other | unknown
    birth_date: date | None = None

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day``, or None when the birth date is unknown."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@fast_init
@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A Condition as it bears on this encounter.

    ``use`` and ``rank`` come from ``Encounter.diagnosis`` when the encounter lists the
    condition there; ``category`` and ``verification`` from the Condition itself.
    """

    source: SourceRef
    codings: tuple[Coding, ...]
    text: str = ""
    category: tuple[str, ...] = ()
    verification: str = ""
    clinical_status: str = ""
    listed_on_encounter: bool = False
    use: str = ""
    rank: int | None = None
    # When the condition began and when it was recorded: the only honest ground for a
    # present-on-admission indicator (see fhir_coder.claim_parts.poa_indicator).
    onset: date | None = None
    recorded: date | None = None
    # ``Condition.bodySite`` (the side decides the lateral code: Guidelines I.B.13) and
    # ``abatement[x]`` (a condition resolved before the visit is history, not current).
    body_sites: tuple[Coding, ...] = ()
    abatement: date | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ProcedureDevice:
    """A device or graft a Procedure names: ``focalDevice`` or ``usedCode``.

    ``codings`` and ``text`` are the device's kind as the record states it: a contained
    ``Device``'s ``type`` (SNOMED CT, or the GMDN term a UDI scan brings from the FDA's
    GUDID) or its ``deviceName``, the reference's ``display``, or a ``usedCode``.
    ``focal`` is True for a ``focalDevice`` entry, one entry a device (so they can be
    counted); ``removed`` when its ``action`` says it was taken out (ICD-10-PCS codes a
    device only when it remains after the procedure, Official Guidelines B6.1a).
    """

    codings: tuple[Coding, ...] = ()
    text: str = ""
    focal: bool = False
    removed: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class Procedure:
    """A Procedure performed during the encounter."""

    source: SourceRef
    codings: tuple[Coding, ...]
    text: str = ""
    status: str = ""
    performed: date | None = None
    body_sites: tuple[Coding, ...] = ()  # for laterality modifiers (LT, RT, 50)
    # Why it was done: ``reasonReference`` as Condition keys (``Condition/123``, the form
    # Diagnosis.source takes) and ``reasonCode`` (ICD-10-CM codes, or concepts such as
    # SNOMED CT that a Condition of the encounter carries). They choose the claim line's
    # diagnosis pointers (fhir_coder.claim.diagnosis_pointers).
    reason_references: tuple[str, ...] = ()
    reason_codes: tuple[Coding, ...] = ()
    # What an ICD-10-PCS code is built from when the concept leaves axes open
    # (fhir_coder.coding.pcs_build): the devices and grafts (``focalDevice``, ``usedCode``)
    # and the method (the ``procedure-method`` extension: the approach, when it says so).
    devices: tuple[ProcedureDevice, ...] = ()
    methods: tuple[Coding, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class EncounterLocation:
    """Where the patient stayed (``Encounter.location``): the unit or bed, and when.

    A stay's room and board is billed by the accommodation the patient occupied each
    night (:mod:`fhir_coder.facility`); ``reference`` and ``display`` name the Location
    the organisation's chargemaster rates, ``start``/``end`` the part of the stay spent there.
    """

    reference: str = ""
    display: str = ""
    start: datetime | date | None = None
    end: datetime | date | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Observation:
    """A measurement taken during the encounter that coding reads (BMI and its percentile).

    ``value`` is ``valueQuantity.value`` and ``unit`` its code or unit; only observations
    a coding rule asks for are gathered.
    """

    source: SourceRef
    codings: tuple[Coding, ...]
    value: float | None = None
    unit: str = ""
    effective: date | None = None
    status: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class Immunization:
    """A vaccine given during the encounter: billed as the product and its administration.

    ``vaccine`` is ``Immunization.vaccineCode`` (CVX, or NDC); ``route`` the v3
    RouteOfAdministration code as sent (``IM``, ``SC``, ``NASINHL``, ``PO``...): oral and
    intranasal vaccines have their own administration codes.
    """

    source: SourceRef
    vaccine: tuple[Coding, ...]
    status: str = ""
    occurred: date | None = None
    route: str = ""
    text: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class MedicationAdministration:
    """A drug given during the encounter: billed as a HCPCS drug line by its NDC.

    ``dose`` and ``dose_unit`` are ``dosage.dose`` as sent: HCPCS units are the dose
    divided by the code's dosage descriptor, which a coder confirms.
    """

    source: SourceRef
    medication: tuple[Coding, ...]
    status: str = ""
    occurred: date | None = None
    dose: float | None = None
    dose_unit: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class CoverageRef:
    """A Coverage that may pay for the encounter, and its payer."""

    reference: str
    status: str = ""
    payer_reference: str = ""
    payer_display: str = ""
    order: int | None = None
    # Coverage.type (a Source of Payment Typology code says Medicare, Medicaid...) and the
    # payer's identifier values (``payor.identifier``, or a conditional reference's).
    types: tuple[Coding, ...] = ()
    payer_identifiers: tuple[str, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Provider:
    """A practitioner or organisation with a part in the encounter."""

    reference: str
    role: str  # attender | performer | service-provider | ...
    display: str = ""
    npi: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class Encounter:
    """One encounter with everything coding needs, gathered from the source server."""

    id: str
    reference: str
    status: str
    encounter_class: EncounterClass
    patient: PatientFacts
    # Which EHR the encounter belongs to: its base URL unless configured (a stable name
    # such as "epic-prod" survives a change of host or port). Claim ids derive from it.
    source_id: str = ""
    version_id: str | None = None
    types: tuple[Coding, ...] = ()
    period_start: datetime | date | None = None
    period_end: datetime | date | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    # Vaccines given during the encounter (Immunization.encounter, or on its dates):
    # each is billed as the vaccine product and its administration.
    immunizations: tuple[Immunization, ...] = ()
    # Drugs given during the encounter (MedicationAdministration.context): HCPCS drug
    # lines by NDC where the organisation's NDC-HCPCS crosswalk is configured.
    medications: tuple[MedicationAdministration, ...] = ()
    coverages: tuple[CoverageRef, ...] = ()
    providers: tuple[Provider, ...] = ()
    read_issues: tuple[Issue, ...] = ()  # what the adapter could not read, per resource
    # ``hospitalization.dischargeDisposition`` as sent (discharged home, transferred...):
    # the MS-DRG grouper needs the discharge status it maps to.
    discharge_disposition: str = ""
    # The system of that disposition code: an EHR that sends NUBC's own discharge status
    # (https://www.nubc.org/CodeSystem/PatDischargeStatus) has it written as sent.
    discharge_disposition_system: str = ""
    # UB-04 admission facts, as sent (systems canonical): ``hospitalization.admitSource``
    # for the point of origin (FL 15), ``Encounter.priority`` for the priority (type) of
    # admission (FL 14). fhir_coder.claim_parts maps them to NUBC codes where certain.
    admit_source: tuple[Coding, ...] = ()
    priority: tuple[Coding, ...] = ()
    # Observations of the encounter a coding rule reads (BMI, LOINC 39156-5): see
    # fhir_coder.coding.guidelines.
    observations: tuple[Observation, ...] = ()
    # ``Encounter.location`` (planned ones left out): the accommodation of each night of
    # an inpatient stay (room and board lines, fhir_coder.facility).
    locations: tuple[EncounterLocation, ...] = ()
    # Why the patient came (``Encounter.reasonCode``, systems canonical) and the Conditions
    # ``Encounter.reasonReference`` names (``Condition/123`` keys, as Diagnosis.source).
    # For an inpatient stay the reason for admission (UB-04 FL 69, admitting diagnosis);
    # elsewhere evidence for a coder, never a diagnosis (fhir_coder.coding.admission).
    reason_codes: tuple[Coding, ...] = ()
    reason_references: tuple[str, ...] = ()

    @property
    def date_of_service(self) -> date | None:
        """The date code sets are checked against.

        Inpatient stays are coded for the discharge date (the end of the period), every
        other encounter for the date it started, as CMS and the code editors do.
        """
        moment = self.period_end if self.encounter_class.is_inpatient else self.period_start
        moment = moment or self.period_start or self.period_end
        if moment is None:
            return None
        return moment.date() if isinstance(moment, datetime) else moment


class CodingMethod(StrEnum):
    """How a coded line was reached, from most to least certain."""

    AS_CODED = "as-coded"  # the source carried the code; we normalised and checked it
    CROSSWALK = "crosswalk"  # a crosswalk entry turned another system's code into it
    TABLE = "table"  # a configured table chose it (the visit's E/M code, a chargemaster row)
    BUILT = "built"  # ICD-10-PCS built axis by axis from what the Procedure states
    EXACT_TERM = "exact-term"  # the concept's term is a code's own description, word for word
    TEXT_MATCH = "text-match"  # a search over descriptions suggested it


@fast_init
@dataclass(frozen=True, slots=True)
class GuidelineChange:
    """One encounter-level rule that made a line what it is: for coders and auditors.

    ``rule`` is the rule's id in the shipped rule tables, ``citation`` the section of the
    ICD-10-CM Official Guidelines (and the Index or Tabular fact) it rests on, and
    ``replaced`` the lines it took the place of (``E11.9 from Condition/1``).
    """

    rule: str
    citation: str
    replaced: tuple[str, ...] = ()
    note: str = ""
    # The same replaced lines for machines: their sources (``Condition/1``) and codes
    # (dotless), so a procedure done for a condition folded into this line points at it.
    sources: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    def __str__(self) -> str:
        came = f" (replaced {', '.join(self.replaced)})" if self.replaced else ""
        note = f": {self.note}" if self.note else ""
        return f"{self.rule} [{self.citation}]{came}{note}"


class DiagnosisRole(StrEnum):
    """``Claim.diagnosis.type`` (ex-diagnosistype)."""

    PRINCIPAL = "principal"
    ADMITTING = "admitting"
    SECONDARY = "secondary"


@fast_init
@dataclass(frozen=True, slots=True)
class CodedLine:
    """One billing code with its provenance: where it came from, how, and how sure we are."""

    system: str
    code: str  # normalised (dotless for ICD-10-CM)
    display: str
    source: SourceRef
    source_coding: Coding | None
    method: CodingMethod
    confidence: float
    release: str  # the code-set release the code was checked against
    role: DiagnosisRole | None = None
    performed: date | None = None
    rule: str = ""  # the crosswalk entry, table row or match that chose the code
    needs_review: bool = False  # a person must confirm it before the claim is submitted
    modifiers: tuple[str, ...] = ()
    units: int = 1
    # A procedure line's reasons, carried from its Procedure: the Conditions it treats
    # (``Condition/123``: referenced, or carrying a concept its reasonCode names) and the
    # ICD-10-CM codes it names, dotless. Diagnosis lines have none.
    reason_references: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    # The encounter-level rules (ICD-10-CM Official Guidelines) that produced or changed
    # this line, in the order they acted; empty for a line coded as it came.
    changes: tuple[GuidelineChange, ...] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class CodedEncounter:
    """An encounter after coding: diagnoses in claim order, procedure lines and findings."""

    encounter: Encounter
    diagnoses: tuple[CodedLine, ...] = ()
    procedures: tuple[CodedLine, ...] = ()
    issues: tuple[Issue, ...] = field(default=())
    # An inpatient stay's services the ICD-10-PCS reporting policy leaves off the claim's
    # procedures (not UHDDS significant: imaging, ECGs, therapies) but the facility charges
    # on its revenue lines: the ICD-10-PCS code when one was determinable, else the EHR's
    # own concept (system and code as sent), for the chargemaster to rate. Never billed codes.
    charges: tuple[CodedLine, ...] = ()

    @property
    def lines(self) -> tuple[CodedLine, ...]:
        """Every coded line, diagnoses first."""
        return self.diagnoses + self.procedures
