"""What runs inside Spark's Python workers: key each line, then code a partition of patients.

Everything here is a module-level function (Spark pickles it by reference, and each
executor imports this module once), so the code sets are loaded once per executor process
(:func:`coding`) and kept for every task it runs, never shipped with the data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson

from adapters.bulk import ExportIndex, NdjsonEncounters
from adapters.bulk.export_index import CODING_TYPES, normalise_reference
from adapters.claim_options import default_claim_options
from adapters.coding_setup import CodingSetup, default_coding
from adapters.processing import code_and_build
from adapters.writeback.claim_writer import tagged
from fhir_coder.claim import ClaimOptions
from fhir_coder.outcome import Issue

__all__ = ["PARTIES", "BatchOptions", "code_partition", "coding", "key_line"]

PARTIES: Final = frozenset({"Practitioner", "PractitionerRole", "Organization", "Location"})
"""Resources every encounter may name: few, so broadcast to every task instead of shuffled."""
_PATIENT_FIELD: Final = {
    "Patient": "",
    "Encounter": "subject",
    "Condition": "subject",
    "Procedure": "subject",
    "Coverage": "beneficiary",
}
"""The field naming the patient a resource belongs with (a Patient belongs with itself)."""

_loaded: dict[str, Any] = {}
"""This executor process's coding set-up and Claim options (see :func:`coding`)."""


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """What every task needs to know, shipped once with the job (small, picklable)."""

    source_id: str
    base_url: str
    created: str  # ISO time every Claim of the batch is created at
    fee_schedule: str | None = None
    status: str | None = "finished"


def coding(fee_schedule: str | None) -> tuple[CodingSetup, ClaimOptions, bool]:
    """The coding set-up and Claim options of this process, loaded at its first task.

    The third value says whether this call loaded them (counted by the driver, so a batch
    shows how many executor processes loaded the code sets: once each).
    """
    if "coding" in _loaded:
        return _loaded["coding"], _loaded["options"], False
    _loaded["coding"] = default_coding()
    _loaded["options"] = default_claim_options(Path(fee_schedule) if fee_schedule else None)
    return _loaded["coding"], _loaded["options"], True


def key_line(  # noqa: PLR0911 - one return per kind of line, each commented
    line: str, position: int, base_url: str
) -> tuple[str, tuple[int, str]] | None:
    """``(patient key, (position, line))`` for a resource coding reads; key ``*``: a party.

    ``position`` is the line's place in the export (files in the order given, lines in
    file order): a task puts its lines back in that order, so conditions and procedures
    reach coding in the order ``run --from-ndjson`` reads them.

    Lines of other types (Observations, notes) and lines that are not JSON objects give
    None here: the single-process reader skips them too (it reports the broken ones,
    which ``batch`` counts in its summary).
    """
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(resource, dict):
        return None
    kind = resource.get("resourceType")
    if kind in PARTIES:
        return "*", (position, line)
    if kind not in CODING_TYPES or kind not in _PATIENT_FIELD:
        return None
    field = _PATIENT_FIELD[kind]
    if not field:
        return f"Patient/{resource.get('id')}", (position, line)
    value = resource.get(field)
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str) or not reference:
        # no patient named: kept with its own kind and id, so it is still read (and an
        # Encounter without a subject is reported as uncodable, never lost)
        return f"{kind}/{resource.get('id')}", (position, line)
    return normalise_reference(reference, base_url), (position, line)


def _finding(issue: Issue) -> dict[str, Any]:
    return issue.to_json()


def _with_line(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its line of ``findings.ndjson``: the encounter, its outcome, its findings."""
    line = {
        "encounter": row["encounter_id"],
        "version": row["version"],
        "outcome": row["outcome"],
        "claim": row["claim_id"],
        "issues": orjson.loads(row["issues"]),
        "error": row["error"],
    }
    return row | {"findings": orjson.dumps(line).decode()}


def code_partition(
    rows: Iterable[tuple[str, tuple[int, str]]], parties: list[str], options: BatchOptions
) -> Iterator[dict[str, Any]]:
    """Assemble and code every encounter of the patients in ``rows``.

    The partition's lines and the broadcast parties go into a temporary export index, and
    :class:`~adapters.bulk.NdjsonEncounters` assembles each encounter exactly as
    ``run --from-ndjson`` does; each becomes one row: its Claim (or none) and findings.
    """
    lines = [line for _, (_, line) in sorted(rows, key=lambda row: row[1][0])]
    if not lines:
        return
    setup, claim_options, loaded = coding(options.fee_schedule)
    created = datetime.fromisoformat(options.created)
    with tempfile.TemporaryDirectory(prefix="fhir-coder-batch-") as folder:
        export = Path(folder) / "part.ndjson"
        with export.open("w", encoding="utf-8") as out:
            for line in (*parties, *lines):
                out.write(line.rstrip("\n") + "\n")
        with ExportIndex(Path(folder) / "index.sqlite3", base_url=options.base_url) as index:
            index.finish(index.add([export]))
            reader = NdjsonEncounters(index, source_id=options.source_id)
            first = True
            for item in reader.assembled(options.status):
                row: dict[str, Any] = {
                    "encounter_id": item.encounter_id,
                    "version": item.version,
                    "patient_id": item.patient_id,
                    "loaded_coding": loaded and first,
                }
                first = False
                if item.encounter is None:
                    error = item.error
                    row |= {"outcome": "failed", "claim_id": "", "claim": None, "issues": "[]"}
                    row["error"] = f"{type(error).__name__}: {error}" if error else "unknown"
                    yield _with_line(row)
                    continue
                done = code_and_build(item.encounter, setup, created=created, options=claim_options)
                claim = done.claim
                row["outcome"] = "held" if claim is None else str(claim.get("status"))
                row["claim_id"] = "" if claim is None else str(claim.get("id"))
                # tagged as the writer tags what it writes: the Claim run would write
                row["claim"] = None if claim is None else orjson.dumps(tagged(claim)).decode()
                row["issues"] = orjson.dumps([_finding(i) for i in done.issues]).decode()
                row["error"] = ""
                yield _with_line(row)
