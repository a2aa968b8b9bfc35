"""Conditional references answered from an export: FHIR search criteria tested on resources.

A conditional reference (``Practitioner?identifier=...|999``, ``Patient?name=Smith&birthdate=
1970-01-01``, ``Organization?name=General``) names its target by a search, and an export has
no server to ask. :class:`ExportIndex` narrows the candidates by ``identifier`` or ``_id``
from its own tables when the search has either, else reads the resources of the type; each
candidate is then tested here on every criterion.

The parameters are those the sandbox's loader answers for the types coding reads (its
``sandbox/searchparams.py``), with FHIR's rules for each kind: several parameters AND,
comma-separated values OR; tokens as ``system|code``, ``code``, ``|code`` (no system) or
``system|``; strings starting with the value, ignoring case and accents (``:exact`` for the
whole value as written); dates with the prefixes ``eq`` (default), ``ne``, ``gt``, ``lt``,
``ge``, ``le``, ``sa``, ``eb`` and ``ap`` at the precision written; references as ``id``,
``Type/id`` or an absolute URL on the export's server. Anything else is a reason, in words,
that :class:`ExportIndex` reports for every resource that makes the reference.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

__all__ = ["Criterion", "SearchRefused", "matches", "parse_criteria"]

Kind = Literal["token", "string", "date", "reference", "id"]

_NAME: Final = ("name.family", "name.given", "name.prefix", "name.suffix", "name.text")


def _common(*params: tuple[str, Kind, tuple[str, ...]]) -> dict[str, tuple[Kind, tuple[str, ...]]]:
    table: dict[str, tuple[Kind, tuple[str, ...]]] = {
        "_id": ("id", ("id",)),
        "identifier": ("token", ("identifier",)),
    }
    table.update({name: (kind, paths) for name, kind, paths in params})
    return table


PARAMS: Final[dict[str, dict[str, tuple[Kind, tuple[str, ...]]]]] = {
    "Patient": _common(
        ("name", "string", _NAME),
        ("family", "string", ("name.family",)),
        ("given", "string", ("name.given",)),
        ("birthdate", "date", ("birthDate",)),
        ("gender", "token", ("gender",)),
    ),
    "Practitioner": _common(
        ("name", "string", _NAME),
        ("family", "string", ("name.family",)),
        ("given", "string", ("name.given",)),
    ),
    "PractitionerRole": _common(),
    "Organization": _common(("name", "string", ("name", "alias"))),
    "Location": _common(),
    "Encounter": _common(
        ("status", "token", ("status",)),
        ("patient", "reference", ("subject",)),
        ("subject", "reference", ("subject",)),
        ("date", "date", ("period",)),
        ("class", "token", ("class",)),
        ("type", "token", ("type",)),
    ),
    "Condition": _common(
        ("patient", "reference", ("subject",)),
        ("subject", "reference", ("subject",)),
        ("encounter", "reference", ("encounter",)),
        ("code", "token", ("code",)),
        ("category", "token", ("category",)),
        ("clinical-status", "token", ("clinicalStatus",)),
        ("onset-date", "date", ("onsetDateTime", "onsetPeriod")),
        ("recorded-date", "date", ("recordedDate",)),
    ),
    "Procedure": _common(
        ("status", "token", ("status",)),
        ("patient", "reference", ("subject",)),
        ("subject", "reference", ("subject",)),
        ("encounter", "reference", ("encounter",)),
        ("code", "token", ("code",)),
        ("category", "token", ("category",)),
        ("date", "date", ("performedDateTime", "performedPeriod")),
    ),
    "Coverage": _common(
        ("status", "token", ("status",)), ("patient", "reference", ("beneficiary",))
    ),
    "MedicationAdministration": _common(
        ("status", "token", ("status",)),
        ("patient", "reference", ("subject",)),
        ("context", "reference", ("context",)),
        ("effective-time", "date", ("effectiveDateTime", "effectivePeriod")),
        ("code", "token", ("medicationCodeableConcept",)),
    ),
    "Immunization": _common(
        ("status", "token", ("status",)),
        ("patient", "reference", ("patient",)),
        ("date", "date", ("occurrenceDateTime",)),
        ("vaccine-code", "token", ("vaccineCode",)),
    ),
}
"""The search parameters answered per type: kind and element paths (as the sandbox's)."""

_PREFIXES: Final = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_PATIENT_PARAMS: Final = frozenset({"patient"})


class SearchRefused(ValueError):  # noqa: N818 - a reason, not a failure of the program
    """A search an export cannot answer; the message says why, for the user."""


@dataclass(frozen=True, slots=True)
class Criterion:
    """One parameter of a search: any of ``values`` matches (OR)."""

    name: str
    kind: Kind
    paths: tuple[str, ...]
    values: tuple[str, ...]
    exact: bool = False  # ``:exact`` on a string


def parse_criteria(kind: str, query: str) -> list[Criterion]:
    """The criteria of ``Type?query``'s query; :class:`SearchRefused` when one is not answered."""
    known = PARAMS.get(kind)
    if known is None:
        raise SearchRefused(f"a search for {kind} resources is not answered from an export")
    criteria: list[Criterion] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        name, _, modifier = key.partition(":")
        if name not in known:
            raise SearchRefused(
                f"the search parameter {name!r} is not answered from an export "
                f"(for {kind}: {', '.join(sorted(known))})"
            )
        param_kind, paths = known[name]
        if modifier and not (modifier == "exact" and param_kind == "string"):
            raise SearchRefused(f"the modifier :{modifier} on {name!r} is not answered")
        if not value:
            raise SearchRefused(f"the search parameter {name!r} has no value")
        values = tuple(v for v in value.split(",") if v)
        if param_kind == "date":
            for each in values:
                _date_range(each)  # refused here, not on every candidate
        criteria.append(Criterion(name, param_kind, paths, values, exact=modifier == "exact"))
    if not criteria:
        raise SearchRefused("the search has no criteria")
    return criteria


def matches(resource: dict[str, Any], criteria: list[Criterion], base_url: str) -> bool:
    """Whether ``resource`` meets every criterion (each by any of its values)."""
    return all(_meets(resource, c, base_url) for c in criteria)


def _meets(resource: dict[str, Any], criterion: Criterion, base_url: str) -> bool:
    if criterion.kind == "id":
        return resource.get("id") in criterion.values
    found = [v for path in criterion.paths for v in _walk(resource, path.split("."))]
    if criterion.kind == "token":
        return any(_token(v, want) for v in found for want in criterion.values)
    if criterion.kind == "string":
        return any(_string(v, want, criterion.exact) for v in found for want in criterion.values)
    if criterion.kind == "date":
        return any(_date_meets(v, want) for v in found for want in criterion.values)
    target = "Patient" if criterion.name in _PATIENT_PARAMS else None
    return any(_reference(v, want, target, base_url) for v in found for want in criterion.values)


def _walk(node: object, steps: list[str]) -> Iterator[object]:
    """The values at an element path, through lists at any step."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, steps)
        return
    if not steps:
        if node is not None:
            yield node
        return
    if isinstance(node, dict):
        yield from _walk(node.get(steps[0]), steps[1:])


def _token(value: object, want: str) -> bool:
    system, bar, code = want.rpartition("|")
    if isinstance(value, str):  # a code element: status, gender
        return not bar and value == code
    if not isinstance(value, dict):
        return False
    if "coding" in value:  # a CodeableConcept
        return any(_token(c, want) for c in value.get("coding") or [])
    own = value.get("code") if "code" in value else value.get("value")  # Coding, Identifier
    in_system = (value.get("system") or "") == system
    if bar and not code:  # "system|": anything in that system
        return in_system
    return own == code and (in_system or not bar)


def _plain(text: str) -> str:
    """``text`` without case or accents, as FHIR string search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _string(value: object, want: str, exact: bool) -> bool:
    if not isinstance(value, str):
        return False
    return value == want if exact else _plain(value).startswith(_plain(want))


def _date_range(text: str) -> tuple[str, str, str]:
    """``(prefix, low, high)`` of a date search value, at the precision it is written."""
    prefix = text[:2] if text[:2] in _PREFIXES else "eq"
    value = text[2:] if text[:2] in _PREFIXES else text
    low, high = _span(value)
    if not low:
        raise SearchRefused(f"the date {text!r} is not a FHIR date")
    return prefix, low, high


def _span(value: object) -> tuple[str, str]:
    """The first and last day a date or dateTime value covers, as ``YYYY-MM-DD``."""
    if not isinstance(value, str):
        return "", ""
    text = value.strip()[:10]
    try:
        if len(text) == 4:
            return f"{int(text):04d}-01-01", f"{int(text):04d}-12-31"
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            end = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
            return f"{year:04d}-{month:02d}-01", date.fromordinal(end).isoformat()
        day = date.fromisoformat(text).isoformat()
    except ValueError:
        return "", ""
    return day, day


def _date_meets(value: object, want: str) -> bool:
    """Whether a date, dateTime or Period value meets a date search value (its prefix)."""
    if isinstance(value, dict):  # a Period
        low, high = _span(value.get("start"))[0], _span(value.get("end"))[1]
        low, high = low or "0000-01-01", high or "9999-12-31"
    else:
        low, high = _span(value)
    if not low:
        return False
    prefix, start, end = _date_range(want)
    inside = low >= start and high <= end
    return {
        "eq": inside,
        "ne": not inside,
        "gt": high > end,
        "lt": low < start,
        "ge": high >= start,
        "le": low <= end,
        "sa": low > end,
        "eb": high < start,
        "ap": high >= start and low <= end,  # overlaps
    }[prefix]


def _reference(value: object, want: str, target: str | None, base_url: str) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return False
    ref = value["reference"].strip()
    base = base_url.rstrip("/") + "/" if base_url else ""
    if base and ref.startswith(base):
        ref = ref[len(base) :]
    if base and want.startswith(base):
        want = want[len(base) :]
    kind, _, ident = ref.partition("/")
    ident = ident.split("/_history", 1)[0]
    if target is not None and kind != target:
        return False
    return bool(want == (f"{kind}/{ident}" if "/" in want else ident))
