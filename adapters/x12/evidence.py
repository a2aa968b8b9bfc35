"""The evidence behind a denied Claim's codes: its encounter gathered and coded again.

A coder working a denial needs what produced each code: the Condition or Procedure it
was read from, the coding the EHR sent, how it was coded (as sent, crosswalk, suggestion)
and the rule or table row that chose it. The Claim carries only the codes, so the
encounter is gathered from the EHR and coded again, without writing anything: the caller
passes ``code``, an encounter id to its :class:`~fhir_coder.model.CodedEncounter` (the CLI
gives a dry-run :class:`~adapters.pipeline.Pipeline`, as ``fhir-coder code --dry-run`` uses),
so this room needs no pipeline of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from adapters.x12.ledger import Submission
from fhir_coder.model import CodedEncounter, CodedLine
from fhir_coder.snapshot import to_plain

__all__ = ["SNAPSHOT", "evidence_for", "snapshot_of"]

SNAPSHOT = "snapshot"
"""The key under which the evidence carries the encounter as coded, for the workbench."""


def snapshot_of(coded: CodedEncounter) -> dict[str, Any]:
    """The encounter as coded, in the form a work item keeps it (the workbench edits it)."""
    return {
        "encounter": to_plain(coded.encounter),
        "diagnoses": to_plain(coded.diagnoses),
        "procedures": to_plain(coded.procedures),
        "issues": to_plain(coded.issues),
    }


def _line(line: CodedLine) -> dict[str, Any]:
    return {
        "code": line.code,
        "system": line.system,
        "source": line.source.reference,
        "source_version": line.source.version_id or "",
        "source_coding": to_plain(line.source_coding) if line.source_coding else None,
        "method": line.method.value,
        "rule": line.rule,
        "confidence": line.confidence,
        "release": line.release,
        "modifiers": list(line.modifiers),
    }


async def evidence_for(
    submissions: Iterable[Submission],
    code: Callable[[str], Awaitable[CodedEncounter | None]],
    *,
    concurrency: int = 4,
) -> dict[str, dict[str, Any]]:
    """Per Claim id, its encounter's coded lines with their sources and rules."""
    gate = asyncio.Semaphore(concurrency)
    found: dict[str, dict[str, Any]] = {}

    async def one(submission: Submission) -> None:
        encounter_id = submission.encounter.removeprefix("Encounter/")
        if not encounter_id:
            return
        async with gate:
            coded = await code(encounter_id)
        if coded is None:
            return
        found[submission.claim_id] = {
            "encounter": submission.encounter,
            "version": coded.encounter.version_id or "",
            "diagnoses": [_line(line) for line in coded.diagnoses],
            "procedures": [_line(line) for line in coded.procedures],
            SNAPSHOT: snapshot_of(coded),
        }

    await asyncio.gather(*(one(s) for s in submissions))
    return found
