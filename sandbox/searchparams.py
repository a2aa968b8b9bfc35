"""The search parameters the sandbox supports, per resource type, and where their values live.

One table drives three things, so they cannot drift apart: what the store indexes on write,
what a search accepts, and what the CapabilityStatement declares. Paths are element paths
from the resource root (``item.encounter`` walks every ``Claim.item``); reference parameters
name the target types they index (``patient`` on Encounter indexes ``subject`` only when it
points to a Patient), the way the FHIR R4 definitions restrict them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sandbox.resource_types import IDENTIFIED_TYPES

__all__ = [
    "ID_PARAM",
    "LAST_UPDATED_PARAM",
    "ParamKind",
    "SearchParam",
    "params_for",
]


class ParamKind(StrEnum):
    """The FHIR search parameter types the sandbox implements."""

    TOKEN = "token"  # noqa: S105 - the FHIR search parameter type, not a secret
    REFERENCE = "reference"
    DATE = "date"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One search parameter of one resource type."""

    name: str
    kind: ParamKind
    paths: tuple[str, ...]
    targets: frozenset[str] = frozenset()  # reference targets indexed; empty means any type
    documentation: str = ""


ID_PARAM = SearchParam(
    name="_id",
    kind=ParamKind.TOKEN,
    paths=("id",),
    documentation="Logical id of the resource (comma-separated values match any)",
)
"""``_id`` is answered from the resources table itself, for every type."""

_PATIENT = frozenset({"Patient"})


def _status() -> SearchParam:
    return SearchParam("status", ParamKind.TOKEN, ("status",), documentation="Status code")


def _identifier() -> SearchParam:
    return SearchParam(
        "identifier",
        ParamKind.TOKEN,
        ("identifier",),
        documentation="Business identifier, as system|value or value",
    )


def _patient(path: str) -> SearchParam:
    return SearchParam(
        "patient",
        ParamKind.REFERENCE,
        (path,),
        _PATIENT,
        documentation=f"The patient ({path}), as Patient/id, id or an absolute URL here",
    )


def _subject(path: str) -> SearchParam:
    return SearchParam(
        "subject",
        ParamKind.REFERENCE,
        (path,),
        documentation=f"The subject ({path}), as Type/id, id or an absolute URL here",
    )


def _encounter(path: str) -> SearchParam:
    return SearchParam(
        "encounter",
        ParamKind.REFERENCE,
        (path,),
        frozenset({"Encounter"}),
        documentation=f"The encounter ({path}), as Encounter/id, id or an absolute URL here",
    )


LAST_UPDATED_PARAM = SearchParam(
    "_lastUpdated",
    ParamKind.DATE,
    ("meta.lastUpdated",),
    documentation="When the resource last changed, with date prefixes",
)
"""``_lastUpdated`` is answered from the resources table itself, for every type."""


def _token(name: str, *paths: str) -> SearchParam:
    return SearchParam(name, ParamKind.TOKEN, paths, documentation=f"Code of {', '.join(paths)}")


def _date(name: str, *paths: str) -> SearchParam:
    return SearchParam(
        name, ParamKind.DATE, paths, documentation=f"{', '.join(paths)}, with date prefixes"
    )


def _string(name: str, *paths: str) -> SearchParam:
    return SearchParam(
        name,
        ParamKind.STRING,
        paths,
        documentation=f"{', '.join(paths)}: starts with, ignoring case and accents (:exact)",
    )


_HUMAN_NAME = ("name.family", "name.given", "name.prefix", "name.suffix", "name.text")

_BY_TYPE: dict[str, tuple[SearchParam, ...]] = {
    "Patient": (
        _identifier(),
        _string("name", *_HUMAN_NAME),
        _string("family", "name.family"),
        _string("given", "name.given"),
        _date("birthdate", "birthDate"),
        _token("gender", "gender"),
    ),
    "Practitioner": (
        _identifier(),
        _string("name", *_HUMAN_NAME),
        _string("family", "name.family"),
        _string("given", "name.given"),
    ),
    "Organization": (_identifier(), _string("name", "name", "alias")),
    "Encounter": (
        _status(),
        _identifier(),
        _patient("subject"),
        _subject("subject"),
        _date("date", "period"),
        _token("class", "class"),
        _token("type", "type"),
    ),
    "Condition": (
        _identifier(),
        _patient("subject"),
        _subject("subject"),
        _encounter("encounter"),
        _token("code", "code"),
        _token("category", "category"),
        _token("clinical-status", "clinicalStatus"),
        _date("onset-date", "onsetDateTime", "onsetPeriod"),
        _date("recorded-date", "recordedDate"),
    ),
    "Procedure": (
        _status(),
        _identifier(),
        _patient("subject"),
        _subject("subject"),
        _encounter("encounter"),
        _token("code", "code"),
        _token("category", "category"),
        _date("date", "performedDateTime", "performedPeriod"),
    ),
    "Coverage": (_status(), _identifier(), _patient("beneficiary")),
    "MedicationAdministration": (
        _status(),
        _identifier(),
        _patient("subject"),
        SearchParam(
            "context",
            ParamKind.REFERENCE,
            ("context",),
            frozenset({"Encounter", "EpisodeOfCare"}),
            documentation="The encounter or episode (context), as Encounter/id or an absolute URL",
        ),
        _date("effective-time", "effectiveDateTime", "effectivePeriod"),
        _token("code", "medicationCodeableConcept"),
    ),
    "Immunization": (
        _status(),
        _identifier(),
        _patient("patient"),
        _date("date", "occurrenceDateTime"),
        _token("vaccine-code", "vaccineCode"),
    ),
    "Claim": (
        _status(),
        _identifier(),
        _patient("patient"),
        _encounter("item.encounter"),
        _date("created", "created"),
        _token("use", "use"),
    ),
    "Provenance": (_patient("target"),),
    # the evidence a coder reads beside the coded lines (the workbench asks by encounter)
    "Observation": (
        _status(),
        _identifier(),
        _patient("subject"),
        _subject("subject"),
        _encounter("encounter"),
        _token("code", "code"),
        _token("category", "category"),
        _date("date", "effectiveDateTime", "effectivePeriod"),
    ),
    "DocumentReference": (
        _status(),
        _identifier(),
        _patient("subject"),
        _subject("subject"),
        _encounter("context.encounter"),
        _token("type", "type"),
        _date("date", "date"),
    ),
    "Task": (
        _status(),
        _identifier(),
        _patient("for"),
        _subject("for"),
        _encounter("encounter"),
    ),
}


_IDENTIFIER = _identifier()


def _with_identifier() -> dict[str, dict[str, SearchParam]]:
    table = {kind: {p.name: p for p in params} for kind, params in _BY_TYPE.items()}
    for kind in IDENTIFIED_TYPES:
        table.setdefault(kind, {}).setdefault("identifier", _IDENTIFIER)
    return table


_PARAMS: dict[str, dict[str, SearchParam]] = _with_identifier()


def params_for(resource_type: str) -> dict[str, SearchParam]:
    """The indexed search parameters of ``resource_type`` by name (``_id`` is implicit).

    ``identifier`` on every type that has one (:data:`~sandbox.resource_types.IDENTIFIED_TYPES`),
    beside the parameters listed per type above.
    """
    return _PARAMS.get(resource_type, {})
