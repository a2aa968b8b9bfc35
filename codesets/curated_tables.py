"""The curated crosswalk's tables: one tab-separated file per source and target system.

A table is what an auditor reads: one row per concept and target, with the rule or the
assumption it rests on beside it. Its head names the systems:

.. code-block:: text

    # title: fhir-coder curated SNOMED CT to ICD-10-CM (conditions)
    # version: 2026.12
    # source: http://snomed.info/sct
    # target: http://hl7.org/fhir/sid/icd-10-cm
    code<TAB>display<TAB>target<TAB>equivalence<TAB>when<TAB>group<TAB>basis

``equivalence`` is an R4 ConceptMap equivalence (``equivalent``, ``wider``, ``narrower``,
``inexact``...) for a row with a ``target``, or one of the two answers of a row without one:
``not-reported`` (the concept is never reported in the target system: the reason is a
note, not a coder's task) or ``needs-coder`` (what is missing is said in ``basis``). An
ICD-10-PCS ``needs-coder`` row may name what the concept does fix as a pattern, ``.`` for
each axis the documentation decides (``B24....``): the stay's reporting policy reads its
class (:mod:`fhir_coder.coding.pcs_reporting`) and the coder where to look.
``when`` holds conditions on the patient, ``;``-separated (``sex=female``, ``age<18``), or
``payer=medicare`` for Medicare's own code (its screening G-codes: the engine decides from
the encounter's Coverage type, never from the payer's name), and ``setting=primary-care`` for
a code its payer covers only in a primary care setting (Medicare's NCDs 210.6, 210.8, 210.9,
210.13 exclude emergency departments, inpatient and other settings: the engine decides from
the encounter's class, and elsewhere the row for every payer answers);
``group`` the map group (targets of different groups are coded together). ``basis`` is
required on every row: the Index entry or Tabular note, or the assumption a person must
confirm. ``display`` is the source concept's term; target descriptions come from the code
set (CPT descriptors are the AMA's and are never written here).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from codesets.map_target import AGE, ANSWERS, PAYER, SETTING, SEX, MapTarget
from fhir_coder.errors import ConfigurationError
from fhir_coder.systems import ICD10CM, ICD10PCS, canonical_system

__all__ = ["CuratedRow", "CuratedTable", "read_table"]

_COLUMNS: Final = ("code", "display", "target", "equivalence", "when", "group", "basis")
_EQUIVALENCES: Final = frozenset(
    {"equivalent", "equal", "wider", "subsumes", "narrower", "specializes", "inexact"}
)
_HEAD_KEYS: Final = frozenset({"title", "version", "source", "target"})
_PCS_PATTERN: Final = re.compile(r"[0-9A-HJ-NP-Z][0-9A-HJ-NP-Z.]{6}(?<![0-9A-HJ-NP-Z]{7})")
"""An ICD-10-PCS section and the other axes known, ``.`` for each one open (at least one)."""


@dataclass(frozen=True, slots=True)
class CuratedRow:
    """One row: the source concept, its line in the file and the target it gives."""

    code: str
    display: str
    target_system: str
    target: MapTarget
    line: int


@dataclass(frozen=True, slots=True)
class CuratedTable:
    """A whole table: its systems, its title and version, and its rows in file order."""

    path: Path
    title: str
    source_system: str
    target_system: str
    rows: tuple[CuratedRow, ...]


def read_table(path: Path) -> CuratedTable:
    """Read one curated table; anything not in the documented form is a ConfigurationError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the curated table {path}: {exc}") from exc
    head: dict[str, str] = {}
    body: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        if text.startswith("#"):
            key, sep, value = text[1:].partition(":")
            if sep and key.strip() in _HEAD_KEYS:
                head[key.strip()] = value.strip()
        elif text.strip():
            body.append((number, text))
    missing = sorted(_HEAD_KEYS - head.keys())
    if missing:
        raise ConfigurationError(f"{path}: the head does not name {', '.join(missing)}")
    if not body or tuple(body[0][1].split("\t")) != _COLUMNS:
        raise ConfigurationError(f"{path}: the first row must be the columns {'|'.join(_COLUMNS)}")
    source_system = canonical_system(head["source"])
    target_system = canonical_system(head["target"])
    rows = tuple(
        _row(path, number, cells, target_system)
        for number, cells in zip(
            (number for number, _ in body[1:]),
            csv.reader((text for _, text in body[1:]), delimiter="\t", quoting=csv.QUOTE_NONE),
            strict=True,
        )
    )
    return CuratedTable(
        path=path,
        title=f"{head['title']} {head['version']}",
        source_system=source_system,
        target_system=target_system,
        rows=rows,
    )


def _row(path: Path, number: int, cells: list[str], target_system: str) -> CuratedRow:
    where = f"{path}:{number}"
    if len(cells) != len(_COLUMNS):
        raise ConfigurationError(f"{where}: {len(cells)} cells, the table has {len(_COLUMNS)}")
    code, display, target, equivalence, when, group, basis = (cell.strip() for cell in cells)
    if not code or not basis:
        raise ConfigurationError(f"{where}: every row needs a code and the basis it rests on")
    if target_system == ICD10CM:
        target = target.replace(".", "").upper()
    if equivalence in ANSWERS:
        if target and not (
            equivalence == "needs-coder"
            and target_system == ICD10PCS
            and _PCS_PATTERN.fullmatch(target)
        ):
            raise ConfigurationError(
                f"{where}: a {equivalence} row has no target (an ICD-10-PCS needs-coder row "
                "may name the axes it knows, '.' for the others: B24....)"
            )
        equivalence, answer = "unmatched", equivalence
    elif equivalence in _EQUIVALENCES:
        if not target:
            raise ConfigurationError(f"{where}: an {equivalence} row needs its target")
        answer = "needs-coder"
    else:
        raise ConfigurationError(f"{where}: unknown equivalence {equivalence!r}")
    try:
        map_group = int(group) if group else 1
    except ValueError as exc:
        raise ConfigurationError(f"{where}: the group {group!r} is not a number") from exc
    return CuratedRow(
        code=code,
        display=display,
        target_system=target_system,
        target=MapTarget(
            system=target_system,
            code=target,
            display="",
            equivalence=equivalence,
            comment=basis,
            conditions=tuple(_condition(where, part) for part in when.split(";") if part.strip()),
            map_group=map_group,
            answer=answer,
        ),
        line=number,
    )


def _condition(where: str, text: str) -> tuple[str, str]:
    """``sex=female`` or ``age<18`` as a ``dependsOn`` (property, value) pair."""
    text = text.strip()
    if text.startswith("sex="):
        value = text.removeprefix("sex=").strip().lower()
        if value in ("female", "male"):
            return (SEX, value)
    elif text.startswith("age") and text[3:4] in "<>=":
        return (AGE, text.removeprefix("age").strip())
    elif text == "payer=medicare":
        return (PAYER, "medicare")
    elif text == "setting=primary-care":
        return (SETTING, "primary-care")
    raise ConfigurationError(
        f"{where}: the condition {text!r} is not sex=..., age<, >, = ..., payer=medicare or "
        "setting=primary-care"
    )
