"""CPT from the organisation's licensed file; without one, a check of the shape only.

CPT descriptors are the AMA's copyright: fhir-coder ships none, and its tests use a
synthetic file with made-up descriptors. The licensed data files list one code a line,
the code, then a tab or blank, then its descriptor (``LONGULT.txt``, ``MEDU.txt``); a CSV
with ``code`` and ``description`` columns (any case) is read too. Blank lines and lines
that do not start with a CPT-shaped code (headers, copyright notices) are skipped.

A CPT release is a calendar year (new codes take effect on 1 January). The year comes
from the ``year`` argument or from a four-digit year in the file name (``CPT2026``);
a date of service in another year is still answered from the file, and the release
says so, for a coder to see.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError

__all__ = ["CptFile", "is_cpt_shape"]

_SHAPE: Final = re.compile(r"[0-9]{4}[0-9FTU]|[0-9]{5}")
"""Five digits (Category I), four digits and ``F`` (II), ``T`` (III) or ``U`` (PLA)."""
_LINE: Final = re.compile(r"([0-9]{4}[0-9FTU])[\t ]+(.*\S)")


def is_cpt_shape(code: str) -> bool:
    """Whether ``code`` has the shape of a CPT code."""
    return _SHAPE.fullmatch(code) is not None


class CptFile:
    """The codes and descriptors of one licensed CPT file."""

    def __init__(self, path: Path | str, *, year: int | None = None) -> None:
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the CPT file {self.path}: {exc}") from exc
        self.codes = _read_csv(text) if _looks_like_csv(text) else _read_lines(text)
        if not self.codes:
            raise ConfigurationError(f"{self.path} holds no CPT codes")
        if year is None:
            found = re.search(r"(20\d\d)", self.path.name)
            year = int(found.group(1)) if found else None
        self.year = year

    def release_for(self, on: date) -> str:
        """The release to name for a service on ``on``."""
        if self.year is None:
            return f"CPT ({self.path.name}, year not stated)"
        if on.year != self.year:
            return f"CPT {self.year} (file for {self.year} used for {on.isoformat()})"
        return f"CPT {self.year}"


def _looks_like_csv(text: str) -> bool:
    header = text.lstrip().split("\n", 1)[0].lower()
    return "," in header and "code" in header


def _read_lines(text: str) -> dict[str, str]:
    codes: dict[str, str] = {}
    for line in text.splitlines():
        found = _LINE.match(line.strip())
        if found:
            codes.setdefault(found.group(1), found.group(2))
    return codes


def _read_csv(text: str) -> dict[str, str]:
    codes: dict[str, str] = {}
    import csv  # noqa: PLC0415 - only CSV files need it

    for row in csv.DictReader(text.splitlines()):
        fields = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
        code = fields.get("code", "")
        if is_cpt_shape(code):
            codes.setdefault(code, fields.get("description", ""))
    return codes
