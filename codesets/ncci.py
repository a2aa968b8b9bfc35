"""NCCI procedure-to-procedure edits and MUEs from the CMS files, configured by folder.

Implements :class:`fhir_coder.ports.ProcedureEditPort`. The files, their layouts and how
a file's setting (practitioner or hospital) is told are described in
:mod:`codesets.ncci_files` and ``docs/codesets.md``. The tables are held compactly
(:mod:`codesets.ptp_table`: a few bytes per PTP row) and compiled once into the cache
folder (:mod:`codesets.ncci_cache`), so a second start with the same files skips parsing.

Which folders are configured, and the tables every scrubber of a process shares, are
:mod:`codesets.ncci_config`'s (``configured_folders``, ``shared_ncci``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from codesets.cache import cache_dir as default_cache_dir
from codesets.ncci_cache import load_tables
from codesets.ncci_files import setting_of
from codesets.ncci_tables import NcciTables
from fhir_coder.ports import MueLimit, PtpEdit, Setting

__all__ = ["NcciEdits", "setting_of"]


class NcciEdits:
    """PTP edits and MUEs loaded from CMS files; either folder may be absent.

    ``cache_dir`` defaults to :func:`codesets.cache.cache_dir`.
    """

    def __init__(
        self,
        *,
        ptp_dir: Path | str | None = None,
        mue_dir: Path | str | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        self._tables: NcciTables = load_tables(
            Path(ptp_dir) if ptp_dir is not None else None,
            Path(mue_dir) if mue_dir is not None else None,
            Path(cache_dir) if cache_dir is not None else default_cache_dir(),
        )
        self.sources: list[str] = self._tables.sources

    @property
    def ptp_count(self) -> int:
        """Number of PTP edit rows loaded."""
        return sum(len(table) for table in self._tables.ptp.values())

    @property
    def mue_count(self) -> int:
        """Number of MUE rows loaded (all files)."""
        return sum(len(t.limits) for tables in self._tables.mue.values() for t in tables)

    def ptp_edit(self, column1: str, column2: str, on: date, setting: Setting) -> PtpEdit | None:
        """The edit in force on ``on`` that bundles ``column2`` into ``column1``, if any."""
        return self._tables.ptp[setting].edit(column1.strip().upper(), column2.strip().upper(), on)

    def mue(self, code: str, on: date, setting: Setting) -> MueLimit | None:
        """The MUE in force on ``on`` for ``code``, if any: the latest file in force."""
        for table in reversed(self._tables.mue[setting]):
            if table.effective is None or table.effective <= on:
                return table.limits.get(code.strip().upper())
        return None
