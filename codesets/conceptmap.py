"""Crosswalks written as FHIR R4 ConceptMaps (JSON) or as CSV, and the curated one we ship.

A ConceptMap ``group`` names a source and a target system; each ``element`` a source code
and its ``target`` entries, each with an R4 ``equivalence``. fhir-coder reads, besides the
standard elements:

* ``target.dependsOn`` with ``property`` ``urn:fhir-coder:patient-sex`` (``value``
  ``female`` or ``male``) or ``urn:fhir-coder:patient-age`` (``value`` such as ``>=18``
  or ``<18``, whole years on the date of service): the target applies only when every
  condition holds; when the patient's sex or age is unknown it comes back for review;
  ``urn:fhir-coder:payer-type`` (``medicare``) and ``urn:fhir-coder:setting``
  (``primary-care``) are passed on with the target for the coding engine to decide, which
  knows the encounter's Coverage and class;
* the extension ``urn:fhir-coder:map-group`` (``valueInteger``) on a target: targets of
  different groups are coded together (IUD replacement: removal *and* insertion);
* an ``unmatched`` target with no code and a ``comment``: the concept is known and has no
  target, for the reason given (:meth:`ConceptMapCrosswalk.unmapped_reason`); the extension
  ``urn:fhir-coder:answer`` (``valueCode`` ``not-reported`` or ``needs-coder``, the
  default) says whether the concept is never reported (an employment status, a step of the
  visit) or needs a person (:meth:`ConceptMapCrosswalk.no_target`).

A target whose equivalence is ``narrower``, ``inexact`` or ``relatedto`` comes back with
``needs_review``: a person confirms it (``equivalent``, ``equal``, ``wider`` and ``subsumes``
targets do not; see ``_EXACT``). The CSV form has the columns ``source_system``,
``source_code``, ``target_system``, ``target_code``, ``target_display``, ``equivalence``,
``comment`` (the last three optional). The curated tables (``.tsv``, read by
:mod:`codesets.curated_tables`) are a third form. ICD-10-CM targets are returned dotless.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Final

from codesets.curated_tables import read_table
from codesets.map_target import AGE, ANSWER, ANSWERS, MAP_GROUP, PAYER, SETTING, SEX, MapTarget
from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import NoTarget, Translation
from fhir_coder.systems import ICD10CM, canonical_system

__all__ = [
    "AGE",
    "ANSWER",
    "CURATED_PATH",
    "CURATED_PATHS",
    "CURATED_TABLES",
    "MAP_GROUP",
    "SEX",
    "ConceptMapCrosswalk",
    "MapTarget",
    "condition_holds",
]

CURATED_PATH: Final = Path(__file__).parent / "data" / "snomed-curated.conceptmap.json"
CURATED_TABLES: Final = tuple(sorted((Path(__file__).parent / "data" / "curated").glob("*.tsv")))
"""The curated tables (:mod:`codesets.curated_tables`): one per source and target pair."""
CURATED_PATHS: Final = (CURATED_PATH, *CURATED_TABLES)
"""Everything the curated crosswalk reads; a concept may be in only one of them per target."""
_EXACT: Final = frozenset({"equivalent", "equal", "wider", "subsumes"})
"""Equivalences coded without review. A *wider* target is the classification's less specific
code for the concept (the "unspecified" code the ICD-10-CM index gives when the detail is not
documented), which is correct coding; *narrower* and *inexact* targets assume something the
source does not say, so a person confirms them."""
_AGE_TEST: Final = re.compile(r"(<=|>=|<|>|=)\s*(\d+)")


def condition_holds(prop: str, value: str, age: int | None, sex: str | None) -> bool | None:
    """Whether one ``dependsOn`` condition holds: None when the fact is unknown."""
    if prop == SEX:
        return None if sex not in ("female", "male") else sex == value.lower()
    if prop == AGE:
        found = _AGE_TEST.fullmatch(value.strip())
        if found is None:
            return None
        if age is None:
            return None
        limit = int(found.group(2))
        return {
            "<": age < limit,
            "<=": age <= limit,
            ">": age > limit,
            ">=": age >= limit,
            "=": age == limit,
        }[found.group(1)]
    return None


class ConceptMapCrosswalk:
    """One or more ConceptMaps or CSV crosswalks, merged, answering ``translate``."""

    def __init__(self, paths: Iterable[Path | str], *, rule_prefix: str | None = None) -> None:
        self._targets: dict[tuple[str, str, str], list[MapTarget]] = {}
        self._source_of: dict[tuple[str, str, str], str] = {}
        self.sources: list[str] = []
        self._rule_prefix = rule_prefix
        for path in map(Path, paths):
            if path.suffix.lower() == ".csv":
                self._read_csv(path)
            elif path.suffix.lower() == ".tsv":
                self._read_table(path)
            else:
                self._read_conceptmap(path)

    def __len__(self) -> int:
        return len(self._targets)

    def entries(self) -> dict[tuple[str, str, str], list[MapTarget]]:
        """Every ``(source system, source code, target system)`` and its targets."""
        return self._targets

    def knows(self, system: str, code: str, target: str) -> bool:
        """Whether the crosswalk has an entry (mapped or explicitly unmatched) for the code."""
        return (canonical_system(system), code.strip(), canonical_system(target)) in self._targets

    def unmapped_reason(self, system: str, code: str, target: str) -> str | None:
        """Why a known concept has no target in ``target``, or None."""
        found = self.no_target(system, code, target)
        return found.reason if found is not None else None

    def no_target(self, system: str, code: str, target: str) -> NoTarget | None:
        """The entry's answer when a known concept has no target in ``target``, else None."""
        key = (canonical_system(system), code.strip(), canonical_system(target))
        targets = self._targets.get(key, [])
        if targets and all(t.equivalence == "unmatched" for t in targets):
            return NoTarget(
                reason="; ".join(t.comment for t in targets if t.comment) or "unmatched",
                reported=not all(t.answer == "not-reported" for t in targets),
                rule=f"{self._rule_prefix or 'crosswalk'}:{key[1]}",
                source=self._source_of.get(key, ""),
                partial=next((t.code for t in targets if t.code), ""),
            )
        return None

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
        """Targets for ``system|code`` in ``target`` (see :class:`CrosswalkPort`).

        Not remembered here: :class:`codesets.crosswalks.CrosswalkRegistry`, which every
        caller goes through, keeps the answers of all its maps.
        """
        key = (canonical_system(system), code.strip(), canonical_system(target))
        out: list[Translation] = []
        for entry in self._targets.get(key, ()):
            if entry.equivalence == "unmatched" or not entry.code:
                continue
            verdicts = [
                condition_holds(p, v, age, sex)
                for p, v in entry.conditions
                if p not in (PAYER, SETTING)
            ]
            if False in verdicts:
                continue
            payer = next((v for p, v in entry.conditions if p == PAYER), "")
            setting = next((v for p, v in entry.conditions if p == SETTING), "")
            review = None in verdicts or entry.equivalence not in _EXACT
            out.append(
                Translation(
                    system=entry.system,
                    code=entry.code,
                    display=entry.display,
                    rule=self._rule(key[1], entry),
                    source=self._source_of.get(key, ""),
                    needs_review=review,
                    map_group=entry.map_group,
                    equivalence=entry.equivalence,
                    payer=payer,
                    setting=setting,
                )
            )
        return tuple(out)

    def _rule(self, source_code: str, entry: MapTarget) -> str:
        prefix = self._rule_prefix or "crosswalk"
        rule = f"{prefix}:{source_code}"
        if entry.conditions:
            rule += " if " + " and ".join(
                f"{prop.rsplit(':', 1)[-1]} {value}" for prop, value in entry.conditions
            )
        return rule

    def _add(self, key: tuple[str, str, str], target: MapTarget, source: str) -> None:
        self._targets.setdefault(key, []).append(target)
        self._source_of[key] = source

    def _read_conceptmap(self, path: Path) -> None:
        try:
            resource = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the ConceptMap {path}: {exc}") from exc
        if not isinstance(resource, dict) or resource.get("resourceType") != "ConceptMap":
            raise ConfigurationError(f"{path} is not a FHIR ConceptMap")
        source = " ".join(
            str(part)
            for part in (
                resource.get("title") or resource.get("name") or path.name,
                resource.get("version", ""),
            )
            if part
        )
        for group in resource.get("group", []):
            source_system = canonical_system(group.get("source"))
            target_system = canonical_system(group.get("target"))
            for element in group.get("element", []):
                key = (source_system, str(element.get("code", "")).strip(), target_system)
                for target in element.get("target", []):
                    self._add(key, _target(target, target_system, path), source)
        self.sources.append(source)

    def _read_table(self, path: Path) -> None:
        table = read_table(path)
        for row in table.rows:
            key = (table.source_system, row.code, row.target_system)
            if key in self._targets and self._source_of.get(key) != table.title:
                raise ConfigurationError(
                    f"{path}:{row.line}: {row.code} is already mapped to {row.target_system} "
                    f"by {self._source_of[key]}"
                )
            self._add(key, row.target, table.title)
        self.sources.append(table.title)

    def _read_csv(self, path: Path) -> None:
        try:
            rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
        except (OSError, csv.Error) as exc:
            raise ConfigurationError(f"cannot read the crosswalk {path}: {exc}") from exc
        for number, row in enumerate(rows, start=2):
            try:
                target_system = canonical_system(row["target_system"])
                key = (
                    canonical_system(row["source_system"]),
                    row["source_code"].strip(),
                    target_system,
                )
            except KeyError as exc:
                raise ConfigurationError(f"{path}:{number}: no column {exc}") from exc
            self._add(
                key,
                _target(
                    {
                        "code": row.get("target_code", ""),
                        "display": row.get("target_display", ""),
                        "equivalence": row.get("equivalence") or "equivalent",
                        "comment": row.get("comment", ""),
                    },
                    target_system,
                    path,
                ),
                path.name,
            )
        self.sources.append(path.name)


def _target(raw: dict[str, Any], system: str, path: Path) -> MapTarget:
    code = str(raw.get("code") or "").strip()
    if system == ICD10CM:
        code = code.replace(".", "").upper()
    equivalence = str(raw.get("equivalence") or "")
    if not equivalence:
        raise ConfigurationError(f"{path}: a target of {code or '(no code)'} has no equivalence")
    if not code and equivalence != "unmatched":
        raise ConfigurationError(f"{path}: a target with equivalence {equivalence} has no code")
    conditions = tuple(
        (str(depends.get("property", "")), str(depends.get("value", "")))
        for depends in raw.get("dependsOn", [])
    )
    extensions = raw.get("extension", [])
    group = next(
        (int(ext.get("valueInteger", 1)) for ext in extensions if ext.get("url") == MAP_GROUP),
        1,
    )
    answer = next(
        (str(ext.get("valueCode")) for ext in extensions if ext.get("url") == ANSWER),
        "needs-coder",
    )
    if answer not in ANSWERS:
        raise ConfigurationError(f"{path}: a target of {code or '(no code)'} answers {answer!r}")
    return MapTarget(
        system=system,
        code=code,
        display=str(raw.get("display") or ""),
        equivalence=equivalence,
        comment=str(raw.get("comment") or ""),
        conditions=conditions,
        map_group=group,
        answer=answer,
    )
