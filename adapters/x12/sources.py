"""Where the Claims to submit (and the resources they name) come from: a server or a folder.

Either way the result is the same: our Claims (those carrying the ``urn:fhir-coder:claim``
identifier) and a resolver that finds each Patient, Coverage, payer and practitioner
they name. A server's resources are read once each, concurrently, before any 837 is
built, so building stays a pure, synchronous step. An NDJSON folder (a Bulk Data export,
or our NDJSON destination beside the Patients and Coverages) is read line by line; a
later line of the same Claim supersedes an earlier one, as the NDJSON destination writes
a recoded Claim again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from adapters.fhir.client import FhirClient
from fhir_coder.claim import CLAIM_IDENTIFIER_SYSTEM
from fhir_coder.errors import ConfigurationError, FhirNotFoundError

__all__ = ["ClaimSource", "claims_from_ndjson", "claims_from_server"]

_MAX_LINE: Final = 16 * 1024 * 1024  # one resource per line: no Claim or Patient is 16 MB
_CONCURRENCY: Final = 16


@dataclass(slots=True)
class ClaimSource:
    """Our Claims and the resources they name, keyed by reference (``Patient/1``)."""

    name: str  # the Claim ledger's name of this destination (base URL or ``ndjson:`` folder)
    claims: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resolve(self, reference: str) -> dict[str, Any] | None:
        """The resource ``reference`` names, or None."""
        return self.resources.get(reference)


def _ours(claim: dict[str, Any]) -> bool:
    return any(
        isinstance(i, dict) and i.get("system") == CLAIM_IDENTIFIER_SYSTEM
        for i in claim.get("identifier") or []
    )


def _line_resources(path: Path, number: int, line: bytes) -> list[dict[str, Any]]:
    """A line's resources: one, or a transaction Bundle's (the write-back's Bundle.ndjson)."""
    if len(line) > _MAX_LINE:
        raise ConfigurationError(f"{path} line {number} is longer than 16 MB")
    if not line.strip():
        return []
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} line {number} is not JSON: {exc}") from exc
    if not isinstance(resource, dict) or not resource.get("resourceType"):
        raise ConfigurationError(f"{path} line {number} is not a FHIR resource")
    if resource["resourceType"] != "Bundle" or resource.get("type") != "transaction":
        return [resource]
    entries = [e.get("resource") for e in resource.get("entry") or [] if isinstance(e, dict)]
    return [r for r in entries if isinstance(r, dict) and r.get("resourceType")]


def claims_from_ndjson(folder: Path) -> ClaimSource:
    """Every resource in ``folder``'s ``*.ndjson`` files; our Claims among them."""
    if not folder.is_dir():
        raise ConfigurationError(f"{folder} is not a folder of NDJSON files")
    source = ClaimSource(name=f"ndjson:{folder.resolve()}")
    claims: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.ndjson")):
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with handle:
            for number, line in enumerate(_lines(handle), 1):
                for one in _line_resources(path, number, line):
                    reference = f"{one['resourceType']}/{one.get('id')}"
                    source.resources[reference] = one
                    if one["resourceType"] == "Claim" and _ours(one):
                        claims[reference] = one
    source.claims = list(claims.values())
    return source


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    """The lines of ``handle``, each read with a bound so no line fills the memory."""
    while line := handle.readline(_MAX_LINE + 1):
        yield line


def _references(resource: dict[str, Any], *paths: tuple[str, ...]) -> Iterable[str]:
    for path in paths:
        values: list[Any] = [resource]
        for key in path:
            nxt: list[Any] = []
            for value in values:
                if isinstance(value, dict):
                    inner = value.get(key)
                    nxt.extend(inner if isinstance(inner, list) else [inner])
            values = nxt
        for value in values:
            if isinstance(value, dict) and isinstance(value.get("reference"), str):
                yield value["reference"]


async def claims_from_server(fhir: FhirClient, *, limit: int | None = None) -> ClaimSource:
    """Our active and cancelled Claims on ``fhir``, with what they name read once each."""
    source = ClaimSource(name=fhir.base_url)
    async for claim in fhir.search("Claim", {"status": "active,cancelled", "_count": "200"}):
        if _ours(claim):
            source.claims.append(claim)
            if limit is not None and len(source.claims) >= limit:
                break
    first = {
        ref
        for claim in source.claims
        for ref in _references(
            claim,
            ("patient",),
            ("insurance", "coverage"),
            ("insurer",),
            ("careTeam", "provider"),
            ("facility",),
        )
    }
    await _read_all(fhir, first, source)
    coverages = [
        source.resources[r] for r in first if r.startswith("Coverage/") and r in source.resources
    ]
    second = {
        ref for coverage in coverages for ref in _references(coverage, ("subscriber",), ("payor",))
    }
    await _read_all(fhir, second - set(source.resources), source)
    return source


async def _read_all(fhir: FhirClient, references: set[str], source: ClaimSource) -> None:
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(reference: str) -> None:
        kind, _, resource_id = reference.partition("/")
        if not resource_id or "/" in resource_id:
            return  # an absolute or contained reference: claim_facts says it cannot be read
        async with gate:
            try:
                source.resources[reference] = await fhir.read(kind, resource_id)
            except FhirNotFoundError:
                return

    await asyncio.gather(*(one(r) for r in sorted(references)))
