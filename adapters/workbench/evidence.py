"""The clinical evidence beside the coded lines: the encounter's Observations and notes, read live.

Coding gathered Conditions and Procedures (kept in the work item); a coder also reads the
results and the notes. They are read from the EHR when an item is opened (never stored in
the ledger), at most ``_MAX_OBSERVATIONS`` and ``_MAX_NOTES``, each note's text decoded from
``DocumentReference.content.attachment`` (``data`` in base64, ``text/*`` only) and cut at
``_MAX_NOTE_CHARS``. A server that cannot answer leaves the page without them and says so.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, Final

from adapters.fhir.client import FhirClient
from fhir_coder.errors import FhirError

__all__ = ["Evidence", "Note", "Observation", "highlight", "read_evidence"]

_MAX_OBSERVATIONS: Final = 200
_MAX_NOTES: Final = 20
_MAX_NOTE_CHARS: Final = 100_000


@dataclass(frozen=True, slots=True)
class Observation:
    """One result: what was measured, its value, when."""

    reference: str
    name: str
    value: str
    when: str
    interpretation: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """One clinical note's text."""

    reference: str
    title: str
    when: str
    text: str
    cut: bool = False


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the EHR holds beside the coded facts, and what could not be read."""

    observations: tuple[Observation, ...] = ()
    notes: tuple[Note, ...] = ()
    problems: tuple[str, ...] = field(default=())


def _concept_text(concept: dict[str, Any] | None) -> str:
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    codings = concept.get("coding") or [{}]
    return str(codings[0].get("code", ""))


def _value(resource: dict[str, Any]) -> str:
    quantity = resource.get("valueQuantity")
    if quantity:
        return f"{quantity.get('value', '')} {quantity.get('unit') or quantity.get('code') or ''}"
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if key in resource:
            return str(resource[key])
    if resource.get("valueCodeableConcept"):
        return _concept_text(resource["valueCodeableConcept"])
    parts = [
        f"{_concept_text(c.get('code'))}: {_value(c)}" for c in resource.get("component") or []
    ]
    return "; ".join(parts)


def _observation(resource: dict[str, Any]) -> Observation:
    interpretation = ", ".join(_concept_text(c) for c in resource.get("interpretation") or [])
    return Observation(
        reference=f"Observation/{resource.get('id', '')}",
        name=_concept_text(resource.get("code")),
        value=_value(resource).strip(),
        when=str(resource.get("effectiveDateTime") or resource.get("issued") or "")[:16],
        interpretation=interpretation,
    )


def _note(resource: dict[str, Any]) -> Note | None:
    for content in resource.get("content") or []:
        attachment = content.get("attachment") or {}
        kind = str(attachment.get("contentType", "text/plain"))
        if not kind.startswith("text/") or not attachment.get("data"):
            continue
        try:
            raw = base64.b64decode(attachment["data"], validate=False)
        except (binascii.Error, ValueError):
            continue
        text = raw.decode("utf-8", errors="replace")
        return Note(
            reference=f"DocumentReference/{resource.get('id', '')}",
            title=_concept_text(resource.get("type")) or str(attachment.get("title") or "Note"),
            when=str(resource.get("date") or "")[:16],
            text=text[:_MAX_NOTE_CHARS],
            cut=len(text) > _MAX_NOTE_CHARS,
        )
    return None


async def read_evidence(fhir: FhirClient | None, encounter_reference: str) -> Evidence:
    """The encounter's Observations and notes from ``fhir`` (nothing without a server)."""
    if fhir is None:
        return Evidence(problems=("no FHIR server is configured: results and notes not shown",))
    observations: list[Observation] = []
    notes: list[Note] = []
    problems: list[str] = []
    params = {"encounter": encounter_reference, "_count": "100"}
    try:
        async for resource in fhir.search("Observation", params):
            observations.append(_observation(resource))
            if len(observations) >= _MAX_OBSERVATIONS:
                break
    except FhirError as exc:
        problems.append(f"Observations could not be read: {type(exc).__name__}")
    try:
        async for resource in fhir.search("DocumentReference", params):
            note = _note(resource)
            if note is not None:
                notes.append(note)
            if len(notes) >= _MAX_NOTES:
                break
    except FhirError as exc:
        problems.append(f"notes could not be read: {type(exc).__name__}")
    return Evidence(tuple(observations), tuple(notes), tuple(problems))


def highlight(text: str, words: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) runs where any of ``words`` occurs (for ``<mark>``)."""
    wanted = [re.escape(w) for w in words if len(w) > 2]
    if not wanted:
        return [(text, False)]
    pattern = re.compile(r"\b(" + "|".join(wanted) + r")\w*", re.IGNORECASE)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for found in pattern.finditer(text):
        if found.start() > last:
            pieces.append((text[last : found.start()], False))
        pieces.append((found.group(0), True))
        last = found.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces
