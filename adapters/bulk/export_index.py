"""An NDJSON export read once into a SQLite file, so a population never has to fit in memory.

Bulk Data exports write one file per resource type, and nothing orders them: a Condition
may be read long before the Encounter it belongs to, and Synthea-style exports point at
practitioners, organisations and locations by conditional reference
(``Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999...``). So every file is read
first, keeping only the kinds coding needs, each resource as its original bytes with the
reference it belongs under (a Condition's or Procedure's encounter, a Coverage's
beneficiary, an Encounter's subject) and its identifiers; then conditional references are
resolved against the identifiers of every file (:meth:`ExportIndex.finish`). Reading an
encounter back is then a few indexed lookups.

Memory stays flat in the population: the rows live in the file, SQLite's page cache is
bounded (:data:`CACHE_KIB`), and nothing else is kept per resource. A file already read
into a persistent index (same size and modification time) is not read again, so a run
killed half-way resumes without re-reading what it had.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Self, cast
from urllib.parse import parse_qsl

import orjson

from fhir_coder.errors import ConfigurationError

__all__ = [
    "CODING_TYPES",
    "ExportIndex",
    "IndexReport",
    "Unresolved",
    "ndjson_files",
    "normalise_reference",
]

CODING_TYPES: Final = frozenset(
    {
        "Encounter",
        "Condition",
        "Procedure",
        "Immunization",
        "MedicationAdministration",
        "Patient",
        "Coverage",
        "Practitioner",
        "PractitionerRole",
        "Organization",
    }
)
"""The resource types coding reads; an export's Observations, claims and notes are skipped."""

OWNER_FIELD: Final = {
    "Encounter": "subject",
    "Condition": "encounter",
    "Procedure": "encounter",
    "Immunization": "encounter",  # billed as vaccine and administration (issue 17)
    "MedicationAdministration": "context",  # HCPCS drug lines by NDC
    "Coverage": "beneficiary",
}
"""The reference each kind is filed under: what an encounter's assembly looks rows up by."""

PAGE_SIZE: Final = 16384
"""SQLite pages of 16 KiB: a resource's bytes and its index rows in fewer pages (reading an
export took 70 us of CPU per encounter instead of 82 with the default 4 KiB)."""
CACHE_KIB: Final = 32768
"""SQLite's page cache, in KiB: the only memory that grows with reading, and it stops here."""

MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""A line longer than this is refused, not read: no resource coding needs is that large."""

_BATCH: Final = 500  # rows written per executemany: a bound on what reading holds
_TYPE_MENTION = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS res (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT '',
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS res_key ON res (type, id);
CREATE INDEX IF NOT EXISTS res_owner ON res (owner, type);
DROP INDEX IF EXISTS res_status;
CREATE TABLE IF NOT EXISTS ident (
    type TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ident_value ON ident (type, value, system);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    kept INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    message TEXT NOT NULL
);
"""

_UPSERT: Final = (
    "INSERT INTO res (type, id, status, owner, version, updated, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (type, id) DO UPDATE SET status = excluded.status, owner = excluded.owner, "
    "version = excluded.version, updated = excluded.updated, body = excluded.body "
    "WHERE excluded.updated >= res.updated"
)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference the export cannot answer, on the resource that makes it."""

    resource: str  # Type/id
    field: str
    reference: str
    reason: str


@dataclass(slots=True)
class IndexReport:
    """What reading the files gave."""

    files: int = 0
    files_skipped: int = 0  # already read into this index, unchanged
    lines: int = 0
    kept: int = 0  # resources of the kinds coding reads
    problems: list[str] = field(default_factory=list)  # "file:line: why", never fatal
    unresolved: list[Unresolved] = field(default_factory=list)


def ndjson_files(paths: Iterable[Path]) -> list[Path]:
    """The NDJSON files of ``paths``: files as given, folders' ``*.ndjson`` (and ``.gz``).

    A path that does not exist is a :class:`ConfigurationError` naming it: an export that
    is not where the user said is not an empty population.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.is_file() and p.name.endswith((".ndjson", ".ndjson.gz"))
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigurationError(f"{path}: no such NDJSON file or folder")
    return found


def normalise_reference(reference: str, base_url: str = "") -> str:
    """The key a reference is filed under: ``Type/id``, or ``Type?query`` until resolved.

    Versioned (``Type/id/_history/2``) and absolute references on ``base_url`` become
    ``Type/id``; anything else (another server, a ``urn:uuid:``) is kept as written and
    so matches nothing, which assembly reports.
    """
    ref = reference.strip()
    if base_url and ref.startswith(base_url.rstrip("/") + "/"):
        ref = ref[len(base_url.rstrip("/")) + 1 :]
    head, mark, query = ref.partition("?")
    if mark:
        return f"{head}?{query}" if head[:1].isupper() and "/" not in head else ref
    parts = ref.split("/")
    literal = len(parts) in (2, 4) and parts[0][:1].isupper() and bool(parts[1])
    if literal and (len(parts) == 2 or parts[2] == "_history"):
        return f"{parts[0]}/{parts[1]}"
    return ref


def _reference(value: object) -> str:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            return ref
        identifier = value.get("identifier")
        kind = value.get("type")
        if isinstance(identifier, dict) and identifier.get("value") and isinstance(kind, str):
            system = identifier.get("system") or ""
            return (
                f"{kind}?identifier={system}|{identifier['value']}"
                if system
                else (f"{kind}?identifier={identifier['value']}")
            )
    return ""


def _open(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return cast("BinaryIO", gzip.GzipFile(path, "rb"))  # a GzipFile reads bytes like a file
    return path.open("rb")


class ExportIndex:
    """The coding-relevant resources of an NDJSON export, indexed in one SQLite file.

    ``path`` None keeps the file in a temporary folder removed on :meth:`close`; a path
    keeps it, so a later run over the same files reads nothing again. ``base_url`` is
    the server the export came from: absolute references to it count as ``Type/id``.
    Use: :meth:`add` the files, :meth:`finish`, then :meth:`get`, :meth:`owned`,
    :meth:`resolve` and :meth:`encounters`.
    """

    def __init__(self, path: Path | None = None, *, base_url: str = "") -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fhir-coder-ndjson-")
            path = Path(self._tmp.name) / "index.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.base_url = base_url
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # A rebuildable cache: a crash loses at most the file being read, which is read again.
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.executescript(_SCHEMA)
        self._conditional: dict[str, str] = {}  # resolved Type?query -> Type/id or reason

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (and remove it when it was temporary)."""
        self._db.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    # Reading files

    def add(self, files: Iterable[Path], report: IndexReport | None = None) -> IndexReport:
        """Read ``files`` into the index; a file read before and unchanged is skipped.

        A line that is not a JSON object is a problem naming the file and line, and the
        next line is read: one bad line never loses a population.
        """
        report = report if report is not None else IndexReport()
        for file in files:
            stat = file.stat()
            known = self._db.execute(
                "SELECT size, mtime_ns FROM files WHERE path = ?", (str(file.resolve()),)
            ).fetchone()
            if known == (stat.st_size, stat.st_mtime_ns):
                report.files_skipped += 1
                continue
            self._add_file(file, stat.st_size, stat.st_mtime_ns, report)
            report.files += 1
        return report

    def _add_file(self, file: Path, size: int, mtime_ns: int, report: IndexReport) -> None:
        rows: list[tuple[str, str, str, str, str, str, bytes]] = []
        idents: list[tuple[str, str, str, str]] = []
        lines = kept = 0
        db = self._db
        db.execute("BEGIN")
        try:
            with _open(file) as stream:
                for number, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    lines += 1
                    if len(line) > MAX_LINE_BYTES:
                        self._problem(report, file, number, "longer than the limit; not read")
                        continue
                    mentioned = _TYPE_MENTION.findall(line)
                    if not mentioned:
                        self._problem(report, file, number, "not a FHIR resource; line skipped")
                        continue
                    if not any(m.decode() in CODING_TYPES for m in mentioned):
                        continue  # an Observation, a DocumentReference...: never parsed
                    row = self._row(line, file, number, report, idents)
                    if row is None:
                        continue
                    rows.append(row)
                    kept += 1
                    if len(rows) >= _BATCH:
                        self._flush(rows, idents)
            self._flush(rows, idents)
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                (str(file.resolve()), size, mtime_ns, lines, kept),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._conditional.clear()
        report.lines += lines
        report.kept += kept

    def _flush(
        self,
        rows: list[tuple[str, str, str, str, str, str, bytes]],
        idents: list[tuple[str, str, str, str]],
    ) -> None:
        self._db.executemany(_UPSERT, rows)
        self._db.executemany("INSERT INTO ident VALUES (?, ?, ?, ?)", idents)
        rows.clear()
        idents.clear()

    def _problem(self, report: IndexReport, file: Path, number: int, why: str) -> None:
        report.problems.append(f"{file.name}:{number}: {why}")
        self._db.execute("INSERT INTO problems VALUES (?, ?, ?)", (str(file), number, why))

    def _row(
        self,
        line: bytes,
        file: Path,
        number: int,
        report: IndexReport,
        idents: list[tuple[str, str, str, str]],
    ) -> tuple[str, str, str, str, str, str, bytes] | None:
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._problem(report, file, number, "not JSON; line skipped")
            return None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in CODING_TYPES:
            return None  # the type was only mentioned (a contained resource)
        resource_id = resource.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            self._problem(report, file, number, f"a {kind} without an id; line skipped")
            return None
        meta = resource.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        version = str(meta.get("versionId") or "")
        if not version and kind == "Encounter":
            # No versionId (raw Synthea, many exports): the content names the version, so
            # the same Encounter exported again is a duplicate job, a changed one a new job.
            version = "h" + hashlib.blake2b(line.strip(), digest_size=8).hexdigest()
        owner_field = OWNER_FIELD.get(kind)
        owner = (
            normalise_reference(_reference(resource.get(owner_field)), self.base_url)
            if owner_field
            else ""
        )
        status = resource.get("status")
        for identifier in resource.get("identifier") or []:
            if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
                system = identifier.get("system")
                idents.append(
                    (
                        kind,
                        system if isinstance(system, str) else "",
                        identifier["value"],
                        resource_id,
                    )
                )
        return (
            kind,
            resource_id,
            status if isinstance(status, str) else "",
            owner,
            version,
            str(meta.get("lastUpdated") or ""),
            line.strip(),
        )

    # Resolving conditional references

    def finish(self, report: IndexReport | None = None) -> IndexReport:
        """Resolve the conditional references resources are filed under; report the rest.

        Run once every file is read: a Condition's ``Encounter?identifier=...`` can only be
        answered when the Encounter's file has been read too.
        """
        report = report if report is not None else IndexReport()
        db = self._db
        pending = db.execute("SELECT DISTINCT owner FROM res WHERE owner LIKE '%?%'").fetchall()
        db.execute("BEGIN")
        try:
            for (owner,) in pending:
                found = self.resolve_search(owner)
                if "/" in found and "?" not in found:
                    db.execute("UPDATE res SET owner = ? WHERE owner = ?", (found, owner))
        finally:
            db.execute("COMMIT")
        report.unresolved.extend(self.unresolved())
        return report

    def unresolved(self) -> list[Unresolved]:
        """Resources whose encounter, subject or beneficiary names nothing in the export."""
        out: list[Unresolved] = []
        rows = self._db.execute(
            "SELECT r.type, r.id, r.owner FROM res r WHERE r.owner != '' AND NOT EXISTS "
            "(SELECT 1 FROM res t WHERE t.type = substr(r.owner, 1, instr(r.owner, '/') - 1) "
            "AND t.id = substr(r.owner, instr(r.owner, '/') + 1))"
        )
        for kind, resource_id, owner in rows:
            reason = self.resolve_search(owner) if "?" in owner else f"{owner} is not in the export"
            out.append(Unresolved(f"{kind}/{resource_id}", OWNER_FIELD[kind], owner, reason))
        return out

    def resolve_search(self, query: str) -> str:
        """``Type/id`` of the one resource a conditional reference matches, else why not.

        The search forms an export can answer: ``identifier`` (``system|value``, ``value``,
        ``|value`` for no system) and ``_id``, alone or together (all must match).
        """
        cached = self._conditional.get(query)
        if cached is not None:
            return cached
        answer = self._search(query)
        if len(self._conditional) > 100_000:
            self._conditional.clear()
        self._conditional[query] = answer
        return answer

    def _search(self, query: str) -> str:
        kind, _, text = query.partition("?")
        candidates: set[str] | None = None
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name == "identifier":
                ids = self._by_identifier(kind, value)
            elif name == "_id":
                ids = {i for i in value.split(",") if self.get(kind, i) is not None}
            else:
                return f"the search parameter {name!r} is not answered from an export"
            candidates = ids if candidates is None else candidates & ids
        if candidates is None:
            return f"{query} has no search criteria"
        if len(candidates) == 1:
            return f"{kind}/{next(iter(candidates))}"
        if not candidates:
            return f"{query} matches nothing in the export"
        return f"{query} matches {len(candidates)} {kind} resources, not one"

    def _by_identifier(self, kind: str, token: str) -> set[str]:
        system, bar, value = token.rpartition("|")
        if not bar:
            rows = self._db.execute(
                "SELECT id FROM ident WHERE type = ? AND value = ?", (kind, value)
            )
        else:
            rows = self._db.execute(
                "SELECT id FROM ident WHERE type = ? AND value = ? AND system = ?",
                (kind, value, system),
            )
        return {row[0] for row in rows}

    # Reading back

    def get(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        """The resource ``kind/resource_id``, parsed, or None."""
        row = self._db.execute(
            "SELECT body FROM res WHERE type = ? AND id = ?", (kind, resource_id)
        ).fetchone()
        return orjson.loads(row[0]) if row is not None else None

    def owned_by_type(self, owner: str, kinds: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        """The resources of each of ``kinds`` filed under ``owner``, in one query."""
        found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        marks = ", ".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT type, body FROM res WHERE owner = ? AND type IN ({marks}) "  # noqa: S608
            "ORDER BY seq",
            (owner, *kinds),
        )
        for kind, body in rows:
            found[kind].append(orjson.loads(body))
        return found

    def owned(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """The resources of ``kind`` filed under ``owner`` (``Encounter/1``, ``Patient/2``)."""
        return [
            orjson.loads(body)
            for (body,) in self._db.execute(
                "SELECT body FROM res WHERE owner = ? AND type = ? ORDER BY seq", (owner, kind)
            )
        ]

    def encounters(self, status: str | None = "finished") -> Iterator[tuple[str, str, str]]:
        """``(id, version, subject)`` of each Encounter (with ``status`` unless None).

        Streamed patient by patient (each patient's in the order the export held them, so
        a patient and their Coverage are read once for all their encounters); ``subject``
        is the patient's id when the subject resolves to a Patient in the export, else "".
        """
        for resource_id, version, patient, _ in self._encounter_rows(status, body=False):
            yield resource_id, version, patient

    def encounter_resources(
        self, status: str | None = "finished"
    ) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """:meth:`encounters` with each Encounter itself, parsed: one read for both."""
        for resource_id, version, patient, body in self._encounter_rows(status, body=True):
            yield resource_id, version, patient, orjson.loads(body)

    def _encounter_rows(
        self, status: str | None, *, body: bool
    ) -> Iterator[tuple[str, str, str, bytes]]:
        where, params = ("AND status = ?", (status,)) if status is not None else ("", ())
        column = "body" if body else "x''"
        rows = self._db.execute(
            f"SELECT id, version, owner, {column} FROM res "  # noqa: S608 - our own text
            f"WHERE type = 'Encounter' {where} ORDER BY owner, seq",
            params,
        )
        for resource_id, version, owner, data in rows:
            patient = owner.removeprefix("Patient/") if owner.startswith("Patient/") else ""
            yield resource_id, version, patient, data

    def counts(self) -> dict[str, int]:
        """Resources kept, per type."""
        return dict(self._db.execute("SELECT type, count(*) FROM res GROUP BY type").fetchall())
