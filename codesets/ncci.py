"""NCCI procedure-to-procedure edits and MUEs from the CMS files, configured by folder.

Implements :class:`fhir_coder.ports.ProcedureEditPort`. CMS publishes both quarterly, for
practitioner (professional) and for outpatient hospital claims; which table a file
belongs to is read from its name (``ccipra`` / ``practitioner`` -> practitioner,
``ccioph`` / ``hospital`` / ``facility`` -> hospital), or from a folder so named.

PTP files (``ccipra-v321r0-f1.txt``...), tab-separated text or CSV, after a few lines of
heading that are skipped; one edit a row::

    Column 1 | Column 2 | * = in existence prior to 1996 | Effective Date (CCYYMMDD)
    | Deletion Date (CCYYMMDD, * = none) | Modifier (0 not allowed, 1 allowed,
    9 not applicable) | PTP Edit Rationale

An edit is in force from its effective date through its deletion date (CMS writes the
last day, a quarter's end). A pair may have several rows over the years.

MUE files (``MCR_MUE_PractitionerServices_Eff_2026-01-01.csv``...), CSV or tab-separated,
heading lines skipped::

    HCPCS/CPT Code | MUE Values | MUE Adjudication Indicator ("2 Date of Service Edit:
    Policy") | MUE Rationale

A file's effective date is read from its name (``Eff_YYYY-MM-DD``, or ``YYYYMMDD``); for a
date of service the latest file in force is used; a file with no date applies to all.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final, Literal, cast

from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import MueLimit, PtpEdit, Setting

__all__ = ["MUE_DIR_ENV", "PTP_DIR_ENV", "NcciEdits", "setting_of"]

PTP_DIR_ENV: Final = "FHIR_CODER_NCCI_PTP_DIR"
MUE_DIR_ENV: Final = "FHIR_CODER_MUE_DIR"

_CODE: Final = re.compile(r"[0-9A-Z]{4}[0-9A-Z]")
_DATE_IN_NAME: Final = re.compile(r"(20\d\d)-?(\d\d)-?(\d\d)")
_PRACTITIONER: Final = ("ccipra", "practitioner", "pra-")
_HOSPITAL: Final = ("ccioph", "hospital", "facility", "oph-")
_SUFFIXES: Final = (".txt", ".csv", ".tsv")


def setting_of(path: Path) -> Setting:
    """Which table ``path`` belongs to, from its name or its folder's."""
    name = str(path).lower()
    if any(mark in path.name.lower() for mark in _HOSPITAL):
        return "hospital"
    if any(mark in path.name.lower() for mark in _PRACTITIONER):
        return "practitioner"
    if "hospital" in name or "facility" in name:
        return "hospital"
    if "practitioner" in name:
        return "practitioner"
    raise ConfigurationError(
        f"cannot tell whether {path} holds practitioner or hospital edits: name it as CMS "
        "does (ccipra/ccioph, PractitionerServices/OutpatientHospitalServices) or put it in a "
        "folder named practitioner or hospital"
    )


@dataclass(slots=True)
class _MueTable:
    effective: date | None
    limits: dict[str, MueLimit] = field(default_factory=dict)


class NcciEdits:
    """PTP edits and MUEs loaded from CMS files; either folder may be absent."""

    def __init__(
        self, *, ptp_dir: Path | str | None = None, mue_dir: Path | str | None = None
    ) -> None:
        self._ptp: dict[tuple[str, str, Setting], list[PtpEdit]] = {}
        self._mue: dict[Setting, list[_MueTable]] = {"practitioner": [], "hospital": []}
        self.sources: list[str] = []
        if ptp_dir is not None:
            for path in _files(Path(ptp_dir), "NCCI PTP"):
                self._read_ptp(path, setting_of(path))
        if mue_dir is not None:
            for path in _files(Path(mue_dir), "MUE"):
                self._read_mue(path, setting_of(path))
        for tables in self._mue.values():
            tables.sort(key=lambda table: table.effective or date.min)

    @property
    def ptp_count(self) -> int:
        """Number of PTP edit rows loaded."""
        return sum(len(rows) for rows in self._ptp.values())

    @property
    def mue_count(self) -> int:
        """Number of MUE rows loaded (all files)."""
        return sum(len(t.limits) for tables in self._mue.values() for t in tables)

    def ptp_edit(self, column1: str, column2: str, on: date, setting: Setting) -> PtpEdit | None:
        """The edit in force on ``on`` that bundles ``column2`` into ``column1``, if any."""
        for edit in self._ptp.get((column1.strip().upper(), column2.strip().upper(), setting), ()):
            if edit.effective <= on and (edit.deleted is None or on <= edit.deleted):
                return edit
        return None

    def mue(self, code: str, on: date, setting: Setting) -> MueLimit | None:
        """The MUE in force on ``on`` for ``code``, if any."""
        in_force = [t for t in self._mue[setting] if t.effective is None or t.effective <= on]
        if not in_force:
            return None
        return in_force[-1].limits.get(code.strip().upper())

    def _read_ptp(self, path: Path, setting: Setting) -> None:
        count = 0
        for fields in _rows(path):
            if len(fields) < 6 or not (_CODE.fullmatch(fields[0]) and _CODE.fullmatch(fields[1])):
                continue
            modifier = fields[5]
            if modifier not in ("0", "1", "9"):
                raise ConfigurationError(f"{path}: modifier indicator {modifier!r} is not 0/1/9")
            edit = PtpEdit(
                column1=fields[0],
                column2=fields[1],
                modifier_indicator=cast("Literal['0', '1', '9']", modifier),
                effective=_date(fields[3], path) or date(1996, 1, 1),
                deleted=_date(fields[4], path),
                rationale=fields[6] if len(fields) > 6 else "",
                setting=setting,
            )
            self._ptp.setdefault((edit.column1, edit.column2, setting), []).append(edit)
            count += 1
        self.sources.append(f"NCCI PTP {setting}: {path.name} ({count} edits)")

    def _read_mue(self, path: Path, setting: Setting) -> None:
        found = _DATE_IN_NAME.search(path.name)
        table = _MueTable(date(*(int(part) for part in found.groups())) if found else None)
        for fields in _rows(path):
            if len(fields) < 3 or not _CODE.fullmatch(fields[0]) or not fields[1].isdigit():
                continue
            indicator = fields[2][:1]
            if indicator not in ("1", "2", "3"):
                raise ConfigurationError(f"{path}: MUE adjudication indicator {fields[2]!r}")
            table.limits[fields[0]] = MueLimit(
                code=fields[0],
                limit=int(fields[1]),
                adjudication=cast("Literal[1, 2, 3]", int(indicator)),
                rationale=fields[3] if len(fields) > 3 else "",
                setting=setting,
            )
        self._mue[setting].append(table)
        self.sources.append(f"MUE {setting}: {path.name} ({len(table.limits)} codes)")


def _files(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise ConfigurationError(f"the {what} folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file())
    if not files:
        raise ConfigurationError(f"the {what} folder {folder} holds no .txt or .csv file")
    return files


def _rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    lines = text.splitlines()
    delimiter = "\t" if sum("\t" in line for line in lines[:50]) else ","
    return [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]


def _date(text: str, path: Path) -> date | None:
    text = text.strip()
    if not text or text == "*":
        return None
    if not (len(text) == 8 and text.isdigit()):
        raise ConfigurationError(f"{path}: {text!r} is not a CCYYMMDD date")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
