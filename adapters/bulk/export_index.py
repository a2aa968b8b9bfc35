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
import os
import re
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Self, cast

import orjson

from adapters.bulk.export_search import SearchRefused, matches, parse_criteria
from fhir_coder.errors import ConfigurationError

__all__ = [
    "CODING_TYPES",
    "ExportIndex",
    "IndexReport",
    "Located",
    "Unresolved",
    "Where",
    "ndjson_files",
    "normalise_reference",
    "resolved",
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
        "Location",  # Encounter.location: a stay's room and board is rated by it
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

FOLLOWED: Final = {
    "Encounter": (
        ("participant", "individual", "Encounter.participant.individual"),
        ("serviceProvider", "", "Encounter.serviceProvider"),
        ("diagnosis", "condition", "Encounter.diagnosis.condition"),
        ("location", "location", "Encounter.location.location"),
    ),
    "Coverage": (("payor", "", "Coverage.payor"),),
}
"""The other references coding follows: their conditional ones are resolved by
:meth:`ExportIndex.finish` too, so one that cannot be is reported on its resource."""

SCAN_LIMIT: Final = 50_000
"""A search with neither ``identifier`` nor ``_id`` reads every resource of its type; not
for a type with more than this in the export (a Patient by name among millions)."""
SCAN_BUDGET: Final = 5_000_000
"""Resources all such searches of one index may read together (a few seconds a million)."""

PAGE_SIZE: Final = 16384
"""SQLite pages of 16 KiB: a resource's bytes and its index rows in fewer pages (reading an
export took 70 us of CPU per encounter instead of 82 with the default 4 KiB)."""
CACHE_KIB: Final = 8192
"""SQLite's page cache, in KiB: the only memory that grows with reading, and it stops here.

Small on purpose: the index of 10,000 encounters is 9 MiB, so a larger cache fills only
for larger exports, and the process's peak grows with the population until it is full
(32 MiB made 100,000 encounters' peak 22 MiB above 10,000's). Read CPU at 100,000
encounters: 74 us an encounter with 32 MiB, 77 with 8, 81 with 2; assembling no slower
(the lines themselves are read with ``pread``, never through this cache)."""

MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""A line longer than this is refused, not read: no resource coding needs is that large."""

_BATCH: Final = 500  # rows written per executemany: a bound on what reading holds
_RESOLVE_BATCH: Final = 1000  # conditional owners resolved per query (one per patient, maybe)
_ANSWERS_KEPT: Final = 8192  # conditional references answered: the parties; a few subjects
_TYPE_MENTION = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')
_CODING_TYPE_BYTES: Final = frozenset(kind.encode() for kind in CODING_TYPES)
_LITERAL = re.compile(r"[A-Z][A-Za-z]*/[A-Za-z0-9\-.]{1,64}")  # Type/id as written

SCHEMA_VERSION: Final = 6
"""Bumped when the tables change: an index of another version is emptied and read again."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS res (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT '',
    file INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    len INTEGER NOT NULL,
    body BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS res_key ON res (type, id);
CREATE INDEX IF NOT EXISTS res_owner ON res (owner, type, id, file, pos, len);
CREATE INDEX IF NOT EXISTS res_encounter ON res (owner) WHERE type = 'Encounter';
CREATE TABLE IF NOT EXISTS ident (
    type TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ident_value ON ident (type, value, system);
CREATE TABLE IF NOT EXISTS files (
    num INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    kept INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refs (query TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS problems (
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    message TEXT NOT NULL
);
"""

_TABLES: Final = ("res", "ident", "refs", "files", "problems")

_UPSERT: Final = (
    "INSERT INTO res (type, id, status, owner, version, updated, file, pos, len, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (type, id) DO UPDATE SET status = excluded.status, owner = excluded.owner, "
    "version = excluded.version, updated = excluded.updated, file = excluded.file, "
    "pos = excluded.pos, len = excluded.len, body = excluded.body "
    "WHERE excluded.updated >= res.updated"
)

ENCOUNTER_ROWS: Final = (
    "SELECT id, version, owner, file, pos, len, body FROM res INDEXED BY res_encounter "
    "WHERE type = 'Encounter' {where} ORDER BY owner, seq"
)
"""The Encounters patient by patient (``{where}``: a status, or nothing): walked from an
index, never sorted (:meth:`ExportIndex.encounters`)."""

Row = tuple[str, str, str, str, str, str, int, int, int, bytes | None]
"""A resource as the index keeps it: type, id, status, owner, version, lastUpdated, and
where its bytes are (file number, offset, length; or the bytes themselves, for a
compressed file, which cannot be read at an offset)."""


Located = tuple[int, str, str, int, int, int]
"""Where a resource filed under an owner is: seq, type, id, file number, offset, length."""
Where = tuple[int, int, int, bytes | None]
"""Where a resource is: file number, offset, length, or its line when the index holds it."""


class ExportChangedError(ConfigurationError):
    """A file of the export changed after it was read.

    Its resources are no longer where the index says; the same command, run again, reads
    it anew.
    """


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference the export cannot answer, on the resource that makes it."""

    resource: str  # Type/id
    field: str
    reference: str
    reason: str


REPORT_KEPT: Final = 1000
"""Problems and unresolved references an :class:`IndexReport` lists; it counts them all.

An export whose practitioners file is missing has two or three unresolved references per
encounter: listed whole, the report grew with the population (169,642 at 100,000
encounters, 28 MiB). The index keeps every problem (its ``problems`` table) and
:meth:`ExportIndex.unresolved` finds every unresolved reference again."""


@dataclass(slots=True)
class IndexReport:
    """What reading the files gave.

    ``problems`` and ``unresolved`` list the first :data:`REPORT_KEPT` of each, in the
    order found; ``problem_count`` and ``unresolved_count`` count them all.
    """

    files: int = 0
    files_skipped: int = 0  # already read into this index, unchanged
    lines: int = 0
    kept: int = 0  # resources of the kinds coding reads
    problems: list[str] = field(default_factory=list)  # "file:line: why", never fatal
    unresolved: list[Unresolved] = field(default_factory=list)
    problem_count: int = 0
    unresolved_count: int = 0

    def add_problem(self, problem: str) -> None:
        """Count ``problem``; list it while fewer than :data:`REPORT_KEPT` are."""
        self.problem_count += 1
        if len(self.problems) < REPORT_KEPT:
            self.problems.append(problem)

    def add_unresolved(self, unresolved: Unresolved) -> None:
        """Count ``unresolved``; list it while fewer than :data:`REPORT_KEPT` are."""
        self.unresolved_count += 1
        if len(self.unresolved) < REPORT_KEPT:
            self.unresolved.append(unresolved)


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
    if _LITERAL.fullmatch(reference):
        return reference  # the common case, at the cost of one match
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


def resolved(answer: str) -> bool:
    """Whether an answer of :meth:`ExportIndex.resolve_search` is a ``Type/id`` (else a reason)."""
    return _LITERAL.fullmatch(answer) is not None


def _coding_line(line: bytes) -> bool | None:
    """Whether ``line`` may hold a resource coding reads; None when it names no type at all.

    The first ``resourceType`` is the resource's own when no object opens before it (the
    usual layout, decided without reading further); otherwise any type the line mentions
    counts, and parsing decides (a contained resource names its own).
    """
    first = _TYPE_MENTION.search(line)
    if first is None:
        return None
    if line.find(b"{", line.find(b"{") + 1, first.start()) < 0:
        return first.group(1) in _CODING_TYPE_BYTES
    return not _CODING_TYPE_BYTES.isdisjoint(_TYPE_MENTION.findall(line))


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

    The index holds where each resource's line is (file, offset, length), not its bytes:
    the export's own files are the store, read back with ``pread`` (the OS's page cache,
    not this process, holds them). Writing every line a second time into SQLite cost a
    third of reading an export, and a smaller index answers lookups from its page cache.
    Lines of compressed files (``.ndjson.gz``) cannot be read at an offset: theirs are
    kept in the index.
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
        # A rollback journal, not WAL: reading appends new pages, which a rollback journal
        # never copies, where WAL writes every page twice (reading took 6 us an encounter
        # more). Nothing reads the index while it is written.
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.execute("PRAGMA temp_store=FILE")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            for table in _TABLES:  # an index another version wrote: read again
                self._db.execute(f"DROP TABLE IF EXISTS {table}")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._db.executescript(_SCHEMA)
        self._conditional: dict[str, str] = {}  # resolved Type?query -> Type/id or reason
        self._scanned = 0  # resources read by searches with neither identifier nor _id
        self._queries: dict[str, str] = {}  # conditional reference as written -> normalised
        self._inline: frozenset[int] | None = None  # files whose lines the index holds
        self._fds: dict[int, int] = {}  # file number -> open descriptor, for pread
        self._fd_lock = threading.Lock()

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
        with self._fd_lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        self._release()
        self._db.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    # Reading files

    def add(self, files: Iterable[Path], report: IndexReport | None = None) -> IndexReport:
        """Read ``files`` into the index; a file read before and unchanged is skipped.

        A line that is not a JSON object is a problem naming the file and line, and the
        next line is read: one bad line never loses a population. A file read before that
        has changed since empties the index, which reads every file it knew again: its
        rows point into the old content, and may have replaced other files' versions.
        """
        report = report if report is not None else IndexReport()
        self._release()
        files = list(files)
        known = {
            path: (size, mtime_ns)
            for path, size, mtime_ns in self._db.execute("SELECT path, size, mtime_ns FROM files")
        }
        stats = {str(file.resolve()): file.stat() for file in files}
        if any(
            path in known and known[path] != (stat.st_size, stat.st_mtime_ns)
            for path, stat in stats.items()
        ):
            before = [Path(p) for p in known if p not in stats and Path(p).is_file()]
            self._empty()
            known = {}
            files = [*before, *files]
            stats = {str(file.resolve()): file.stat() for file in files}
        for file in files:
            stat = stats[str(file.resolve())]
            if known.get(str(file.resolve())) == (stat.st_size, stat.st_mtime_ns):
                report.files_skipped += 1
                continue
            self._add_file(file, stat.st_size, stat.st_mtime_ns, report)
            known[str(file.resolve())] = (stat.st_size, stat.st_mtime_ns)
            report.files += 1
        return report

    def _empty(self) -> None:
        with self._fd_lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        self._db.execute("BEGIN")
        for table in _TABLES:
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - our own names
        self._db.execute("COMMIT")
        self._conditional.clear()
        self._inline = None

    def _add_file(self, file: Path, size: int, mtime_ns: int, report: IndexReport) -> None:
        rows: list[Row] = []
        idents: list[tuple[str, str, str, str]] = []
        refs: set[str] = set()  # conditional references not yet written: few distinct
        lines = kept = 0
        db = self._db
        compressed = file.name.endswith(".gz")
        db.execute("BEGIN")
        try:
            (number_of_file,) = db.execute(
                "INSERT INTO files (path, size, mtime_ns, lines, kept) VALUES (?, ?, ?, 0, 0) "
                "RETURNING num",
                (str(file.resolve()), size, mtime_ns),
            ).fetchone()
            position = 0
            with _open(file) as stream:
                for number, line in enumerate(stream, start=1):
                    at, position = position, position + len(line)
                    if line.isspace():  # a blank line (no copy of every line to strip it)
                        continue
                    lines += 1
                    if len(line) > MAX_LINE_BYTES:
                        self._problem(report, file, number, "longer than the limit; not read")
                        continue
                    wanted = _coding_line(line)
                    if wanted is None:
                        self._problem(report, file, number, "not a FHIR resource; line skipped")
                        continue
                    if not wanted:
                        continue  # an Observation, a DocumentReference...: never parsed
                    where = (number_of_file, at, len(line), line.strip() if compressed else None)
                    row = self._row(line, where, file, number, report, (idents, refs))
                    if row is None:
                        continue
                    rows.append(row)
                    kept += 1
                    if len(rows) >= _BATCH:
                        self._flush(rows, idents, refs)
            self._flush(rows, idents, refs)
            db.execute(
                "UPDATE files SET lines = ?, kept = ? WHERE num = ?", (lines, kept, number_of_file)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._conditional.clear()
        self._inline = None
        report.lines += lines
        report.kept += kept

    def _flush(
        self,
        rows: list[Row],
        idents: list[tuple[str, str, str, str]],
        refs: set[str],
    ) -> None:
        self._db.executemany(_UPSERT, rows)
        self._db.executemany("INSERT INTO ident VALUES (?, ?, ?, ?)", idents)
        if refs:
            self._db.executemany("INSERT OR IGNORE INTO refs VALUES (?)", [(q,) for q in refs])
        rows.clear()
        idents.clear()
        refs.clear()

    def _problem(self, report: IndexReport, file: Path, number: int, why: str) -> None:
        report.add_problem(f"{file.name}:{number}: {why}")
        self._db.execute("INSERT INTO problems VALUES (?, ?, ?)", (str(file), number, why))

    def _row(
        self,
        line: bytes,
        where: tuple[int, int, int, bytes | None],
        file: Path,
        number: int,
        report: IndexReport,
        found: tuple[list[tuple[str, str, str, str]], set[str]],
    ) -> Row | None:
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
        idents, refs = found
        followed = FOLLOWED.get(kind)
        if followed is not None:
            refs.update(query for _, query in self._conditional_refs(resource, followed))
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
            *where,
        )

    def _conditional_refs(
        self, resource: dict[str, Any], followed: tuple[tuple[str, str, str], ...]
    ) -> Iterator[tuple[str, str]]:
        """``(field, Type?query)`` of each conditional reference in ``followed`` fields.

        Reading notes only the distinct queries (a few hundred practitioners and places, not
        one row per encounter); :meth:`unresolved` finds the resources that make one that
        cannot be answered by reading them again, which only a failure costs.
        """
        for name, inner, where in followed:
            value = resource.get(name)
            for item in value if isinstance(value, list) else [value]:
                target = item.get(inner) if inner and isinstance(item, dict) else item
                reference = _reference(target)
                if "?" in reference:
                    query = self._queries.get(reference)
                    if query is None:  # the same few practitioners and places, again and again
                        if len(self._queries) >= 10_000:
                            self._queries.clear()
                        query = self._queries[reference] = normalise_reference(
                            reference, self.base_url
                        )
                    yield where, query

    # Resolving conditional references

    def finish(self, report: IndexReport | None = None) -> IndexReport:
        """Resolve the conditional references of the export; report those that cannot be.

        Run once every file is read: a Condition's ``Encounter?identifier=...`` can only be
        answered when the Encounter's file has been read too. References resources are
        filed under are rewritten to what they match; the others coding follows
        (:data:`FOLLOWED`) are answered now, so each that cannot be is reported on its
        resource (and assembling an encounter finds the answer kept).
        """
        report = report if report is not None else IndexReport()
        self._release()
        db = self._db
        db.execute("BEGIN")
        try:
            after = ""
            while pending := db.execute(  # a patient's or encounter's each: a few at a time
                "SELECT DISTINCT owner FROM res WHERE owner > ? AND owner LIKE '%?%' "
                "ORDER BY owner LIMIT ?",
                (after, _RESOLVE_BATCH),
            ).fetchall():
                for (owner,) in pending:
                    found = self.resolve_search(owner)
                    if resolved(found):  # the new owner has no "?": the next batch skips it
                        db.execute("UPDATE res SET owner = ? WHERE owner = ?", (found, owner))
                after = pending[-1][0]
        finally:
            db.execute("COMMIT")
        for unresolved in self.unresolved():
            report.add_unresolved(unresolved)
        return report

    def unresolved(self) -> Iterator[Unresolved]:
        """Resources with a reference coding follows that names nothing in the export.

        Their encounter, subject or beneficiary (what they are filed under), and the
        conditional references of :data:`FOLLOWED` (practitioners, the service provider,
        listed diagnoses, payors), each with the reason. Streamed from the index: an
        export may have one or more per encounter.
        """
        self._hold()
        try:
            for kind, resource_id, owner in self._db.execute(
                "SELECT r.type, r.id, r.owner FROM res r WHERE r.owner != '' AND NOT EXISTS "
                "(SELECT 1 FROM res t WHERE t.type = substr(r.owner, 1, instr(r.owner, '/') - 1) "
                "AND t.id = substr(r.owner, instr(r.owner, '/') + 1))"
            ):
                reason = (
                    self.resolve_search(owner) if "?" in owner else f"{owner} is not in the export"
                )
                yield Unresolved(f"{kind}/{resource_id}", OWNER_FIELD[kind], owner, reason)
            queries = [q for (q,) in self._db.execute("SELECT query FROM refs").fetchall()]
            failed = {q: a for q in queries if not resolved(a := self.resolve_search(q))}
            if not failed:
                return
            marks = ", ".join("?" * len(FOLLOWED))
            for kind, resource_id, *where in self._db.execute(
                "SELECT type, id, file, pos, len, body FROM res NOT INDEXED "  # noqa: S608
                f"WHERE type IN ({marks}) ORDER BY seq",  # the table's own order: no sort
                tuple(FOLLOWED),
            ):
                resource = self._load(kind, resource_id, *where)
                for field_path, query in self._conditional_refs(resource, FOLLOWED[kind]):
                    if query in failed:
                        yield Unresolved(f"{kind}/{resource_id}", field_path, query, failed[query])
        finally:
            self._release()

    def resolve_search(self, query: str) -> str:
        """``Type/id`` of the one resource a conditional reference matches, else why not.

        The search forms of :mod:`adapters.bulk.export_search`; ``identifier`` and ``_id``
        narrow the candidates from the index's own tables, any other search reads the
        resources of its type (bounded: :data:`SCAN_LIMIT`, :data:`SCAN_BUDGET`).
        :func:`resolved` tells an answer from a reason.
        """
        cached = self._conditional.get(query)
        if cached is not None:
            return cached
        answer = self._search(query)
        if len(self._conditional) >= _ANSWERS_KEPT:
            self._conditional.clear()
        self._conditional[query] = answer
        return answer

    def _search(self, query: str) -> str:
        kind, _, text = query.partition("?")
        try:
            criteria = parse_criteria(kind, text)
        except SearchRefused as refused:
            return f"{query}: {refused}"
        narrowing: set[str] | None = None
        for criterion in criteria:
            if criterion.kind == "id" or criterion.name == "identifier":
                ids: set[str] = set()
                for value in criterion.values:
                    ids |= self._by_identifier(kind, value) if criterion.kind != "id" else {value}
                narrowing = ids if narrowing is None else narrowing & ids
        if narrowing is not None:
            candidates: Iterable[dict[str, Any] | None] = (
                self.get(kind, i) for i in sorted(narrowing)
            )
        else:
            (count,) = self._db.execute(
                "SELECT count(*) FROM res WHERE type = ?", (kind,)
            ).fetchone()
            if count > SCAN_LIMIT or self._scanned + count > SCAN_BUDGET:
                return (
                    f"{query} would read every one of the export's {count:,} {kind} resources "
                    "(a search with neither identifier nor _id): not run; name the target by "
                    "identifier or id"
                )
            self._scanned += count
            candidates = self._every(kind)
        found = [
            r["id"] for r in candidates if r is not None and matches(r, criteria, self.base_url)
        ]
        if len(found) == 1:
            return f"{kind}/{found[0]}"
        if not found:
            return f"{query} matches nothing in the export"
        return f"{query} matches {len(found)} {kind} resources, not one"

    def _every(self, kind: str) -> Iterator[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, file, pos, len, body FROM res WHERE type = ? ORDER BY seq", (kind,)
        ).fetchall()  # ids and places only: a few MiB at the scan limit
        for resource_id, file, pos, length, body in rows:
            yield self._load(kind, resource_id, file, pos, length, body)

    def _by_identifier(self, kind: str, token: str) -> set[str]:
        system, bar, value = token.rpartition("|")
        if not bar:
            rows = self._db.execute(
                "SELECT id FROM ident WHERE type = ? AND value = ?", (kind, value)
            )
        elif not value:  # "system|": any identifier in that system
            rows = self._db.execute(
                "SELECT id FROM ident WHERE type = ? AND system = ?", (kind, system)
            )
        else:
            rows = self._db.execute(
                "SELECT id FROM ident WHERE type = ? AND value = ? AND system = ?",
                (kind, value, system),
            )
        return {row[0] for row in rows}

    # Reading back

    def _hold(self) -> None:
        """Keep one read transaction open while reading back.

        In autocommit every query takes and drops SQLite's shared lock and checks for a
        hot journal (system calls each time): a point read took 9 us instead of 3.
        :meth:`add` and :meth:`finish` end it before they write.
        """
        if not self._db.in_transaction:
            self._db.execute("BEGIN")

    def _release(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def _descriptor(self, file: int) -> int:
        """An open descriptor of file number ``file``, checked unchanged since it was read."""
        with self._fd_lock:
            fd = self._fds.get(file)
            if fd is not None:
                return fd
            row = self._db.execute(
                "SELECT path, size, mtime_ns FROM files WHERE num = ?", (file,)
            ).fetchone()
            if row is None:
                raise ExportChangedError(f"file {file} of the index is not known to it")
            path, size, mtime_ns = row
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise ExportChangedError(
                    f"{path}: cannot be read again ({exc.strerror}); run the command again "
                    "with the export's files in place"
                ) from exc
            stat = os.fstat(fd)
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
                os.close(fd)
                raise ExportChangedError(
                    f"{path} changed after it was read; run the command again to read it anew"
                )
            self._fds[file] = fd
            return fd

    def _load(self, kind: str, resource_id: str, file: int, pos: int, length: int,
              body: bytes | None) -> dict[str, Any]:  # fmt: skip
        """The resource a row locates, parsed, checked to be the one the row names."""
        if body is None:
            fd = self._fds.get(file)  # open already, nearly always: no lock taken
            body = os.pread(fd if fd is not None else self._descriptor(file), length, pos)
        data = body
        try:
            resource = orjson.loads(data)
        except orjson.JSONDecodeError:
            resource = None
        if (
            not isinstance(resource, dict)
            or resource.get("id") != resource_id
            or resource.get("resourceType") != kind
        ):
            raise ExportChangedError(
                f"{kind}/{resource_id} is no longer where its file had it: the file changed "
                "after it was read; run the command again to read it anew"
            )
        return resource

    def get(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        """The resource ``kind/resource_id``, parsed, or None."""
        self._hold()
        row = self._db.execute(
            "SELECT file, pos, len, body FROM res WHERE type = ? AND id = ?", (kind, resource_id)
        ).fetchone()
        return self._load(kind, resource_id, *row) if row is not None else None

    def locate_each(self, kind: str, resource_ids: Sequence[str]) -> dict[str, Where]:
        """Where the resources ``kind/id`` of ``resource_ids`` are (those the index holds).

        Several looked up in one query, each read with :meth:`load_at` only when needed: a
        batch of parsed resources waiting for their turn made Python's collector (which
        walks what survives) cost more than the queries saved.
        """
        if not resource_ids:
            return {}
        self._hold()
        marks, values = _in_list(resource_ids)
        rows = self._db.execute(
            "SELECT id, file, pos, len, body FROM res "  # noqa: S608 - marks only
            f"WHERE type = ? AND id IN ({marks})",
            (kind, *values),
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def load_at(self, kind: str, resource_id: str, where: Where) -> dict[str, Any]:
        """The resource :meth:`locate_each` found, parsed."""
        return self._load(kind, resource_id, *where)

    def owned_by_type(self, owner: str, kinds: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        """The resources of each of ``kinds`` filed under ``owner``, in one query."""
        return self.owned_by_each([owner], kinds)[owner]

    def owned_by_each(
        self, owners: Sequence[str], kinds: tuple[str, ...]
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """:meth:`owned_by_type` for several owners, in one query."""
        located = self.locate_owned(owners)
        return {owner: self.load_located(located.get(owner, []), kinds) for owner in owners}

    def locate_owned(self, owners: Sequence[str]) -> dict[str, list[Located]]:
        """Where the resources filed under each of ``owners`` are, in the export's order.

        One query for several owners (a few patients' encounters and the patients). It
        asks by owner alone (an index range each; with the kinds in it too SQLite probed
        every owner-kind pair and sorted), and the owner index holds where each line is,
        so the table is never read. :meth:`load_located` reads them when their turn comes.
        """
        self._hold()
        marks, values = _in_list(owners)
        rows = self._db.execute(
            "SELECT seq, owner, type, id, file, pos, len FROM res "  # noqa: S608 - marks only
            f"WHERE owner IN ({marks})",
            values,
        ).fetchall()
        rows.sort()  # by seq: the export's order
        found: dict[str, list[Located]] = {}
        for seq, owner, kind, resource_id, file, pos, length in rows:
            found.setdefault(owner, []).append((seq, kind, resource_id, file, pos, length))
        return found

    def load_located(
        self, located: Sequence[Located], kinds: tuple[str, ...]
    ) -> dict[str, list[dict[str, Any]]]:
        """The resources of ``kinds`` among ``located`` (:meth:`locate_owned`), parsed, by kind."""
        found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        inline = self._inline_files()
        for seq, kind, resource_id, file, pos, length in located:
            wanted = found.get(kind)
            if wanted is not None:
                body = self._inline_body(seq) if file in inline else None
                wanted.append(self._load(kind, resource_id, file, pos, length, body))
        return found

    def _inline_files(self) -> frozenset[int]:
        """The numbers of the files whose lines the index holds (compressed ones)."""
        if self._inline is None:
            self._inline = frozenset(
                num for (num,) in self._db.execute("SELECT num FROM files WHERE path LIKE '%.gz'")
            )
        return self._inline

    def _inline_body(self, seq: int) -> bytes | None:
        row = self._db.execute("SELECT body FROM res WHERE seq = ?", (seq,)).fetchone()
        return cast("bytes | None", row[0]) if row is not None else None

    def owned(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """The resources of ``kind`` filed under ``owner`` (``Encounter/1``, ``Patient/2``)."""
        return self.owned_by_each([owner], (kind,))[owner][kind]

    def encounters(self, status: str | None = "finished") -> Iterator[tuple[str, str, str]]:
        """``(id, version, subject)`` of each Encounter (with ``status`` unless None).

        Streamed patient by patient (each patient's in the order the export held them, so
        a patient and their Coverage are read once for all their encounters); ``subject``
        is the patient's id when the subject resolves to a Patient in the export, else "".
        """
        for resource_id, version, owner, *_ in self._encounter_rows(status):
            yield resource_id, version, _patient_id(owner)

    def encounter_places(
        self, status: str | None = "finished"
    ) -> Iterator[tuple[str, str, str, Where]]:
        """:meth:`encounters` with where each Encounter is, for :meth:`load_at`: one query for both.

        Not parsed here: a caller that reads a few patients' encounters ahead parses each
        when its turn comes, so the parsed resources do not outlive their encounter (held
        for a group, they survived into the collector's older generations).
        """
        for resource_id, version, owner, file, pos, length, body in self._encounter_rows(status):
            yield resource_id, version, _patient_id(owner), (file, pos, length, body)

    def _encounter_rows(
        self, status: str | None
    ) -> Iterator[tuple[str, str, str, int, int, int, bytes | None]]:
        """The Encounters' rows, walked in the order of ``res_encounter``.

        That index holds the Encounters' owners (their subjects), and SQLite keeps each
        entry's rowid (``seq``) after it: walking it is ``ORDER BY owner, seq`` with no
        sort. Ordered from ``res_key`` instead, SQLite sorted every Encounter first, in
        memory up to the page cache's size before it spilled (16 MiB at 100,000
        encounters, more with the population). ``INDEXED BY`` because without statistics
        the planner prefers ``res_key`` and the sort.
        """
        where, params = ("AND status = ?", (status,)) if status is not None else ("", ())
        self._hold()
        return cast(
            "Iterator[tuple[str, str, str, int, int, int, bytes | None]]",
            self._db.execute(ENCOUNTER_ROWS.format(where=where), params),
        )

    def counts(self) -> dict[str, int]:
        """Resources kept, per type."""
        return dict(self._db.execute("SELECT type, count(*) FROM res GROUP BY type").fetchall())


def _in_list(values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``?, ?, ...`` for an ``IN`` list of ``values``, and the values to bind.

    Their number rounded up to a power of two, the last value repeated (``IN`` answers
    each value once): each length is another statement, prepared and kept in the
    connection's statement cache, and groups of every length from 1 to 600 filled it with
    large statements as the population grew. Now at most eleven lengths.
    """
    if not values:
        return "", ()  # IN (): nothing
    size = 1
    while size < len(values):
        size *= 2
    return ", ".join("?" * size), (*values, *(values[-1],) * (size - len(values)))


def _patient_id(owner: str) -> str:
    return owner.removeprefix("Patient/") if owner.startswith("Patient/") else ""
