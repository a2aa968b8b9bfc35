"""The NLM SNOMED CT to ICD-10-CM map, read from the user's copy of the RF2 extended map.

The map is part of the SNOMED CT US Edition and needs a UMLS licence, so it is never
shipped: an organisation points fhir-coder at its file
(``der2_iisssccRefset_ExtendedMapSnapshot_US1000124_YYYYMMDD.txt``, or the Full file,
or the human-readable ``tls_Icd10cmHumanReadableMap_*.tsv``). It is tab-separated with a
header row; the columns used, found by name::

    id | effectiveTime | active | referencedComponentId | mapGroup | mapPriority |
    mapRule | mapAdvice | mapTarget

A Full file holds every version of a row: the latest ``effectiveTime`` per ``id`` is kept,
and inactive rows are dropped.

How a concept is mapped (NLM's documentation of the map): its rows form one or more map
groups; every group yields at most one ICD-10-CM code, and the codes of all groups are
used together. Within a group, rules are tried in ``mapPriority`` order and the first
that is true chooses the group's target; ``TRUE`` and ``OTHERWISE TRUE`` always hold.
Rules test the patient's sex (``IFA 248152002 | Female (finding) |``, ``IFA 248153007 |
Male (finding) |``), the age at onset (``IFA 445518008 | Age at onset of clinical
finding (observable entity) | < 18.0 years``), possibly joined by ``AND``, or the
presence of another condition (``IFA 14669001 | ... |``), which fhir-coder cannot know.
A rule that cannot be decided (an unknown sex or age, another condition) does not stop
the search: its target comes back for review, and so do those after it. An empty target
means the group has no ICD-10-CM code (mapAdvice says why). Age is compared in whole
years on the date of service, which stands in for the age at onset.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import Translation
from fhir_coder.systems import ICD10CM, SNOMED, canonical_system

__all__ = ["FEMALE", "MALE", "NlmMap", "NlmRow", "evaluate_rule"]

FEMALE: Final = "248152002"
MALE: Final = "248153007"
AGE_AT_ONSET: Final = "445518008"
_CLAUSE: Final = re.compile(
    r"IFA\s+(\d+)\s*\|[^|]*\|\s*(?:(<=|>=|<|>|=)\s*([\d.]+)\s*(years?|months?|days?))?\s*$"
)
_NEEDED: Final = ("referencedComponentId", "mapGroup", "mapPriority", "mapRule", "mapTarget")


@dataclass(frozen=True, slots=True)
class NlmRow:
    """One active row of the map."""

    group: int
    priority: int
    rule: str
    advice: str
    target: str


def evaluate_rule(rule: str, age: int | None, sex: str | None) -> bool | None:
    """Whether ``rule`` holds for a patient of ``age`` years and ``sex``; None if unknowable."""
    text = rule.strip()
    if text in ("TRUE", "OTHERWISE TRUE", ""):
        return True
    verdicts = [_clause(part, age, sex) for part in re.split(r"\s+AND\s+", text)]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _clause(text: str, age: int | None, sex: str | None) -> bool | None:
    found = _CLAUSE.match(text.strip())
    if found is None:
        return None
    concept, operator, amount, unit = found.groups()
    if concept in (FEMALE, MALE) and operator is None:
        if sex not in ("female", "male"):
            return None
        return sex == ("female" if concept == FEMALE else "male")
    if concept == AGE_AT_ONSET and operator is not None:
        return _age_test(age, operator, float(amount), unit)
    return None  # another condition, or an observable fhir-coder does not know


def _age_test(age: int | None, operator: str, amount: float, unit: str) -> bool | None:
    """``age`` (whole years) compared with ``amount`` ``unit``; None when it cannot tell."""
    if age is None:
        return None
    limit = amount
    if not unit.startswith("year"):
        limit = amount / (12.0 if unit.startswith("month") else 365.25)
        if age < limit < age + 1:
            return None  # whole years cannot tell
    tests = {
        "<": age < limit,
        "<=": age <= limit,
        ">": age > limit,
        ">=": age >= limit,
        "=": age == limit,
    }
    return tests[operator]


class NlmMap:
    """The loaded map: SNOMED CT concept id -> its active rows."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._rows: dict[str, list[NlmRow]] = {}
        latest: dict[str, tuple[str, bool, str, NlmRow]] = {}
        try:
            with self.path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                missing = [name for name in _NEEDED if name not in (reader.fieldnames or ())]
                if missing:
                    raise ConfigurationError(
                        f"{self.path} is not an NLM extended map: no column {', '.join(missing)}"
                    )
                for number, raw in enumerate(reader, start=2):
                    key = raw.get("id") or f"row{number}"
                    when = raw.get("effectiveTime") or ""
                    earlier = latest.get(key)
                    if earlier is not None and earlier[0] > when:
                        continue
                    row = NlmRow(
                        group=int(raw["mapGroup"]),
                        priority=int(raw["mapPriority"]),
                        rule=(raw["mapRule"] or "").strip(),
                        advice=(raw.get("mapAdvice") or "").strip(),
                        target=(raw["mapTarget"] or "").strip().replace(".", "").upper(),
                    )
                    active = (raw.get("active") or "1").strip() == "1"
                    latest[key] = (when, active, raw["referencedComponentId"].strip(), row)
        except OSError as exc:
            raise ConfigurationError(f"cannot read the NLM map {self.path}: {exc}") from exc
        except (ValueError, KeyError) as exc:
            raise ConfigurationError(f"{self.path}: a row does not read: {exc}") from exc
        self.version = max((entry[0] for entry in latest.values()), default="")
        for _, active, concept, row in latest.values():
            if active:
                self._rows.setdefault(concept, []).append(row)
        for rows in self._rows.values():
            rows.sort(key=lambda r: (r.group, r.priority))

    @property
    def source(self) -> str:
        """``NLM SNOMED CT to ICD-10-CM map 20250901 (file name)``."""
        return f"NLM SNOMED CT to ICD-10-CM map {self.version or 'undated'} ({self.path.name})"

    def __len__(self) -> int:
        return len(self._rows)

    def knows(self, code: str) -> bool:
        """Whether the map has rows for SNOMED CT concept ``code``."""
        return code.strip() in self._rows

    def translate(
        self,
        system: str,
        code: str,
        target: str,
        *,
        on: date,  # noqa: ARG002 - the port's signature; validity is the caller's check
        age: int | None = None,
        sex: str | None = None,
    ) -> tuple[Translation, ...]:
        """ICD-10-CM targets for a SNOMED CT concept, one per map group (see the module)."""
        if canonical_system(system) != SNOMED or canonical_system(target) != ICD10CM:
            return ()
        out: list[Translation] = []
        groups: dict[int, list[NlmRow]] = {}
        for row in self._rows.get(code.strip(), ()):
            groups.setdefault(row.group, []).append(row)
        for group in sorted(groups):
            undecided = False
            for row in groups[group]:
                verdict = evaluate_rule(row.rule, age, sex)
                if verdict is False:
                    continue
                if row.target:
                    out.append(self._translation(row, needs_review=undecided or verdict is None))
                if verdict:
                    break
                undecided = True
        return tuple(out)

    def _translation(self, row: NlmRow, *, needs_review: bool) -> Translation:
        context = "CONTEXT DEPENDENT" in row.advice.upper()
        return Translation(
            system=ICD10CM,
            code=row.target,
            display="",
            rule=f"NLM map group {row.group} priority {row.priority}: {row.rule or 'TRUE'}",
            source=self.source,
            needs_review=needs_review or context,
            map_group=row.group,
            equivalence="inexact" if (needs_review or context) else "equivalent",
        )
