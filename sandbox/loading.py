"""Loading data files into a store: Bulk Data exports (NDJSON), transaction Bundles, folders.

``python -m sandbox --load PATH`` uses this. Exports come as one NDJSON file per type, in
no particular order, and Synthea-based ones point at practitioners, organisations and
locations by conditional reference (``Practitioner?identifier=...|999``): a
DocumentReference may be read long before the Practitioner it names. So loading goes in
dependency order rather than file order:

1. every NDJSON line without a conditional reference is written as it is read (a PUT when
   it carries an id, so references between files hold; a POST otherwise), in transactions
   of :data:`NDJSON_CHUNK`; the lines with one are only noted (file and offset: memory
   stays small whatever the export's size);
2. the Bundle files run as the transactions (or batches) they are;
3. the noted lines are read again and their conditional references resolved by the
   store's own search, round after round, so one that needs another noted resource (an
   Encounter naming a Location that names its Organization by identifier) waits for it.
   What still matches nothing once no round makes progress is kept as a logical reference
   (``Reference.identifier``, when the search was by identifier) and reported; a reference
   that matches several resources, or a search the store cannot run, keeps its resource
   out, reported.

Problems are reported per resource (file and line), never as a refusal of a whole file: a
line that is not JSON, a resource the store refuses (invalid R4), an unresolved reference.
A file that cannot be used at all (missing, a ``.json`` that is no Bundle, a refused
transaction Bundle) is a :class:`LoadError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from fhir_coder.errors import FhirCoderError
from sandbox.bundles import process_bundle
from sandbox.conditional import match_one
from sandbox.problems import FhirRequestError
from sandbox.resource_types import is_resource_type
from sandbox.store import Store

__all__ = ["NDJSON_CHUNK", "LoadError", "LoadReport", "load_path", "load_paths"]

NDJSON_CHUNK = 500


class LoadError(FhirCoderError):
    """A data file that could not be loaded, with the file and the reason."""


@dataclass(slots=True)
class LoadReport:
    """What a load wrote, and each resource or reference it could not, with where and why."""

    written: int = 0
    refused: list[str] = field(default_factory=list)  # "file:line Type/id: why"
    unresolved: list[str] = field(default_factory=list)  # "Type/id path: reference: why"

    @property
    def clean(self) -> bool:
        """Whether everything loaded with every reference resolved."""
        return not (self.refused or self.unresolved)


@dataclass(frozen=True, slots=True)
class _Noted:
    """A line to load once its conditional references can be resolved."""

    path: Path
    offset: int
    line: int


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if isinstance(resource_id, str) and resource_id:
        request = {"method": "PUT", "url": f"{resource_type}/{resource_id}"}
    else:
        request = {"method": "POST", "url": str(resource_type)}
    return {"resource": resource, "request": request}


def _conditional(reference: object) -> tuple[str, str] | None:
    """``("Practitioner", "identifier=...")`` for ``Practitioner?identifier=...``, else None."""
    if not isinstance(reference, str):
        return None
    head, question, query = reference.partition("?")
    if not question or "/" in head or not head[:1].isupper():
        return None
    return head, query


def _has_conditional(node: object) -> bool:
    if isinstance(node, list):
        return any(_has_conditional(item) for item in node)
    if isinstance(node, dict):
        if _conditional(node.get("reference")) is not None:
            return True
        return any(_has_conditional(value) for value in node.values())
    return False


def _key(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '(no id)')}"


# Resolving


class _Resolver:
    """Conditional references answered by the store's search, each query asked once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.found: dict[str, str] = {}  # query -> Type/id
        self.final: dict[str, str] = {}  # query -> why it never will resolve

    def __call__(self, reference: str) -> str | None:
        """``Type/id`` it matches now, else None (the reason in :attr:`final` if permanent)."""
        if reference in self.found:
            return self.found[reference]
        if reference in self.final:
            return None
        kind, query = _conditional(reference) or ("", "")
        if not is_resource_type(kind):
            self.final[reference] = f"{kind} is not an R4 resource type"
            return None
        try:
            match = match_one(self.store, kind, query, fhir_base="")
        except FhirRequestError as exc:
            self.final[reference] = "; ".join(i.message for i in exc.issues)
            return None
        if match is None:
            return None
        self.found[reference] = match.reference
        return match.reference


def _logical(value: dict[str, Any], kind: str, query: str) -> dict[str, Any] | None:
    """A Reference naming its target by identifier alone, when the search was by identifier."""
    params = parse_qsl(query, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier":
        return None
    system, bar, code = params[0][1].rpartition("|")
    identifier = {"system": system, "value": code} if bar and system else {"value": code}
    out = {k: v for k, v in value.items() if k != "reference"}
    return {**out, "type": kind, "identifier": identifier}


def _rewrite(
    node: Any,  # noqa: ANN401 - any JSON value
    resolve: Callable[[str], str | None],
    missing: list[tuple[str, str]],
    path: str,
) -> Any:  # noqa: ANN401 - the same JSON value, rewritten
    """A copy of ``node`` with each conditional reference that resolves written as ``Type/id``.

    Each one that does not is added to ``missing`` as (path, reference) and left as it is.
    Every dict and list is copied, so the caller may change the result in place.
    """
    if isinstance(node, list):
        return [_rewrite(item, resolve, missing, f"{path}[{n}]") for n, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    reference = node.get("reference")
    if _conditional(reference) is not None:
        found = resolve(str(reference))
        if found is None:
            missing.append((path, str(reference)))
            return node
        return {**node, "reference": found}
    return {
        key: _rewrite(value, resolve, missing, f"{path}.{key}" if path else key)
        for key, value in node.items()
    }


# Writing


def _write(store: Store, batch: list[tuple[str, dict[str, Any]]], report: LoadReport) -> None:
    """Write ``batch`` (where, resource) as one transaction; entry by entry if refused.

    The fallback finds the resource the store refuses, reports it with its line, and
    writes the others: one invalid resource never costs its 499 neighbours.
    """
    if not batch:
        return
    entries = [_entry(resource) for _, resource in batch]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    try:
        response = process_bundle(store, bundle)
    except FhirRequestError:
        pass
    else:
        report.written += len(response.get("entry") or [])
        return
    for where, resource in batch:
        one = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(resource)]}
        try:
            process_bundle(store, one)
        except FhirRequestError as exc:
            text = "; ".join(issue.message for issue in exc.issues)
            report.refused.append(f"{where} {_key(resource)}: refused ({exc.status}): {text}")
            continue
        report.written += 1


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """``(line number, byte offset, line)`` of each non-empty line."""
    with path.open("rb") as stream:
        offset = 0
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, offset, line
            offset += len(line)


def _parse(line: bytes, where: str, report: LoadReport) -> dict[str, Any] | None:
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        report.refused.append(f"{where}: not JSON; line skipped")
        return None
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        report.refused.append(f"{where}: not a FHIR resource; line skipped")
        return None
    return resource


def _first_pass(store: Store, path: Path, report: LoadReport, noted: list[_Noted]) -> None:
    batch: list[tuple[str, dict[str, Any]]] = []
    for number, offset, line in _lines(path):
        where = f"{path.name}:{number}"
        resource = _parse(line, where, report)
        if resource is None:
            continue
        if _has_conditional(resource):
            noted.append(_Noted(path, offset, number))
            continue
        batch.append((where, resource))
        if len(batch) == NDJSON_CHUNK:
            _write(store, batch, report)
            batch = []
    _write(store, batch, report)


def _read_noted(noted: _Noted) -> bytes:
    with noted.path.open("rb") as stream:
        stream.seek(noted.offset)
        return stream.readline()


def _rounds(store: Store, noted: list[_Noted], report: LoadReport) -> None:
    """Load the noted lines as their references resolve; what never does, as described above."""
    resolve = _Resolver(store)
    waiting = noted
    while waiting:
        later: list[_Noted] = []
        batch: list[tuple[str, dict[str, Any]]] = []
        for item in waiting:
            where = f"{item.path.name}:{item.line}"
            resource = _parse(_read_noted(item), where, report)
            if resource is None:
                continue
            missing: list[tuple[str, str]] = []
            rewritten = _rewrite(resource, resolve, missing, "")
            if any(ref not in resolve.final for _, ref in missing):
                later.append(item)  # its target may be among the waiting ones
                continue
            if missing:
                rewritten = _give_up(rewritten, missing, resolve, where, report)
                if rewritten is None:
                    continue
            batch.append((where, rewritten))
            if len(batch) == NDJSON_CHUNK:
                _write(store, batch, report)
                batch = []
        _write(store, batch, report)
        if len(later) == len(waiting):  # no progress: nothing waiting can appear any more
            for ref in {r for item in later for r in _pending_refs(item, resolve)}:
                resolve.final.setdefault(ref, "matches nothing loaded")
        waiting = later


def _pending_refs(item: _Noted, resolve: _Resolver) -> list[str]:
    resource = orjson.loads(_read_noted(item))
    missing: list[tuple[str, str]] = []
    _rewrite(resource, resolve, missing, "")
    return [ref for _, ref in missing]


def _give_up(
    resource: dict[str, Any],
    missing: list[tuple[str, str]],
    resolve: _Resolver,
    where: str,
    report: LoadReport,
) -> dict[str, Any] | None:
    """``resource`` with each reference that never resolves kept logically, or None.

    A search by identifier alone becomes ``Reference.identifier`` (FHIR's logical
    reference: nothing is lost, and gathering follows it); any other search cannot be
    kept, so the resource stays out. Either way the report names it.
    """
    key = _key(resource)
    kept: dict[str, dict[str, Any]] = {}
    for path, reference in missing:
        reason = resolve.final.get(reference, "matches nothing loaded")
        kind, query = _conditional(reference) or ("", "")
        value = _at(resource, path)
        logical = _logical(value, kind, query) if isinstance(value, dict) else None
        if logical is None:
            report.refused.append(f"{where} {key}: {path} {reference}: {reason}; not loaded")
            return None
        kept[path] = logical
        report.unresolved.append(
            f"{where} {key}: {path} {reference}: {reason}; kept as a logical reference"
        )
    for path, logical in kept.items():
        _set(resource, path, logical)  # a copy made by _rewrite: the caller's is untouched
    return resource


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            steps.append(int(part[1:-1]))
        elif part:
            steps.append(part)
    return steps


def _at(node: Any, path: str) -> Any:  # noqa: ANN401 - any JSON value
    for step in _steps(path):
        node = node[step]
    return node


def _set(node: Any, path: str, value: Any) -> None:  # noqa: ANN401 - any JSON value
    *parents, last = _steps(path)
    for step in parents:
        node = node[step]
    node[last] = value


# Files


def _files(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Each file to load, and whether it was named (not found in a folder)."""
    files: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in {".json", ".ndjson"})
            files.extend((p, False) for p in found)
        elif path.is_file():
            files.append((path, True))
        else:
            raise LoadError(f"{path}: no such file or folder")
    return files


def _bundle(store: Store, path: Path, report: LoadReport, *, named: bool) -> None:
    """Run a Bundle file.

    A ``.json`` in a folder that is no Bundle (an export's manifest or state file) is
    reported and passed over; one named on the command line is an error.
    """
    try:
        bundle = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise LoadError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        if not named:
            report.refused.append(f"{path.name}: not a Bundle; skipped")
            return
        raise LoadError(f"{path}: not a Bundle")
    try:
        response = process_bundle(store, bundle)
    except FhirRequestError as exc:
        text = "; ".join(issue.message for issue in exc.issues)
        raise LoadError(f"{path}: refused ({exc.status}): {text}") from exc
    report.written += len(response.get("entry") or [])


def load_paths(store: Store, paths: Sequence[Path]) -> LoadReport:
    """Load NDJSON files, Bundle files and folders of them, in dependency order.

    Raises :class:`LoadError` for a file that cannot be used at all; everything a single
    resource gets wrong is in the report.
    """
    files = _files(paths)
    report = LoadReport()
    noted: list[_Noted] = []
    for file, _ in files:
        if file.suffix == ".ndjson":
            _first_pass(store, file, report, noted)
    for file, named in files:
        if file.suffix != ".ndjson":
            _bundle(store, file, report, named=named)
    _rounds(store, noted, report)
    return report


def load_path(store: Store, path: Path) -> int:
    """Load one file or folder (:func:`load_paths`); how many entries were written."""
    return load_paths(store, [path]).written
