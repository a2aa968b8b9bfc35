"""FHIR Bulk Data: exports fetched from a server, and encounters assembled from NDJSON.

A population does not fit in memory, so an export folder (one NDJSON file per resource
type, in any order) is read once into a SQLite index on disk (:mod:`.export_index`),
conditional references are resolved after every file is read, and each encounter is then
assembled from a few indexed reads through the same code the server gatherer uses
(:mod:`.encounters`, on :mod:`adapters.gathering`). The export client (kick-off, polling,
manifest, resumable downloads) lives here too.

May import ``fhir``, ``gathering`` and the core; no other room (the CLI and the pipeline
import it).
"""

from adapters.bulk.encounters import (
    AssembledEncounter,
    NdjsonEncounters,
    encounters_from_ndjson,
)
from adapters.bulk.export_client import (
    BulkExport,
    ExportGoneError,
    ExportProgress,
    ExportResult,
    ExportSpec,
)
from adapters.bulk.export_index import ExportIndex, IndexReport, Unresolved, ndjson_files

__all__ = [
    "AssembledEncounter",
    "BulkExport",
    "ExportGoneError",
    "ExportIndex",
    "ExportProgress",
    "ExportResult",
    "ExportSpec",
    "IndexReport",
    "NdjsonEncounters",
    "Unresolved",
    "encounters_from_ndjson",
    "ndjson_files",
]
