"""Service-line edits: NCCI procedure-to-procedure pairs, MUE units, modifiers, code shape.

The NCCI and MUE tables come through :class:`fhir_coder.ports.ProcedureEditPort` (the CMS
files an organisation loads). Pairs are checked per date of service; a pair whose modifier
indicator is 1 is allowed (and the finding says so as information) when one of its two lines
carries a global-surgery or other NCCI-associated modifier (59, XE, XS, XP, XU, 24, 25, 27,
57, 58, 78, 79, 91), or when both lines carry anatomic modifiers naming different sites
(29881-RT with 29880-LT; not 29881-RT with 29880-RT, the same knee). CMS asks for the
modifier on the column-2 code in most cases, but its edit logic, like most payers', honours
it on either code of the pair; a modifier on a third line never counts. MUEs are checked
per line (adjudication 1) or per code and date of service (2 and 3).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Final

from fhir_coder.edits import ANATOMIC_MODIFIERS, MODIFIER_BYPASSES, SIDE_MODIFIERS
from fhir_coder.outcome import Issue
from fhir_coder.ports import ProcedureEditPort, Setting
from fhir_coder.systems import CPT, HCPCS
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import ClaimForm, ItemEntry

__all__ = ["MAX_MODIFIERS", "modifier_edits", "procedure_edits"]

MAX_MODIFIERS: Final = 4
_SHAPES: Final = {
    CPT: re.compile(r"[0-9]{4}[0-9FTU]"),
    HCPCS: re.compile(r"[A-V][0-9]{4}|[0-9]{4}[0-9FTU]"),  # Level II, or Level I (CPT)
}
_MODIFIER: Final = re.compile(r"[0-9A-Z]{2}")
_SUGGESTED: Final = "59 (or XE, XS, XP, XU)"
_SITE_BLIND_BYPASSES: Final = MODIFIER_BYPASSES - ANATOMIC_MODIFIERS


def _sites(line: ItemEntry) -> frozenset[str]:
    return frozenset(line.modifiers) & ANATOMIC_MODIFIERS


def _different_sites(first: frozenset[str], second: frozenset[str]) -> bool:
    """Whether two lines' anatomic modifiers name different sites.

    Both lines must name a site, and no site may be on both. When both name an eyelid, digit
    or coronary artery, those are compared and a shared LT/RT is ignored (TA-LT with T1-LT
    are two toes of the left foot).
    """
    if not first or not second:
        return False
    narrow_first, narrow_second = first - SIDE_MODIFIERS, second - SIDE_MODIFIERS
    if narrow_first and narrow_second:
        return narrow_first.isdisjoint(narrow_second)
    return first.isdisjoint(second)


def _bypassing(column1: ItemEntry, column2: ItemEntry) -> tuple[list[str], str]:
    """The modifiers that bypass a PTP edit of indicator 1, and a note when sites are shared."""
    modifiers = {*column1.modifiers, *column2.modifiers}
    if not modifiers:  # the usual case: nothing to look at
        return [], ""
    found = modifiers & _SITE_BLIND_BYPASSES
    if modifiers.isdisjoint(ANATOMIC_MODIFIERS):
        return sorted(found), ""
    first, second = _sites(column1), _sites(column2)
    if _different_sites(first, second):
        return sorted(found | first | second), ""
    shared = sorted(first & second)
    note = (
        f"; anatomic modifier {', '.join(shared)} on both lines names the same site"
        if shared
        else ""
    )
    return sorted(found), note


def _billable_lines(claim: ClaimForm) -> list[ItemEntry]:
    return [item for item in claim.items if item.system in _SHAPES and item.code]


def procedure_edits(
    claim: ClaimForm, edits: ProcedureEditPort | None, on: date | None
) -> list[Issue]:
    """Code shape, NCCI PTP and MUE findings for the claim's CPT/HCPCS lines."""
    found: list[Issue] = []
    lines: list[ItemEntry] = []
    for item in claim.items:
        if not item.code:
            continue
        shape = _SHAPES.get(item.system)
        if shape is None:
            found.append(
                finding(
                    "CODE-NOT-CHECKED",
                    f"item {item.sequence} ({item.code}) is coded in "
                    f"{item.system or 'no stated system'}: not checked against CPT/HCPCS edits",
                    item.expression,
                )
            )
        elif not shape.fullmatch(item.code):
            found.append(
                finding(
                    "PROCEDURE-CODE-SHAPE",
                    f"item {item.sequence}: {item.code!r} is not shaped like a "
                    f"{'CPT' if item.system == CPT else 'HCPCS'} code",
                    item.expression,
                )
            )
        else:
            lines.append(item)
    if not lines:
        return found
    if edits is None:
        found.append(
            finding(
                "NCCI-NOT-LOADED",
                "no NCCI or MUE tables are loaded: procedure pairs and units were not checked",
                "Claim.item",
                fix="configure the CMS NCCI PTP and MUE files",
            )
        )
        return found
    setting: Setting = "hospital" if claim.institutional else "practitioner"
    by_day: dict[date | None, list[ItemEntry]] = defaultdict(list)
    for item in lines:
        by_day[item.serviced or on].append(item)
    for day, items in by_day.items():
        if day is None:
            continue
        found.extend(_pairs(items, edits, day, setting))
        found.extend(_units(items, edits, day, setting))
    return found


def _pairs(
    items: list[ItemEntry], edits: ProcedureEditPort, day: date, setting: Setting
) -> list[Issue]:
    found: list[Issue] = []
    for first_position, first in enumerate(items):
        for second in items[first_position + 1 :]:
            if first.code == second.code:
                continue
            for column1, column2 in ((first, second), (second, first)):
                edit = edits.ptp_edit(column1.code, column2.code, day, setting)
                if edit is None or edit.modifier_indicator == "9":
                    continue
                bypass, same_site = (
                    _bypassing(column1, column2) if edit.modifier_indicator == "1" else ([], "")
                )
                pair = (
                    f"item {column2.sequence} ({column2.code}) is bundled into "
                    f"item {column1.sequence} ({column1.code}) on {day.isoformat()}"
                )
                if bypass:
                    found.append(
                        finding(
                            "NCCI-PTP-BYPASSED",
                            f"NCCI: {pair}; allowed by modifier {', '.join(bypass)}",
                            column2.expression,
                        )
                    )
                    continue
                fix = (
                    f"if the service was distinct, append {_SUGGESTED} to item "
                    f"{column2.sequence}; otherwise remove it"
                    if edit.modifier_indicator == "1"
                    else f"remove item {column2.sequence}: no modifier bypasses this edit"
                )
                found.append(
                    finding(
                        "NCCI-PTP",
                        f"NCCI: {pair} (modifier indicator {edit.modifier_indicator}"
                        f"{'; ' + edit.rationale if edit.rationale else ''}){same_site}",
                        column2.expression,
                        fix=fix,
                    )
                )
    return found


def _units(
    items: list[ItemEntry], edits: ProcedureEditPort, day: date, setting: Setting
) -> list[Issue]:
    found: list[Issue] = []
    by_code: dict[str, list[ItemEntry]] = defaultdict(list)
    for item in items:
        by_code[item.code].append(item)
    for code, same in by_code.items():
        limit = edits.mue(code, day, setting)
        if limit is None:
            continue
        if limit.adjudication == 1:
            found.extend(
                finding(
                    "MUE-UNITS",
                    f"item {item.sequence} ({code}) bills {item.units:g} units; "
                    f"the MUE allows {limit.limit} per line",
                    f"Claim.item[{item.index}].quantity",
                    fix=f"bill at most {limit.limit} units on the line",
                )
                for item in same
                if item.units > limit.limit
            )
            continue
        total = sum(item.units for item in same)
        if total > limit.limit:
            found.append(
                finding(
                    "MUE-UNITS-DOS",
                    f"{code} is billed {total:g} units on {day.isoformat()} over items "
                    f"{', '.join(str(item.sequence) for item in same)}; the MUE allows "
                    f"{limit.limit} per date of service",
                    *(f"Claim.item[{item.index}].quantity" for item in same),
                    fix=f"bill at most {limit.limit} units of {code} on the date",
                )
            )
    return found


def modifier_edits(claim: ClaimForm) -> list[Issue]:
    """Each modifier two letters or digits, none twice on a line, at most four per line."""
    found: list[Issue] = []
    for item in claim.items:
        seen: set[str] = set()
        for position, modifier in enumerate(item.modifiers):
            where = f"Claim.item[{item.index}].modifier[{position}]"
            if not _MODIFIER.fullmatch(modifier):
                found.append(
                    finding(
                        "MODIFIER-INVALID",
                        f"item {item.sequence}: modifier {modifier!r} is not two letters or digits",
                        where,
                    )
                )
            elif modifier in seen:
                found.append(
                    finding(
                        "MODIFIER-DUPLICATE",
                        f"item {item.sequence}: modifier {modifier} appears twice",
                        where,
                        fix="remove the repeated modifier",
                    )
                )
            seen.add(modifier)
        if len(item.modifiers) > MAX_MODIFIERS:
            found.append(
                finding(
                    "MODIFIER-TOO-MANY",
                    f"item {item.sequence} carries {len(item.modifiers)} modifiers; "
                    f"a line takes at most {MAX_MODIFIERS}",
                    f"Claim.item[{item.index}].modifier",
                )
            )
    return found
