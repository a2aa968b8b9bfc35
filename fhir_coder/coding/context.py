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
    """

    text_accept_score: float = 1.01
    visit_codes: tuple[VisitCode, ...] = ()
    suggestions_offered: int = 5


DEFAULT_POLICY = CodingPolicy()


@fast_init
@dataclass(frozen=True, slots=True)
class CodingContext:
    """One encounter's coding: the ports, the policy, and the date and patient facts."""

    encounter: Encounter
    on: date
    codesets: CodeSetPort
    crosswalks: CrosswalkPort | None = None
    notes: CodeNotesPort | None = None
    text: TextSearchPort | None = None
    policy: CodingPolicy = field(default=DEFAULT_POLICY)

    @property
    def age(self) -> int | None:
        """The patient's age in whole years on the date of service."""
        return self.encounter.patient.age_on(self.on)

    @property
    def sex(self) -> str | None:
        """The patient's administrative sex, None when unknown."""
        sex = self.encounter.patient.sex
        return sex if sex in ("female", "male") else None
