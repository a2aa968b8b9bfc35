"""Ranked code suggestions for the diagnoses coding could not finish, with the words that matched.

A coder opening a work item should see, beside each Condition that produced no line, the
codes most likely to be right and why: the billable codes below a category header the EHR
sent (``E03`` -> ``E03.9``...), ranked by the words of the Condition that their
descriptions share, and the text search's matches for those words. Suggestions are
offered, never accepted: a person picks one (and the workbench records whether they did).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from adapters.coding_setup import CodingSetup
from fhir_coder.coding.checks import shown
from fhir_coder.errors import FhirCoderError
from fhir_coder.model import CodedEncounter, Diagnosis
from fhir_coder.ports import Suggestion
from fhir_coder.systems import ICD10CM, normalise_icd10cm

__all__ = ["diagnosis_words", "suggest_for"]

_LIMIT: Final = 8
_WORD = re.compile(r"[a-z0-9]+")
_STOP: Final = frozenset({"of", "the", "and", "or", "with", "without", "due", "to", "in", "nos"})
# "unspecified" claims nothing the documentation must say: words that say no more than the
# header are coded to the unspecified code (Guidelines I.B.18); "other specified" claims more
_NEUTRAL: Final = frozenset({"unspecified"})


def diagnosis_words(diagnosis: Diagnosis) -> str:
    """The words a clinician wrote for a Condition: its text, else its codings' displays."""
    return diagnosis.text or next((c.display for c in diagnosis.codings if c.display), "")


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def suggest_for(coded: CodedEncounter, coding: CodingSetup) -> list[dict[str, Any]]:
    """Suggestions for each diagnosis of ``coded`` that produced no line, best first.

    One entry per such Condition: ``source`` (``Condition/1``), ``words`` and ``options``,
    each option ``system``, ``code`` (dotless), ``shown`` (dotted), ``description``,
    ``score`` (0-1), ``matched`` (the words shared) and ``why``.
    """
    on = coded.encounter.date_of_service
    if on is None:
        return []
    coded_sources = {line.source.reference for line in coded.lines}
    patient = coded.encounter.patient
    # the patient's age and sex leave out the codes they rule out (no newborn code for an
    # adult, no maternity code for a man), as the workbench's own search does
    who = (patient.age_on(on), patient.sex if patient.sex in ("female", "male") else None)
    found: list[dict[str, Any]] = []
    for diagnosis in coded.encounter.diagnoses:
        if diagnosis.source.reference in coded_sources:
            continue
        options = _options(diagnosis, coding, on, who)
        if options:
            found.append(
                {
                    "source": diagnosis.source.reference,
                    "words": diagnosis_words(diagnosis),
                    "options": options[:_LIMIT],
                }
            )
    return found


def _text_offers(
    coding: CodingSetup, words: str, on: date, who: tuple[int | None, str | None]
) -> list[Suggestion]:
    """The text search's offers; none when no release covers ``on`` (the findings say so)."""
    assert coding.text is not None  # noqa: S101 - checked by the caller
    age, sex = who
    try:
        return list(coding.text.suggest(words, on=on, limit=_LIMIT, age=age, sex=sex))
    except FhirCoderError:
        return []


def _options(
    diagnosis: Diagnosis, coding: CodingSetup, on: date, who: tuple[int | None, str | None]
) -> list[dict[str, Any]]:
    words = diagnosis_words(diagnosis)
    wanted = _tokens(words)
    options: dict[str, dict[str, Any]] = {}
    for sent in diagnosis.codings:
        if sent.system != ICD10CM:
            continue
        code = normalise_icd10cm(sent.code)
        if code is None:
            continue
        try:
            info = coding.codesets.lookup(ICD10CM, code, on)
        except FhirCoderError:
            continue
        for child in info.billable_children:
            try:
                described = coding.codesets.lookup(ICD10CM, child, on).description
            except FhirCoderError:
                continue
            own = _tokens(described) - _NEUTRAL or {""}
            shared = sorted(wanted & own)
            # below the header the EHR sent: the best of them still ranks above a guess; a
            # description claiming what the words do not say (postinfectious...) ranks lower
            score = 0.5 + 0.5 * len(shared) / len(own)
            options[child] = _option(
                child, described, score, shared, f"below {shown(ICD10CM, code)} sent by the EHR"
            )
    if words and coding.text is not None:
        for offered in _text_offers(coding, words, on, who):
            shared = sorted(wanted & _tokens(offered.matched))
            known = options.get(offered.code)
            if known is not None:  # the header's child the words also point at: first
                known["score"] = min(1.0, known["score"] + 0.1 * offered.score)
                known["matched"] = shared or known["matched"]
                known["why"] += f"; words match {offered.matched!r}"
                continue
            options[offered.code] = _option(
                offered.code,
                offered.description,
                offered.score * 0.9,
                shared,
                f"words match {offered.matched!r}",
            )
    return sorted(options.values(), key=lambda o: (-o["score"], o["code"]))


def _option(
    code: str, description: str, score: float, matched: list[str], why: str
) -> dict[str, Any]:
    return {
        "system": ICD10CM,
        "code": code,
        "shown": shown(ICD10CM, code),
        "description": description,
        "score": round(score, 3),
        "matched": matched,
        "why": why,
    }
