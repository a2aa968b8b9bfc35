"""What ``fhir-coder batch`` wrote, next to what ``run --from-ndjson`` wrote for the same files.

Shared by the Spark tests and ``benchmarks/spark_batch.py``'s 10,000-encounter check. A
Claim's ``created`` is the moment it was built, so it is the one element left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from adapters.jobs import JobLedger
from adapters.writeback.ndjson import read_claims


def _lines(folder: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for part in sorted(folder.glob("part-*"))
        for line in part.read_bytes().splitlines()
        if line.strip()
    ]


def without_created(claim: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in claim.items() if key != "created"}


def batch_claims(out: Path) -> dict[str, dict[str, Any]]:
    claims = _lines(out / "claims.ndjson")
    by_id = {claim["id"]: without_created(claim) for claim in claims}
    assert len(by_id) == len(claims), "a Claim written twice by the batch"
    return by_id


def batch_findings(out: Path) -> dict[str, dict[str, Any]]:
    return {line["encounter"]: line for line in _lines(out / "findings.ndjson")}


def run_claims(folder: Path) -> dict[str, dict[str, Any]]:
    return {cid: without_created(claim) for cid, claim in read_claims(folder).items()}


def differences(run_out: Path, jobs_db: Path, batch_out: Path, source: str) -> list[str]:
    """Every way the two outputs differ (empty: the same Claims and the same findings)."""
    found: list[str] = []
    ours, theirs = batch_claims(batch_out), run_claims(run_out)
    if set(ours) != set(theirs):
        found.append(f"Claim ids differ: {sorted(set(ours) ^ set(theirs))[:5]}")
    found += [
        f"Claim {cid} differs"
        for cid in sorted(set(ours) & set(theirs))
        if ours[cid] != theirs[cid]
    ]
    findings = batch_findings(batch_out)
    with JobLedger(jobs_db) as ledger:
        for job in ledger.jobs(limit=1_000_000):
            item = ledger.work.find(source, job.encounter_id)
            mine = findings.get(job.encounter_id)
            if mine is None:
                found.append(f"Encounter/{job.encounter_id} has no findings line in the batch")
                continue
            held = job.state.value == "held"
            if held != (mine["outcome"] == "held"):
                found.append(
                    f"Encounter/{job.encounter_id}: run {job.state.value}, batch {mine['outcome']}"
                )
            if item is None:
                continue
            run_keys = sorted(
                (
                    i["severity"],
                    i.get("rule", ""),
                    i["message"],
                    list(i.get("expression") or []) or None,
                )
                for i in item.payload["issues"]
            )
            batch_keys = sorted(
                (
                    i["severity"],
                    i["details"]["coding"][0]["code"] if i["details"].get("coding") else "",
                    i["details"]["text"],
                    i.get("expression"),
                )
                for i in mine["issues"]
            )
            if [str(k) for k in run_keys] != [str(k) for k in batch_keys]:
                found.append(f"Encounter/{job.encounter_id}: findings differ")
    return found
