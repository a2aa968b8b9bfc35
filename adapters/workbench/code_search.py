"""Code search for the coder: ICD-10-CM, ICD-10-PCS, HCPCS and a licensed CPT file when configured.

ICD-10-CM answers from the registry's word index (valid on the date of service, billable
first); ICD-10-PCS from its description index; HCPCS and CPT from the files the
organisation configured (``FHIR_CODER_HCPCS_FILE``, ``FHIR_CODER_CPT_FILE``): a code typed
whole or in part, or the words of its descriptor. Without a CPT file no CPT descriptor is
shown (they are the AMA's): a CPT code can still be typed and is checked for its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from codesets import CodeSetRegistry
from fhir_coder.coding.checks import shown
from fhir_coder.model import PatientFacts
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS

__all__ = ["SYSTEMS", "Hit", "Patient", "search_codes", "searched_for"]

SYSTEMS: Final = {"icd10cm": ICD10CM, "pcs": ICD10PCS, "hcpcs": HCPCS, "cpt": CPT}
_LIMIT: Final = 12


@dataclass(frozen=True, slots=True)
class Patient:
    """What a search needs of the patient: age in years on the date of service and sex."""

    age: int | None = None
    sex: str | None = None

    @property
    def known(self) -> bool:
        """Whether anything is known to filter by."""
        return self.age is not None or self.sex is not None


def searched_for(facts: PatientFacts, on: date | None) -> Patient:
    """The work item's patient as the search filters by: age on ``on``, a known sex."""
    return Patient(
        age=facts.age_on(on) if on is not None else None,
        sex=facts.sex if facts.sex in ("female", "male") else None,
    )


@dataclass(frozen=True, slots=True)
class Hit:
    """One code found: its system, code (as stored), how it is shown, what it says."""

    system: str
    code: str
    shown: str
    description: str
    billable: bool = True


def search_codes(
    registry: CodeSetRegistry,
    system_key: str,
    text: str,
    *,
    on: date | None,
    patient: Patient | None = None,
) -> list[Hit]:
    """Up to a dozen codes of ``system_key`` for ``text`` (words or a code), best first.

    With the item's ``patient`` (age on the date of service, sex), ICD-10-CM words are
    answered by the ranked suggestions, then the word search, both leaving out the codes
    the patient cannot have (no newborn or maternity codes for a 60-year-old man).
    """
    words = text.strip()[:100]
    if len(words) < 2:
        return []
    system = SYSTEMS.get(system_key, ICD10CM)
    if system == ICD10CM:
        return _icd10cm(registry, words, on, patient or Patient())
    if system == ICD10PCS:
        return [
            Hit(ICD10PCS, code, code, description)
            for code, description in registry.procedures.pcs_text.search(words.split(), _LIMIT)
        ]
    if system == HCPCS:
        hcpcs = registry.procedures.hcpcs
        table = {k: v.description for k, v in hcpcs.codes.items()} if hcpcs else {}
        return _in_table(HCPCS, table, words)
    cpt = registry.procedures.cpt
    return _in_table(CPT, dict(cpt.codes) if cpt else {}, words)


def _icd10cm(registry: CodeSetRegistry, words: str, on: date | None, patient: Patient) -> list[Hit]:
    code = words.replace(".", "").upper()
    hits: list[Hit] = []
    if code[:1].isalpha() and code[1:3].isdigit() and on is not None:  # a code, typed
        info = registry.lookup(ICD10CM, code, on)
        if info.valid:
            hits.append(Hit(ICD10CM, code, shown(ICD10CM, code), info.description, info.billable))
            for child in info.billable_children[: _LIMIT - 1]:
                below = registry.lookup(ICD10CM, child, on)
                hits.append(Hit(ICD10CM, child, shown(ICD10CM, child), below.description))
            return hits
    ranked = (
        registry.suggest(words, on=on, limit=_LIMIT, age=patient.age, sex=patient.sex)
        if on is not None and patient.known
        else ()
    )
    found = registry.search(
        words, on=on, limit=_LIMIT, billable_only=True, age=patient.age, sex=patient.sex
    )
    seen: set[str] = set()
    for offered in (*ranked, *found):
        if offered.code not in seen and len(hits) < _LIMIT:
            seen.add(offered.code)
            hits.append(
                Hit(ICD10CM, offered.code, shown(ICD10CM, offered.code), offered.description)
            )
    return hits


def _in_table(system: str, table: dict[str, str], text: str) -> list[Hit]:
    code = text.upper()
    if code in table:
        return [Hit(system, code, code, table[code])]
    prefix = [k for k in table if k.startswith(code)][:_LIMIT]
    if prefix:
        return [Hit(system, k, k, table[k]) for k in sorted(prefix)]
    wanted = [w for w in text.lower().split() if w]
    found = [k for k, v in table.items() if all(w in v.lower() for w in wanted)]
    return [Hit(system, k, k, table[k]) for k in sorted(found)[:_LIMIT]]
