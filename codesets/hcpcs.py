"""HCPCS Level II from the CMS alpha-numeric file, configured by path.

No package ships HCPCS and this project cannot download it, so an organisation points
fhir-coder at its copy of the quarterly CMS file (``HCPC2026_JAN_ANWEB.txt``, public
domain). Two forms are read:

* the fixed-width text file, 320 characters a record (positions 1-based, as in CMS's
  ``HCPC<YYYY>_recordlayout.txt``): code 1-5, sequence number 6-10, record
  identification 11 (``3`` first line of a procedure, ``4`` its continuation lines,
  ``7``/``8`` the same for a modifier), long description 12-91, short description
  92-119, code added date 262-269, action effective date 270-277, termination date
  278-285 (``CCYYMMDD``, blank when none), action code 286;
* a CSV export of the same file (the Excel workbook CMS ships, saved as CSV) with the
  headers ``HCPC``, ``LONG DESCRIPTION``, ``SHORT DESCRIPTION``, ``ADD DT``, ``ACT EFF DT``,
  ``TERM DT`` (others ignored; dates ``YYYYMMDD`` or ``MM/DD/YYYY``).

Continuation lines of a long description are joined. A code is valid on a date from its
added date (when given) up to and including its termination date (when given). Level I
(CPT) lines in the file are skipped: CPT comes from the licensed file (:mod:`codesets.cpt`).
Modifiers are kept apart (:attr:`HcpcsFile.modifiers`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError

__all__ = ["HcpcsCode", "HcpcsFile", "is_hcpcs_shape", "parse_cms_date"]

_LEVEL2: Final = re.compile(r"[A-V][0-9]{4}")
_FIRST_PROCEDURE, _MORE_PROCEDURE, _FIRST_MODIFIER, _MORE_MODIFIER = "3", "4", "7", "8"


def is_hcpcs_shape(code: str) -> bool:
    """Whether ``code`` has the shape of a Level II code (a letter A-V and four digits)."""
    return _LEVEL2.fullmatch(code) is not None


def parse_cms_date(text: str) -> date | None:
    """``20260101`` or ``01/01/2026`` as a date; None for a blank field."""
    text = text.strip()
    if not text or set(text) <= {"0"}:
        return None
    try:
        if "/" in text:
            month, day, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise ValueError(f"not a CMS date: {text!r}") from exc


@dataclass(frozen=True, slots=True)
class HcpcsCode:
    """One Level II code or modifier and the dates it is valid."""

    code: str
    description: str
    short_description: str
    added: date | None
    terminated: date | None

    def valid_on(self, on: date) -> bool:
        """Whether the code may be billed for a service on ``on``."""
        if self.added is not None and on < self.added:
            return False
        return self.terminated is None or on <= self.terminated


class HcpcsFile:
    """The codes of one CMS HCPCS file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="latin-1")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the HCPCS file {self.path}: {exc}") from exc
        first = text.lstrip()[:200].upper()
        reader = _read_csv if first.startswith(('"HCPC', "HCPC")) else _read_fixed
        try:
            self.codes, self.modifiers = reader(text)
        except (ValueError, KeyError, IndexError) as exc:
            raise ConfigurationError(
                f"{self.path} is not a CMS HCPCS file as documented: {exc}"
            ) from exc
        if not self.codes:
            raise ConfigurationError(f"{self.path} holds no HCPCS Level II codes")

    @property
    def release(self) -> str:
        """``HCPCS 2026 JAN`` from the file name when it follows CMS's naming, else the name."""
        found = re.search(r"HCPC(\d{4})_([A-Z]{3})", self.path.name.upper())
        return f"HCPCS {found.group(1)} {found.group(2)}" if found else f"HCPCS ({self.path.name})"


def _read_fixed(text: str) -> tuple[dict[str, HcpcsCode], dict[str, HcpcsCode]]:
    codes: dict[str, HcpcsCode] = {}
    modifiers: dict[str, HcpcsCode] = {}
    for line in text.splitlines():
        if len(line) < 12:
            continue
        kind = line[10]
        if kind in (_FIRST_MODIFIER, _MORE_MODIFIER):
            code, target = line[3:5].strip(), modifiers
        elif kind in (_FIRST_PROCEDURE, _MORE_PROCEDURE):
            code, target = line[0:5].strip(), codes
            if not is_hcpcs_shape(code):
                continue  # a Level I (CPT) line: never read from here
        else:
            continue
        long_text = line[11:91].rstrip()
        if kind in (_MORE_PROCEDURE, _MORE_MODIFIER):
            earlier = target.get(code)
            if earlier is not None:
                target[code] = HcpcsCode(
                    code,
                    f"{earlier.description} {long_text.strip()}".strip(),
                    earlier.short_description,
                    earlier.added,
                    earlier.terminated,
                )
            continue
        padded = line.ljust(320)
        target[code] = HcpcsCode(
            code=code,
            description=long_text.strip(),
            short_description=padded[91:119].strip(),
            added=parse_cms_date(padded[261:269]),
            terminated=parse_cms_date(padded[277:285]),
        )
    return codes, modifiers


def _read_csv(text: str) -> tuple[dict[str, HcpcsCode], dict[str, HcpcsCode]]:
    codes: dict[str, HcpcsCode] = {}
    modifiers: dict[str, HcpcsCode] = {}
    import csv  # noqa: PLC0415 - only CSV files need it

    for row in csv.DictReader(text.splitlines()):
        fields = {key.strip().upper(): (value or "").strip() for key, value in row.items() if key}
        code = fields["HCPC"]
        entry = HcpcsCode(
            code=code,
            description=fields.get("LONG DESCRIPTION", ""),
            short_description=fields.get("SHORT DESCRIPTION", ""),
            added=parse_cms_date(fields.get("ADD DT", "")),
            terminated=parse_cms_date(fields.get("TERM DT", "")),
        )
        if is_hcpcs_shape(code):
            earlier = codes.get(code)
            if earlier is not None and not entry.short_description:  # a continuation row
                entry = HcpcsCode(
                    code,
                    f"{earlier.description} {entry.description}".strip(),
                    earlier.short_description,
                    earlier.added,
                    earlier.terminated,
                )
            codes[code] = entry
        elif len(code) == 2:
            modifiers[code] = entry
    return codes, modifiers
