"""Service-line edits: code validity and shape, NCCI pairs, MUE units, modifiers.

CPT and HCPCS codes are checked through :class:`fhir_coder.ports.CodeSetPort`, the port the
coding engine checks them through (``codesets``: HCPCS Level II from CMS's file, CPT from
the organisation's licensed file, each only when configured): a code the set does not hold
on the date of service is ``PROCEDURE-CODE-INVALID``; a system with no file loaded is said
once per claim (``CODE-NOT-CHECKED``, information), never passed. Modifiers other than the
two-digit (Level I, CPT) ones are checked against the HCPCS file's modifiers through
:class:`fhir_coder.ports.ServiceCodesPort` when it is loaded (``MODIFIER-UNKNOWN``), else for
their shape only.

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
from fhir_coder.errors import CodeSetError, ReleaseNotAvailableError, UnknownCodeSystemError
from fhir_coder.outcome import Issue
from fhir_coder.ports import CodeSetPort, ProcedureEditPort, ServiceCodesPort, Setting
from fhir_coder.systems import CPT, HCPCS
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import ClaimForm, ItemEntry

__all__ = ["MAX_MODIFIERS", "modifier_edits", "procedure_edits"]

_NAMES: Final = {CPT: "CPT", HCPCS: "HCPCS Level II"}
_NOT_LOADED: Final = {
    CPT: "no licensed CPT file is configured",
    HCPCS: "no HCPCS file is configured",
}
_LOAD: Final = {
    CPT: "configure the organisation's licensed CPT file",
    HCPCS: "configure CMS's HCPCS file",
}

MAX_MODIFIERS: Final = 4
_LEVEL_ONE: Final = re.compile(r"[0-9]{4}[0-9FTU]")  # CPT
_SHAPES: Final = {
    CPT: _LEVEL_ONE,
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
    claim: ClaimForm,
    edits: ProcedureEditPort | None,
    on: date | None,
    codesets: CodeSetPort | None = None,
    service_codes: ServiceCodesPort | None = None,
) -> list[Issue]:
    """Code shape and validity, NCCI PTP and MUE findings for the claim's CPT/HCPCS lines."""
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
    found.extend(_validity(lines, codesets, service_codes, on))
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


def _validity(
    lines: list[ItemEntry],
    codesets: CodeSetPort | None,
    service_codes: ServiceCodesPort | None,
    on: date | None,
) -> list[Issue]:
    """Each well-shaped CPT/HCPCS line in the code set on its date; unloaded sets said once.

    ``service_codes`` says up front which files are loaded (no lookup of a set that is not);
    without it the code set's ``UnknownCodeSystemError`` says so.
    """
    found: list[Issue] = []
    unchecked: dict[str, list[ItemEntry]] = {}
    for item in lines:
        day = item.serviced or on
        if day is None:
            continue  # DATE-OF-SERVICE-MISSING is reported once for the claim
        # A CPT-shaped code sent as HCPCS is Level I: CPT (the code sets read it so too).
        system = CPT if item.system == CPT or _LEVEL_ONE.fullmatch(item.code) else HCPCS
        if (
            codesets is None
            or system in unchecked
            or (service_codes is not None and not service_codes.loaded(system))
        ):
            unchecked.setdefault(system, []).append(item)
            continue
        try:
            info = codesets.lookup(system, item.code, day)
        except UnknownCodeSystemError:
            unchecked[system] = [item]
            continue
        except CodeSetError as exc:
            found.append(_not_checked(item, exc))
            continue
        if not (info.valid and info.billable):
            found.append(
                finding(
                    "PROCEDURE-CODE-INVALID",
                    f"item {item.sequence}: {item.code} is not a valid {_NAMES[system]} code "
                    f"on {day.isoformat()} ({info.release})",
                    item.expression,
                    fix="use a code in force on the date of service",
                )
            )
    for system, items in unchecked.items():
        why = "no code set is loaded" if codesets is None else _NOT_LOADED[system]
        if len(items) == 1:
            listed = f"item {items[0].sequence} ({items[0].code})"
        else:
            listed = "items " + ", ".join(f"{item.sequence} ({item.code})" for item in items)
        found.append(
            finding(
                "CODE-NOT-CHECKED",
                f"{_NAMES[system]} codes were not checked for validity ({listed}): {why}",
                *[item.expression for item in items],
                fix=_LOAD[system],
            )
        )
    return found


def _not_checked(item: ItemEntry, exc: CodeSetError) -> Issue:
    """A line the code set could not answer for: no release for its date, or another reason."""
    if isinstance(exc, ReleaseNotAvailableError):
        return finding(
            "CODE-DATE-NOT-COVERED",
            f"item {item.sequence} ({item.code}) could not be checked: {exc}",
            item.expression,
        )
    return finding("CODE-NOT-CHECKED", f"item {item.sequence}: {exc}", item.expression)


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


def modifier_edits(
    claim: ClaimForm, modifiers: ServiceCodesPort | None = None, on: date | None = None
) -> list[Issue]:
    """Each modifier two letters or digits, none twice on a line, at most four per line.

    With ``modifiers`` saying the HCPCS file is loaded, each Level II modifier must be in it
    on the line's date (``MODIFIER-UNKNOWN``); two-digit (Level I, CPT) modifiers are not in
    that file and are checked for their shape only, as every modifier is without the file.
    """
    found: list[Issue] = []
    level_two: list[tuple[ItemEntry, int, str]] = []
    for item in claim.items:
        if item.modifiers:
            found.extend(_line_modifiers(item, level_two))
    if level_two:
        found.extend(_level_two(level_two, modifiers, on))
    return found


def _line_modifiers(item: ItemEntry, level_two: list[tuple[ItemEntry, int, str]]) -> list[Issue]:
    """Shape, repeats and count of one line's modifiers; Level II ones added to ``level_two``."""
    found: list[Issue] = []
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
        elif not modifier.isdigit():
            level_two.append((item, position, modifier))
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


def _level_two(
    level_two: list[tuple[ItemEntry, int, str]], modifiers: ServiceCodesPort | None, on: date | None
) -> list[Issue]:
    """Level II modifiers against the HCPCS file; none without it (their shape was checked)."""
    if modifiers is None or not modifiers.loaded(HCPCS):
        return []
    found: list[Issue] = []
    for item, position, modifier in level_two:
        day = item.serviced or on
        if day is None:
            continue  # DATE-OF-SERVICE-MISSING is reported once for the claim
        try:
            info = modifiers.modifier(modifier, day)
        except UnknownCodeSystemError:  # the file went away: shape only, as without one
            return found
        if not info.valid:
            found.append(
                finding(
                    "MODIFIER-UNKNOWN",
                    f"item {item.sequence}: modifier {modifier} is not a HCPCS modifier on "
                    f"{day.isoformat()} ({info.release})",
                    f"Claim.item[{item.index}].modifier[{position}]",
                    fix="use a modifier in force on the date of service",
                )
            )
    return found
