"""Turning pipeline results into JSON and readable text for the CLI."""

from __future__ import annotations

from typing import Any

from adapters.pipeline import EncounterResult
from fhir_coder.model import CodedLine
from fhir_coder.outcome import Issue, Severity
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, SNOMED, display_icd10cm

__all__ = ["issue_line", "line_json", "line_text", "result_json"]

_SYSTEM_NAMES = {
    ICD10CM: "ICD-10-CM",
    ICD10PCS: "ICD-10-PCS",
    CPT: "CPT",
    HCPCS: "HCPCS",
    SNOMED: "SNOMED CT",
}


def _shown(line: CodedLine) -> str:
    return display_icd10cm(line.code) if line.system == ICD10CM else line.code


def line_json(line: CodedLine) -> dict[str, Any]:
    """A coded line with its provenance, as JSON."""
    out: dict[str, Any] = {
        "system": line.system,
        "code": _shown(line),
        "display": line.display,
        "role": line.role.value if line.role else None,
        "source": line.source.reference,
        "source_version": line.source.version_id,
        "method": line.method.value,
        "confidence": line.confidence,
        "release": line.release,
    }
    if line.source_coding is not None:
        out["source_coding"] = {
            "system": line.source_coding.system,
            "code": line.source_coding.code,
        }
    if line.changes:
        out["guidelines"] = [
            {
                "rule": change.rule,
                "citation": change.citation,
                "replaced": list(change.replaced),
                "note": change.note,
            }
            for change in line.changes
        ]
    return out


def line_text(line: CodedLine) -> str:
    """One coded line for people: code, role, description, where it came from."""
    system = _SYSTEM_NAMES.get(line.system, line.system.rsplit("/", 1)[-1])
    role = f" [{line.role.value}]" if line.role else ""
    came_from = f"{line.source.reference} ({line.method.value}"
    if line.source_coding is not None:
        came_from += f" {line.source_coding.code}"
    text = f"{system} {_shown(line)}{role} {line.display} <- {came_from}, {line.release})"
    # Why the Official Guidelines made the line what it is, one rule a line under it.
    return "".join([text, *(f"\n      guideline {change}" for change in line.changes)])


_MARKS = {
    Severity.FATAL: "FATAL",
    Severity.ERROR: "ERROR",
    Severity.WARNING: "warn ",
    Severity.INFORMATION: "info ",
}


def issue_line(issue: Issue) -> str:
    """One finding for people: severity, rule, message and fix."""
    fix = f" Fix: {issue.fix}" if issue.fix else ""
    rule = f" {issue.rule}:" if issue.rule else ""
    return f"{_MARKS[issue.severity]}{rule} {issue.message}.{fix}"


def result_json(result: EncounterResult, *, with_claim: bool = False) -> dict[str, Any]:
    """One encounter's result as JSON; the Claim itself only when asked for."""
    out: dict[str, Any] = {
        "encounter": f"Encounter/{result.encounter_id}",
        "outcome": result.outcome.value,
        "claim_id": (result.claim or {}).get("id"),
        "claim_status": (result.claim or {}).get("status"),
        "lines": [line_json(line) for line in (result.coded.lines if result.coded else ())],
        "issues": [issue.to_json() for issue in result.issues],
        "round_trips": result.round_trips,
    }
    if result.error is not None:
        out["error"] = str(result.error)
    if with_claim:
        out["claim"] = result.claim
    return out
