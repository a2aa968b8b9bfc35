"""Reading the CMS NCCI PTP and MUE files (layouts in ``docs/codesets.md``) into tables.

CMS publishes both quarterly, for practitioner (professional) and for outpatient hospital
claims; which table a file belongs to is read from its name (``ccipra`` / ``practitioner``
-> practitioner, ``ccioph`` / ``hospital`` / ``facility`` -> hospital), or from a folder so
named.

PTP files (``ccipra-v321r0-f1.txt``...), tab-separated text or CSV, after a few lines of
heading that are skipped; one edit a row (read by :mod:`codesets.ptp_compile`). An edit is
in force from its effective date through its deletion date (CMS writes the last day, a
quarter's end). A pair may have several rows over the years.

MUE files (``MCR_MUE_PractitionerServices_Eff_2026-01-01.csv``...), CSV or tab-separated,
heading lines skipped::

    HCPCS/CPT Code | MUE Values | MUE Adjudication Indicator ("2 Date of Service Edit:
    Policy") | MUE Rationale

A file's effective date is read from its name (``Eff_YYYY-MM-DD``, or ``YYYYMMDD``).

Files are read as a stream of lines, never as a list of them (a million short-lived
strings would stay in the process's memory as fragments). Each file's bytes are hashed as
they are parsed: the compiled cache is named by the digests of exactly what was parsed
(:mod:`codesets.ncci_cache`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Final, Literal, NamedTuple, cast

from codesets.ncci_tables import CODE, SETTINGS, MueTable, NcciTables
from codesets.ptp_compile import PtpTableBuilder
from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import MueLimit, Setting

__all__ = ["SourceFile", "digest", "read_bytes", "read_tables", "setting_of", "source_files"]

_DATE_IN_NAME: Final = re.compile(r"(20\d\d)-?(\d\d)-?(\d\d)")
_PRACTITIONER: Final = ("ccipra", "practitioner", "pra-")
_HOSPITAL: Final = ("ccioph", "hospital", "facility", "oph-")
_SUFFIXES: Final = (".txt", ".csv", ".tsv")
_SNIFFED_LINES: Final = 50


class SourceFile(NamedTuple):
    """A configured file: its path, whether it holds PTP edits or MUEs, and its setting."""

    path: Path
    kind: Literal["ptp", "mue"]
    setting: Setting


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


def source_files(ptp_dir: Path | None, mue_dir: Path | None) -> list[SourceFile]:
    """The PTP files, then the MUE files, each folder's in name order."""
    found: list[SourceFile] = []
    for folder, kind, what in ((ptp_dir, "ptp", "NCCI PTP"), (mue_dir, "mue", "MUE")):
        if folder is None:
            continue
        if not folder.is_dir():
            raise ConfigurationError(f"the {what} folder {folder} does not exist")
        paths = sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file()
        )
        if not paths:
            raise ConfigurationError(f"the {what} folder {folder} holds no .txt or .csv file")
        found.extend(
            SourceFile(path, cast("Literal['ptp', 'mue']", kind), setting_of(path))
            for path in paths
        )
    return found


def read_bytes(path: Path) -> bytes:
    """The file's contents; ``ConfigurationError`` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc


def digest(data: bytes) -> str:
    """Names a file's contents in the cache key (SHA-256, hex)."""
    return hashlib.sha256(data).hexdigest()


def read_tables(files: list[SourceFile]) -> tuple[NcciTables, list[str]]:
    """The tables in ``files``, and the digest of each file as it was parsed."""
    builders = {setting: PtpTableBuilder(setting) for setting in SETTINGS}
    mue: dict[Setting, list[MueTable]] = {setting: [] for setting in SETTINGS}
    sources: list[str] = []
    digests: list[str] = []
    for path, kind, setting in files:
        data = read_bytes(path)
        digests.append(digest(data))
        if kind == "ptp":
            count = builders[setting].add_rows(_rows(data), path)
            sources.append(f"NCCI PTP {setting}: {path.name} ({count} edits)")
        else:
            table = _read_mue(path, data, setting)
            mue[setting].append(table)
            sources.append(f"MUE {setting}: {path.name} ({len(table.limits)} codes)")
        del data  # one file's bytes at a time
    for tables in mue.values():
        tables.sort(key=lambda table: table.effective or date.min)
    ptp = {setting: builder.build() for setting, builder in builders.items()}
    return NcciTables(ptp=ptp, mue=mue, sources=sources), digests


def _read_mue(path: Path, data: bytes, setting: Setting) -> MueTable:
    named = _DATE_IN_NAME.search(path.name)
    effective = date(*(int(part) for part in named.groups())) if named else None
    limits: dict[str, MueLimit] = {}
    rationales: dict[str, str] = {}  # one string per distinct rationale
    for row in _rows(data):
        fields = [cell.strip() for cell in row]
        if len(fields) < 3 or not CODE.fullmatch(fields[0]) or not fields[1].isdigit():
            continue
        indicator = fields[2][:1]
        if indicator not in ("1", "2", "3"):
            raise ConfigurationError(f"{path}: MUE adjudication indicator {fields[2]!r}")
        rationale = fields[3] if len(fields) > 3 else ""
        limits[fields[0]] = MueLimit(
            code=fields[0],
            limit=int(fields[1]),
            adjudication=cast("Literal[1, 2, 3]", int(indicator)),
            rationale=rationales.setdefault(rationale, rationale),
            setting=setting,
        )
    return MueTable(effective, limits)


def _rows(data: bytes) -> Iterator[list[str]]:
    """The CSV or tab-separated rows of ``data`` (Latin-1), cells as written.

    Lines end where ``str.splitlines`` ends them; tab-separated when one of the first 50
    lines holds a tab. Without a double quote in the file, splitting a line at the
    delimiter gives exactly the ``csv`` module's cells, at half the cost.
    """
    text = io.TextIOWrapper(io.BytesIO(data), encoding="latin-1", newline="")
    lines = chain.from_iterable(map(str.splitlines, text))
    head = list(islice(lines, _SNIFFED_LINES))
    delimiter = "\t" if any("\t" in line for line in head) else ","
    if b'"' in data:
        return csv.reader(chain(head, lines), delimiter=delimiter)
    return map(str.split, chain(head, lines), repeat(delimiter))
