"""What coding is given: the ports it asks and the policy it follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fhir_coder.model import Encounter
from fhir_coder.ports import CodeNotesPort, CodeSetPort, CrosswalkPort, TextSearchPort
from fhir_coder.values import fast_init

__all__ = ["DEFAULT_POLICY", "CodingContext", "CodingPolicy", "VisitCode"]


@dataclass(frozen=True, slots=True)
class VisitCode:
    """A row of the visit-code table: the E/M (or HCPCS) code billed for a kind of visit.

    ``encounter_type`` is a code of ``Encounter.type`` (any system) or ``*`` for any type.
    The level of an E/M code depends on documentation the EHR does not send, so a line
    from this table is marked for a person to confirm unless ``confirmed`` is set.
    """

    encounter_class: str
    encounter_type: str
    system: str
    code: str
    modifiers: tuple[str, ...] = ()
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class CodingPolicy:
    """Choices an organisation makes about automatic coding.

    ``text_accept_score``: a text suggestion at or above this score becomes a line;
    below it, suggestions are only offered (the default, above 1, never accepts text).
    ``visit_codes``: the E/M table; empty means no visit line is added.
    ``exact_terms``: a concept no crosswalk knows is coded when its term is, word for word,
    the description or an inclusion term of exactly one billable code (method
    ``exact-term``, confidence 0.7); off by default (see docs/accuracy.md for its figure).
    ``pcs_reporting``: which procedures of an inpatient stay are reported in ICD-10-PCS:
    ``significant`` (the default: UHDDS significant procedures, the rest charged on the
    stay's revenue lines; :mod:`fhir_coder.coding.pcs_reporting`) or ``all``.
    ``medicare_payers``: payer identifiers (or payer references) the organisation bills as
    Medicare, for a Coverage whose ``type`` carries no Source of Payment Typology code.
    """

    text_accept_score: float = 1.01
    exact_terms: bool = False
    visit_codes: tuple[VisitCode, ...] = ()
    suggestions_offered: int = 5
    pcs_reporting: str = "significant"
    medicare_payers: frozenset[str] = frozenset()
    # The visit table's rows by encounter class, in table order: made once with the policy
    # instead of filtering the whole table for every encounter.
    _visit_rows: dict[str, tuple[VisitCode, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        rows: dict[str, list[VisitCode]] = {}
        for row in self.visit_codes:
            rows.setdefault(row.encounter_class, []).append(row)
        by_class = {encounter_class: tuple(found) for encounter_class, found in rows.items()}
        object.__setattr__(self, "_visit_rows", by_class)

    def visit_code(self, encounter_class: str, types: set[str]) -> VisitCode | None:
        """The most specific row for a visit: one naming its type before the class's catch-all."""
        rows = self._visit_rows.get(encounter_class, ())
        for row in rows:  # loops, not generators: asked for every outpatient encounter
            if row.encounter_type in types:
                return row
        for row in rows:
            if row.encounter_type == "*":
                return row
        return None


DEFAULT_POLICY = CodingPolicy()


@fast_init
@dataclass(frozen=True, slots=True)
class CodingContext:
    """One encounter's coding: the ports, the policy, and the date and patient facts.

    ``age`` (whole years on the date of service) and ``sex`` (None when unknown) are
    worked out once by :meth:`start`, not for every crosswalk asked.
    """

    encounter: Encounter
    on: date
    codesets: CodeSetPort
    crosswalks: CrosswalkPort | None
    notes: CodeNotesPort | None
    text: TextSearchPort | None
    policy: CodingPolicy
    age: int | None
    sex: str | None

    @classmethod
    def start(
        cls,
        encounter: Encounter,
        on: date,
        codesets: CodeSetPort,
        crosswalks: CrosswalkPort | None = None,
        notes: CodeNotesPort | None = None,
        text: TextSearchPort | None = None,
        policy: CodingPolicy = DEFAULT_POLICY,
    ) -> CodingContext:
        """The context for coding ``encounter`` on ``on``."""
        sex = encounter.patient.sex
        return cls(
            encounter,
            on,
            codesets,
            crosswalks,
            notes,
            text,
            policy,
            encounter.patient.age_on(on),
            sex if sex in ("female", "male") else None,
        )
