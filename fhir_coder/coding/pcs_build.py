"""ICD-10-PCS built from what a Procedure states, where its concept leaves axes open.

A curated ICD-10-PCS row may know the table and the axes its concept fixes (``027.3.Z``, a
percutaneous dilation of coronary arteries) and leave open what only the record says: the
body part, the device, the approach, the qualifier. An EHR's procedure record often says
it: ``Procedure.bodySite`` (the vessels treated, the side), ``focalDevice`` and ``usedCode``
(the stents and grafts), the ``procedure-method`` extension (the approach). The rule table
``pcs_axes.toml`` (beside this module) says, for each pattern it knows, which stated fact
fills each open axis, with the ICD-10-PCS Official Guidelines it follows (B3.6b-c, B4.3,
B4.4, B6.1a).

A code is built only when every open axis is filled by a stated fact and every body site
the Procedure names is understood; otherwise the answer names the axes still open and why,
for the coder's task. Nothing is assumed from what is usual: a stent of no stated kind,
a bypass of no stated approach, an artery branch whose count is a judgement leave the axis
open. The built code is checked against the code set on the date by the caller, like any
other code.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Final

from fhir_coder.model import Coding, Procedure, ProcedureDevice

__all__ = ["AXES", "Built", "Open", "PcsTable", "build_pcs", "load_tables"]

AXES: Final = ("section", "body system", "root operation", "body part", "approach", "device",
               "qualifier")  # fmt: skip
"""The seven characters of an ICD-10-PCS code, by position."""
_AXIS_KEYS: Final = {"body_part": 3, "approach": 4, "device": 5, "qualifier": 6}
_FOUR_OR_MORE: Final = 4


@dataclass(frozen=True, slots=True)
class Axis:
    """How one open axis is filled: the fact read, and the value each answer takes."""

    position: int
    fact: str
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PcsTable:
    """One pattern the table knows: its open axes and the guidelines they follow."""

    pattern: str
    what: str
    cites: str
    axes: tuple[Axis, ...]
    at_most: Mapping[str, int]
    code_also: str = ""
    """What the guidelines code beside the built code and the record does not state."""


@dataclass(frozen=True, slots=True)
class Built:
    """A complete code and the facts each axis came from (for the line's rule)."""

    code: str
    facts: tuple[str, ...]
    cites: str
    code_also: str = ""


@dataclass(frozen=True, slots=True)
class Open:
    """The axes still open after reading the record, each with why."""

    pattern: str
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    coronary: Mapping[str, str]
    sources: Mapping[str, str]
    sides: Mapping[str, str]
    approaches: Mapping[str, str]
    stent_terms: Mapping[str, str]
    graft_terms: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Rules:
    tables: Mapping[str, PcsTable]
    words: _Vocabulary


def _table(raw: dict[str, Any]) -> PcsTable:
    pattern = str(raw["pattern"])
    axes = tuple(
        Axis(position, str(raw[key]["fact"]), dict(raw[key]["values"]))
        for key, position in _AXIS_KEYS.items()
        if key in raw
    )
    open_axes = {i for i, char in enumerate(pattern) if char == "."}
    if len(pattern) != len(AXES) or open_axes != {axis.position for axis in axes}:
        raise ValueError(f"pcs_axes.toml: {pattern} must fill exactly its open axes")
    return PcsTable(
        pattern,
        str(raw["what"]),
        str(raw["cites"]),
        axes,
        dict(raw.get("at_most", {})),
        str(raw.get("code_also", "")),
    )


@cache
def _rules() -> _Rules:
    """The shipped table, read once per process."""
    text = files("fhir_coder.coding").joinpath("pcs_axes.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    words = _Vocabulary(
        coronary=raw["coronary_arteries"],
        sources=raw["bypass_sources"],
        sides=raw["sides"],
        approaches=raw["approaches"],
        stent_terms=raw["stent_terms"],
        graft_terms=raw["graft_terms"],
    )
    tables = {table.pattern: table for table in map(_table, raw["table"])}
    return _Rules(tables, words)


def load_tables() -> Mapping[str, PcsTable]:
    """Every pattern the shipped table knows (for tests and the docs)."""
    return _rules().tables


def _words(coding: Coding) -> str:
    return f" {coding.display.lower()} "


# Each fact reads the record and answers (value, what was read) or (None, why not), and
# names the body sites it understood.
_Answer = tuple[str | None, str, frozenset[Coding]]


def _coronary(procedure: Procedure, words: _Vocabulary) -> _Answer:
    arteries = {
        site: words.coronary[site.code]
        for site in procedure.body_sites
        if site.code in words.coronary
    }
    if not arteries:
        return None, "the coronary arteries treated (Procedure.bodySite names none)", frozenset()
    count = len(set(arteries.values()))
    names = ", ".join(sorted(set(arteries.values())))
    said = f"{count} coronary {'artery' if count == 1 else 'arteries'} ({names})"
    return str(min(count, _FOUR_OR_MORE)), said, frozenset(arteries)


def _side(procedure: Procedure, words: _Vocabulary) -> _Answer:
    sides: set[str] = set()
    for site in procedure.body_sites:
        said = _words(site)
        if site.code in words.sides:
            sides.add(words.sides[site.code])
        elif " both " in said or " bilateral " in said:
            sides.add("bilateral")
        else:
            sides.update(side for side in ("left", "right") if f" {side} " in said)
    if sides == {"left", "right"}:
        sides = {"bilateral"}
    if len(sides) != 1:
        why = "states no side" if not sides else "states more than one side"
        return None, f"the side (Procedure.bodySite {why})", frozenset()
    side = sides.pop()
    return side, f"side {side}", frozenset(procedure.body_sites)


def _source(procedure: Procedure, words: _Vocabulary) -> _Answer:
    found: dict[Coding, str] = {}
    for site in procedure.body_sites:
        if site.code in words.sources:
            found[site] = words.sources[site.code]
            continue
        said = _words(site)
        for term, source in words.sources.items():
            if not term.isdigit() and f" {term}" in said:
                found[site] = source
                break
    sources = set(found.values())
    if len(sources) != 1:
        why = "names none" if not sources else "names several: one code each, B3.6c"
        return None, f"the vessel bypassed from (Procedure.bodySite {why})", frozenset()
    source = sources.pop()
    return source, f"bypassed from the {source}", frozenset(found)


def _approach(procedure: Procedure, words: _Vocabulary) -> _Answer:
    approaches = {words.approaches[m.code] for m in procedure.methods if m.code in words.approaches}
    if len(approaches) != 1:
        return None, "the approach (no procedure-method extension states it)", frozenset()
    approach = approaches.pop()
    return approach, f"{approach} approach", frozenset()


def _kind(device: ProcedureDevice, terms: Mapping[str, str]) -> str | None:
    said = " ".join([device.text, *(c.display for c in device.codings)]).lower()
    return next((kind for term, kind in terms.items() if term in said), None)


def _stents(procedure: Procedure, words: _Vocabulary) -> _Answer:
    remaining = [d for d in procedure.devices if d.focal and not d.removed]
    if not remaining:
        return None, "the stents left in place (no focalDevice states one)", frozenset()
    kinds = [_kind(device, words.stent_terms) for device in remaining]
    if None in kinds:
        return (
            None,
            "the kind of every device left in place (drug-eluting or bare-metal)",
            frozenset(),
        )
    counted = Counter(kinds)
    if len(counted) != 1:
        return None, "one kind of stent (B4.4: different devices are coded separately)", frozenset()
    kind, count = counted.popitem()
    return f"{kind} {min(count, _FOUR_OR_MORE)}", f"{count} {kind} stent(s)", frozenset()


def _graft(procedure: Procedure, words: _Vocabulary) -> _Answer:
    kinds = {_kind(device, words.graft_terms) for device in procedure.devices if not device.removed}
    kinds.discard(None)
    if len(kinds) != 1:
        why = "states none" if not kinds else "states several kinds: one code each, B3.6c"
        return None, f"the graft (focalDevice or usedCode {why})", frozenset()
    kind = str(kinds.pop())
    return kind, f"{kind} graft", frozenset()


_FACTS: Final[dict[str, Callable[[Procedure, _Vocabulary], _Answer]]] = {
    "coronary-arteries": _coronary,
    "side": _side,
    "bypass-source": _source,
    "approach": _approach,
    "stents": _stents,
    "graft": _graft,
}


def build_pcs(pattern: str, procedure: Procedure) -> Built | Open | None:
    """The code ``procedure`` states for ``pattern``; what is still open; None if unknown.

    None when the table has no rule for the pattern (the coder's task stays as it was).
    """
    rules = _rules()
    table = rules.tables.get(pattern)
    if table is None:
        return None
    code = list(pattern)
    facts: list[str] = []
    missing: list[str] = []
    understood: set[Coding] = set()
    for axis in table.axes:
        answer, said, sites = _FACTS[axis.fact](procedure, rules.words)
        understood |= sites
        value = axis.values.get(answer) if answer is not None else None
        if answer is None:
            missing.append(f"{AXES[axis.position]}: {said}")
        elif value is None:
            missing.append(f"{AXES[axis.position]}: {said} has no value in this table")
        else:
            code[axis.position] = value
            facts.append(f"{AXES[axis.position]} {value} ({said})")
    for fact, limit in table.at_most.items():
        answer, said, _ = _FACTS[fact](procedure, rules.words)
        if answer is not None and answer.isdigit() and int(answer) > limit:
            missing.append(f"which device went into which artery ({said}; B4.4)")
    strange = [site for site in procedure.body_sites if site not in understood]
    if strange and not missing:
        names = ", ".join(f"{s.code} {s.display}".strip() for s in strange)
        missing.append(f"body part: Procedure.bodySite {names} is not one this table reads")
    if missing:
        return Open(pattern, tuple(missing))
    return Built("".join(code), tuple(facts), table.cites, table.code_also)
