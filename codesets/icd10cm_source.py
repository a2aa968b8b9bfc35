"""Read the ICD-10-CM tabular and code list shipped in ``simple-icd-10-cm``, without importing it.

Importing ``simple_icd_10_cm`` parses its 10 MB XML into module globals (~1.9 s), which
no command should pay at start-up. This module reads the same two data files directly,
once, when the compiled index is built (:mod:`codesets.icd10cm_index`), and turns them
into plain records: the hierarchy, descriptions, instructional notes and the
7th-character codes, which the XML does not list but defines through ``sevenChrDef``.

Codes are dotless upper case throughout (``S72001A``), the form CMS files and the
grouper use. Block ranges (``A00-A09``) and chapter numbers in the code list are not
codes and are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from codesets.distributions import distribution_version, package_dir
from codesets.icd10cm_notes import NOTES_FORMAT, Notes

__all__ = [
    "NOTE_KINDS",
    "SOURCE_DISTRIBUTION",
    "CodeRecord",
    "Grouping",
    "SourceFiles",
    "Tabular",
    "find_source_files",
    "notes_payload",
    "read_tabular",
]

SOURCE_DISTRIBUTION: Final = "simple-icd-10-cm"
"""The distribution the tabular and code list are read from (its version keys the caches)."""

_PACKAGE: Final = "simple_icd_10_cm"

NOTE_KINDS: Final[dict[str, str]] = {
    "inclusionTerm": "inclusion_term",
    "includes": "includes",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
    "sevenChrNote": "seventh_character_note",
}
"""XML element -> note kind, for every instructional note the tabular carries."""

_CODE_SHAPE: Final = re.compile(r"[A-Z][0-9A-Z][0-9A-Z][0-9A-Z]{0,4}")
"""Wider than the usual letter-digit start: FY2026 added category ``QA0``."""


@dataclass(frozen=True, slots=True)
class SourceFiles:
    """Where the two data files are, and which package release they came from."""

    tabular: Path
    code_list: Path
    version: str


@dataclass(slots=True)
class CodeRecord:
    """One ICD-10-CM code as the tabular defines it.

    ``notes`` holds only the code's own notes (kind -> texts); notes of its ancestors
    apply too and are gathered by whoever reads them. ``seventh`` is the code's own
    ``sevenChrDef`` as ``(character, meaning)`` pairs. ``generated`` marks the
    7th-character codes made from an ancestor's definition.
    """

    code: str
    description: str
    parent: str | None
    section: str
    children: list[str] = field(default_factory=list)
    notes: Notes | None = None
    seventh: tuple[tuple[str, str], ...] = ()
    generated: bool = False

    @property
    def billable(self) -> bool:
        """A code is billable when nothing in the full code list sits below it."""
        return not self.children


@dataclass(frozen=True, slots=True)
class Grouping:
    """A chapter (key ``"4"``) or a section (key ``"E08-E13"``) and its notes."""

    key: str
    description: str
    parent: str | None
    notes: Notes | None


@dataclass(slots=True)
class Tabular:
    """The whole classification: codes in tabular order, and chapters and sections."""

    codes: dict[str, CodeRecord]
    groupings: dict[str, Grouping]
    files: SourceFiles
    unresolved: list[str] = field(default_factory=list)
    """Code-list entries that no tabular entry or 7th-character definition explains."""


def find_source_files() -> SourceFiles:
    """Locate the data files of the installed ``simple-icd-10-cm`` without importing it."""
    data = package_dir(_PACKAGE) / "data"
    tabular = sorted(data.glob("icd10c*-tabular-*.xml"))
    code_list = sorted(data.glob("code-list-*.txt"))
    if not tabular or not code_list:
        raise FileNotFoundError(f"no ICD-10-CM tabular XML or code list in {data}")
    return SourceFiles(
        tabular=tabular[-1],
        code_list=code_list[-1],
        version=distribution_version(SOURCE_DISTRIBUTION, _PACKAGE),
    )


def read_tabular(files: SourceFiles | None = None) -> Tabular:
    """Parse the tabular XML and the code list into :class:`Tabular`."""
    files = files or find_source_files()
    root = ET.parse(files.tabular).getroot()  # noqa: S314 - a file of an installed package
    codes: dict[str, CodeRecord] = {}
    groupings: dict[str, Grouping] = {}
    for chapter in root.iterfind("chapter"):
        key = _text(chapter.find("name"))
        groupings[key] = Grouping(key, _text(chapter.find("desc")), None, _notes(chapter))
        for section in chapter.iterfind("section"):
            section_key = section.get("id", "")
            groupings[section_key] = Grouping(
                section_key, _text(section.find("desc")), key, _notes(section)
            )
            for diag in section.iterfind("diag"):
                _add_diag(diag, None, section_key, codes)
    tabular = Tabular(codes=codes, groupings=groupings, files=files)
    _add_seventh_character_codes(tabular, _read_code_list(files.code_list))
    return tabular


def _add_diag(
    diag: ET.Element, parent: str | None, section: str, codes: dict[str, CodeRecord]
) -> None:
    """Add ``diag`` and, recursively, the diags nested in it (tabular order is kept).

    One pass over the element's children: path queries per note kind made the
    whole read several times slower.
    """
    record = CodeRecord(code="", description="", parent=parent, section=section)
    nested: list[ET.Element] = []
    notes: Notes = {}
    for child in diag:
        tag = child.tag
        if tag == "name":
            record.code = _text(child).replace(".", "")
        elif tag == "desc":
            record.description = _text(child)
        elif tag == "diag":
            nested.append(child)
        elif tag == "sevenChrDef":
            record.seventh = tuple(
                (ext.get("char", ""), _text(ext)) for ext in child.iterfind("extension")
            )
        elif tag in NOTE_KINDS:
            notes[NOTE_KINDS[tag]] = tuple(_text(note) for note in child.iterfind("note"))
    record.notes = notes or None
    codes[record.code] = record
    if parent is not None:
        codes[parent].children.append(record.code)
    for child in nested:
        _add_diag(child, record.code, section, codes)


def _read_code_list(path: Path) -> list[str]:
    """Every code of the code list, in file order, without block ranges or chapter numbers."""
    seen: set[str] = set()
    out: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            code = line.strip()
            if code not in seen and _CODE_SHAPE.fullmatch(code):
                seen.add(code)
                out.append(code)
    return out


def _add_seventh_character_codes(tabular: Tabular, code_list: list[str]) -> None:
    """Add the code-list entries the XML does not name: the 7th-character codes.

    ``S72001A`` comes from ``S72.001`` and the ``sevenChrDef`` of ``S72``; a short code
    is padded with the placeholder ``X`` (``T360X1A`` from ``T36.0X1``, ``S0000XA``
    from ``S00.00``), so the base is found by dropping the 7th character and then any
    trailing ``X``. Its description is the base's, then the meaning of the character.
    """
    codes = tabular.codes
    for code in code_list:
        if code in codes:
            continue
        base = code[:6].rstrip("X") if len(code) == 7 else ""
        meaning = _seventh_meaning(codes, base, code[-1]) if base in codes else None
        if meaning is None:
            tabular.unresolved.append(code)
            continue
        record = codes[base]
        codes[code] = CodeRecord(
            code=code,
            description=f"{record.description}, {meaning}",
            parent=base,
            section=record.section,
            generated=True,
        )
        record.children.append(code)


def _seventh_meaning(codes: dict[str, CodeRecord], base: str, char: str) -> str | None:
    """The meaning of 7th character ``char`` from the nearest ``sevenChrDef`` above ``base``."""
    current: str | None = base
    while current is not None:
        record = codes[current]
        if record.seventh:
            return dict(record.seventh).get(char)
        current = record.parent
    return None


def _notes(element: ET.Element) -> Notes | None:
    """The instructional notes directly under ``element``, by kind; None when it has none."""
    found: Notes = {}
    for tag, kind in NOTE_KINDS.items():
        texts = tuple(_text(note) for note in element.iterfind(f"{tag}/note"))
        if texts:
            found[kind] = texts
    return found or None


def _text(element: ET.Element | None) -> str:
    """The element's text with runs of blanks folded (the XML indents some of it)."""
    if element is None or element.text is None:
        return ""
    return " ".join(element.text.split())


def notes_payload(tabular: Tabular, key: str) -> dict[str, object]:
    """The notes file's content for a freshly read tabular."""
    return {
        "format": NOTES_FORMAT,
        "key": key,
        "codes": {code: r.notes for code, r in tabular.codes.items() if r.notes},
        "seventh": {code: r.seventh for code, r in tabular.codes.items() if r.seventh},
        "sections": {code: r.section for code, r in tabular.codes.items() if r.parent is None},
        "groupings": {
            key: (g.description, g.parent, g.notes) for key, g in tabular.groupings.items()
        },
    }
