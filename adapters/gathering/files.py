"""Reading FHIR JSON files (single resources or Bundles) the way resources from a server are read.

Exports, test fixtures and payer files hold resources the gatherer would otherwise fetch.
Every resource of a kind coding reads (Encounter, Condition, Procedure, Immunization,
MedicationAdministration, Patient, Coverage) goes through the same lenient readers; a file
that is not FHIR JSON, or a resource a reader chokes on, becomes an issue naming the file,
and the next file is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from adapters.fhir.reading import (
    read_codings,
    read_condition,
    read_coverage,
    read_immunization,
    read_medication_administration,
    read_patient,
    read_procedure,
    read_providers,
)
from adapters.gathering.assembly import BAD_SHAPE
from fhir_coder.outcome import Issue, IssueCode, Severity

__all__ = ["FileReport", "read_fhir_file"]


@dataclass(slots=True)
class FileReport:
    """What reading one file gave: how many resources were read, and what was not."""

    path: Path
    read: int = 0
    other: int = 0  # resources of kinds coding does not read (Observation, EOB...)
    issues: list[Issue] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Whether the file held FHIR JSON at all."""
        return not any(i.rule == "READ-FILE-UNUSABLE" for i in self.issues)


def _read_encounter(resource: dict[str, Any], issues: list[Issue]) -> object:
    read_providers(resource)
    source = f"Encounter/{resource.get('id')}"
    return [
        read_codings(c, issues=issues, source=source, expression="Encounter.type")
        for c in resource.get("type") or []
    ]


_READERS: dict[str, Callable[[dict[str, Any], list[Issue]], object]] = {
    "Encounter": _read_encounter,
    "Condition": lambda r, issues: read_condition(r, issues=issues),
    "Procedure": lambda r, issues: read_procedure(r, issues=issues),
    "Patient": lambda r, _: read_patient(r),
    "Coverage": lambda r, _: read_coverage(r),
    "Immunization": lambda r, issues: read_immunization(r, issues=issues),
    "MedicationAdministration": lambda r, issues: read_medication_administration(r, issues=issues),
}


def _resources(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if document.get("resourceType") == "Bundle":
        for entry in document.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield from _resources(resource)
    else:
        yield document


def _unusable(report: FileReport, why: str) -> FileReport:
    report.issues.append(
        Issue(
            Severity.ERROR,
            IssueCode.STRUCTURE,
            f"{report.path}: {why}",
            rule="READ-FILE-UNUSABLE",
            source=str(report.path),
        )
    )
    return report


def read_fhir_file(path: Path) -> FileReport:
    """Read every resource in ``path``; never raises for what the file holds."""
    report = FileReport(path)
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        return _unusable(report, f"cannot be read ({exc.strerror})")
    except orjson.JSONDecodeError:
        return _unusable(report, "is not JSON")
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        return _unusable(report, "is JSON but not a FHIR resource")
    for resource in _resources(document):
        reader = _READERS.get(str(resource.get("resourceType")))
        if reader is None:
            report.other += 1
            continue
        try:
            reader(resource, report.issues)
        except BAD_SHAPE as exc:
            report.issues.append(
                Issue(
                    Severity.WARNING,
                    IssueCode.STRUCTURE,
                    f"{path}: {resource.get('resourceType')}/{resource.get('id')} could not be "
                    f"read ({type(exc).__name__}); left out",
                    rule="READ-UNREADABLE",
                    source=str(path),
                )
            )
            continue
        report.read += 1
    return report
