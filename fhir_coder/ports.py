"""The ports through which the core asks for reference data; ``codesets`` implements them.

The core never loads a code set, a crosswalk or an edit table itself: it is handed
objects that satisfy these protocols, so tests can pass small tables and production the
compiled indexes and the files an organisation configures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from fhir_coder.values import fast_init

__all__ = [
    "CodeInfo",
    "CodeNote",
    "CodeNotesPort",
    "CodeSetPort",
    "CrosswalkPort",
    "DrgAssignment",
    "DrgGrouperPort",
    "MceClaim",
    "MceFinding",
    "MedicareCodeEditorPort",
    "MueLimit",
    "NoTarget",
    "NoteKind",
    "ProcedureEditPort",
    "PtpEdit",
    "ServiceCodesPort",
    "Setting",
    "Suggestion",
    "TextSearchPort",
    "Translation",
]


@fast_init
@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a code set says about one code on one date.

    ``valid`` is whether the code exists in the release in force on that date (headers
    such as ``E11`` are valid but not ``billable``). ``billable_children`` lists, for a
    header, the billable codes below it, for suggested fixes. ``release`` names the
    release consulted (``ICD-10-CM FY2026``), so each coded line can record it.
    """

    system: str
    code: str
    valid: bool
    billable: bool
    description: str
    release: str
    billable_children: tuple[str, ...] = ()
    needs_seventh_character: bool = False


NoteKind = Literal[
    "excludes1", "excludes2", "code_first", "use_additional", "code_also", "includes", "inclusion"
]


@dataclass(frozen=True, slots=True)
class CodeNote:
    """An instructional note of the tabular that applies to a code.

    ``codes`` are the codes or ranges the note names, dotless (``E1010``, ``E08-E13``),
    as far as they can be read from its text; ``written_at`` is the code, section or
    chapter where the note stands (notes are inherited down the hierarchy).
    """

    kind: NoteKind
    text: str
    codes: tuple[str, ...]
    written_at: str


class CodeNotesPort(Protocol):
    """The tabular's instructional notes for a code, its own and those it inherits."""

    def notes(self, system: str, code: str) -> tuple[CodeNote, ...]:
        """Notes that apply to ``code`` (empty for an unknown code)."""
        ...


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A code a text search offers for words a clinician wrote; never accepted blindly.

    ``score`` runs from 0 to 1; ``matched`` is the description or inclusion term that
    matched, so a person can see why it was offered.
    """

    system: str
    code: str
    description: str
    score: float
    matched: str


class TextSearchPort(Protocol):
    """Ranked codes for words, from descriptions and inclusion terms."""

    def suggest(
        self,
        text: str,
        *,
        on: date,
        limit: int = 5,
        age: int | None = None,
        sex: str | None = None,
    ) -> tuple[Suggestion, ...]:
        """Up to ``limit`` billable codes valid on ``on`` for ``text``, best first.

        ``age`` (whole years) and ``sex`` leave out codes they rule out (newborn codes for
        an adult, obstetric codes for a man); unknown, they filter nothing.
        """
        ...

    def exact(self, text: str, *, on: date) -> Suggestion | None:
        """The one billable code whose description or inclusion term is ``text`` exactly.

        Compared without case, punctuation, a SNOMED CT semantic tag ("(disorder)") or the
        words that only say nothing more is known (", unspecified", "NOS"); None when no
        code, or more than one, has that term.
        """
        ...


class CodeSetPort(Protocol):
    """Answers questions about codes for a system and a date of service."""

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        """Facts about ``code`` of ``system`` on ``on``.

        ``code`` is normalised (dotless upper case for ICD-10-CM). An unknown code gives
        ``valid=False``; an unknown system raises ``UnknownCodeSystemError``; a date that no
        loaded release covers raises ``ReleaseNotAvailableError``.
        """
        ...

    def lookup_loaded(self, system: str, code: str, on: date) -> CodeInfo | None:
        """:meth:`lookup`, or None where it would raise ``UnknownCodeSystemError``.

        "No code set of this system is loaded" is the everyday answer for CPT without the
        organisation's licensed file (the visit line of most encounters): coding asks it
        here, so its hot path raises no exception. Other errors are raised as by ``lookup``.
        """
        ...


@fast_init
@dataclass(frozen=True, slots=True)
class Translation:
    """One target a crosswalk offers for a source code.

    ``rule`` says which entry or map rule chose it (``curated:44054006``, ``NLM map group 1
    priority 2: IFA 445518008 | Age at onset | < 18.0 years``) so a coded line can carry
    its provenance. ``needs_review`` is set when a person must confirm it (a map rule that
    could not be evaluated, a "MAP OF SOURCE CONCEPT IS CONTEXT DEPENDENT" target, an
    equivalence wider or narrower than exact). ``map_group`` groups targets that together
    code one concept (NLM maps one SNOMED concept to several ICD-10-CM codes in groups).
    """

    system: str
    code: str
    display: str
    rule: str
    source: str  # the crosswalk and its version: "fhir-coder curated 2026-11", "NLM 20250901"
    needs_review: bool = False
    map_group: int = 1
    equivalence: str = "equivalent"  # FHIR ConceptMap equivalence (R4)
    payer: str = ""
    """The payer type the target is for (``medicare``: Medicare's own code, such as its
    screening G-codes), empty for every payer. The coding engine, which knows the
    encounter's Coverage, decides: the crosswalk never guesses the payer."""
    setting: str = ""
    """The care setting the target is for (``primary-care``: a Medicare screening code whose
    national coverage determination covers it only there), empty for any. The coding engine
    decides from the encounter's class."""


@dataclass(frozen=True, slots=True)
class NoTarget:
    """A crosswalk's answer for a concept it knows and gives no target: why, and what then.

    ``reported`` False: the concept is never reported in the target system (an employment
    status or an education level is not a condition, ICD-10-CM Official Guidelines
    I.B.14; a step of the visit is not a separate charge): a note, not a coder's task.
    True: it could be, and a person must code it (``reason`` says what is missing).
    """

    reason: str
    reported: bool
    rule: str
    source: str
    partial: str = ""
    """What the crosswalk knows of the code when it cannot give all of it: an ICD-10-PCS
    pattern, the axes it fixes and ``.`` for each one the documentation decides
    (``B24....``: an ultrasound of the heart). Empty otherwise."""


class CrosswalkPort(Protocol):
    """Turns a code of one system into codes of another (SNOMED CT -> ICD-10-CM, ...)."""

    def translate(
        self,
        system: str,
        code: str,
        target: str,
        *,
        on: date,
        age: int | None = None,
        sex: str | None = None,
    ) -> tuple[Translation, ...]:
        """Targets in ``target`` for ``system|code``, best first; empty when unmapped.

        ``age`` (whole years on ``on``) and ``sex`` (administrative gender) feed map rules;
        when a rule needs one that is unknown, the targets it guards come back with
        ``needs_review``. Targets are not checked for validity here: the caller checks them
        against the code set for the date.
        """
        ...

    def no_target(self, system: str, code: str, target: str) -> NoTarget | None:
        """Why a concept the crosswalk knows has no target in ``target``; None otherwise."""
        ...


class ServiceCodesPort(Protocol):
    """Which service-line code sets have a file, and the HCPCS Level II modifiers.

    Beside :class:`CodeSetPort` (which answers for the codes themselves): HCPCS from CMS's
    file, CPT from the organisation's licensed one, each only when configured.
    """

    def loaded(self, system: str) -> bool:
        """Whether codes of ``system`` (HCPCS, CPT) can be checked: its file is configured."""
        ...

    def modifier(self, code: str, on: date) -> CodeInfo:
        """Facts about modifier ``code`` on ``on`` (``valid`` when the file lists it then).

        No HCPCS file loaded raises ``UnknownCodeSystemError``. Two-digit (Level I, CPT)
        modifiers are the AMA's and are not in the HCPCS file: callers do not ask for them.
        """
        ...


Setting = Literal["practitioner", "hospital"]
"""NCCI and MUE tables exist for practitioner (professional) and hospital (outpatient) claims."""


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """An NCCI procedure-to-procedure edit: ``column2`` is bundled into ``column1``.

    ``modifier_indicator`` is ``"0"`` (never bypassed), ``"1"`` (bypassed by an NCCI-associated
    modifier: 59, XE, XS, XP, XU, 25, 57, 58, 78, 79, 91, anatomic modifiers) or ``"9"``
    (not applicable: the edit is deleted in effect).
    """

    column1: str
    column2: str
    modifier_indicator: Literal["0", "1", "9"]
    effective: date
    deleted: date | None
    rationale: str
    setting: Setting


@dataclass(frozen=True, slots=True)
class MueLimit:
    """A medically unlikely edit: at most ``limit`` units of ``code``.

    ``adjudication`` is 1 (per claim line), 2 (per date of service, absolute policy) or 3
    (per date of service, clinical benchmark).
    """

    code: str
    limit: int
    adjudication: Literal[1, 2, 3]
    rationale: str
    setting: Setting


class ProcedureEditPort(Protocol):
    """NCCI procedure-to-procedure edits and MUEs, from the CMS files an organisation loads."""

    def ptp_edit(self, column1: str, column2: str, on: date, setting: Setting) -> PtpEdit | None:
        """The edit in force on ``on`` that bundles ``column2`` into ``column1``, if any."""
        ...

    def mue(self, code: str, on: date, setting: Setting) -> MueLimit | None:
        """The MUE in force on ``on`` for ``code``, if any."""
        ...


@fast_init
@dataclass(frozen=True, slots=True)
class MceClaim:
    """What the Medicare Code Editor reads of an inpatient claim (ICD-10 codes dotless).

    ``sex`` is administrative gender (``male``, ``female``, anything else is unknown);
    ``poa`` values other than Y, N, U and W are passed as absent (the scrubber reports them).
    """

    discharge: date
    age: int
    sex: str
    principal: str
    principal_poa: str | None = None
    secondary: tuple[tuple[str, str | None], ...] = ()
    procedures: tuple[str, ...] = ()
    discharge_status: int = 1


@fast_init
@dataclass(frozen=True, slots=True)
class MceFinding:
    """One MCE edit, attributed to the code that triggered it.

    ``edit`` is the editor's own name (``MANIFESTATION_AS_PDX``). ``position`` is
    ``principal``, ``secondary`` (``index`` into ``MceClaim.secondary``), ``procedure``
    (``index`` into ``MceClaim.procedures``) or ``claim`` when the edit concerns the claim
    as a whole (an age out of range). ``attributed`` is false when the editor reported
    more of an edit than could be pinned on codes: the finding then stands for the rest.
    """

    edit: str
    position: Literal["principal", "secondary", "procedure", "claim"]
    index: int
    code: str
    attributed: bool = True


@dataclass(frozen=True, slots=True)
class DrgAssignment:
    """The MS-DRG a grouper assigned to an inpatient claim, and the grouper that did.

    ``drg`` is the three-digit code (``"322"``); ``version`` names the grouper release
    (``"MS-DRG v43.1"``) so a claim can say which tables chose it.
    """

    drg: str
    description: str
    version: str
    mdc: str = ""


class DrgGrouperPort(Protocol):
    """The CMS MS-DRG grouper: one DRG for an inpatient stay's codes, age, sex and disposition."""

    def group(self, claim: MceClaim) -> DrgAssignment | None:
        """The DRG for ``claim``, or None when the grouper cannot assign one (ungroupable).

        A discharge date outside every loaded grouper release raises
        ``ReleaseNotAvailableError``.
        """
        ...


class MedicareCodeEditorPort(Protocol):
    """The CMS Medicare Code Editor: diagnosis and procedure edits of inpatient claims."""

    def edit(self, claim: MceClaim, *, sex_edits: bool = False) -> tuple[MceFinding, ...]:
        """Every edit the MCE raises for ``claim``, one finding per code concerned.

        CMS dropped the sex edits for discharges from 2024-10-01; ``sex_edits`` asks for
        them anyway, from the last tables that had them, for payers that still apply them.
        """
        ...

    def diagnosis_edits(
        self, claim: MceClaim, *, sex_edits: bool = False
    ) -> tuple[MceFinding, ...]:
        """The MCE's code-level diagnosis edits, which payers apply to professional claims too.

        Only ``E_CODE_AS_PDX`` and ``MANIFESTATION_AS_PDX`` (on ``claim.principal``, the
        first-listed diagnosis), ``AGE_CONFLICT`` and ``SEX_CONFLICT`` (on any diagnosis),
        as :meth:`edit` would attribute them; procedures, POA and the inpatient-only edits
        are not looked at. ``claim.discharge`` is the date of service; ``sex_edits`` as for
        :meth:`edit`.
        """
        ...
