"""Loading data files into a store: transaction Bundles, and folders of them or of NDJSON.

``python -m sandbox --load PATH`` uses this. A Bundle file runs as the transaction (or
batch) it is; an NDJSON file (one resource per line, as bulk data export writes it) runs as
transactions of at most :data:`NDJSON_CHUNK` resources, each a PUT when it carries an id
(so references between files hold) and a POST otherwise. A folder loads its ``*.json`` and
``*.ndjson`` files in name order. Any failure stops the load with the file named.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from fhir_coder.errors import FhirCoderError
from sandbox.bundles import process_bundle
from sandbox.problems import FhirRequestError
from sandbox.store import Store

__all__ = ["NDJSON_CHUNK", "LoadError", "load_path"]

NDJSON_CHUNK = 500


class LoadError(FhirCoderError):
    """A data file that could not be loaded, with the file and the reason."""


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if isinstance(resource_id, str) and resource_id:
        request = {"method": "PUT", "url": f"{resource_type}/{resource_id}"}
    else:
        request = {"method": "POST", "url": str(resource_type)}
    return {"resource": resource, "request": request}


def _ndjson_bundles(path: Path) -> Iterator[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LoadError(f"{path}:{number}: not JSON ({exc})") from exc
            if not isinstance(resource, dict):
                raise LoadError(f"{path}:{number}: not a FHIR resource")
            entries.append(_entry(resource))
            if len(entries) == NDJSON_CHUNK:
                yield {"resourceType": "Bundle", "type": "transaction", "entry": entries}
                entries = []
    if entries:
        yield {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _file_bundles(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".ndjson":
        yield from _ndjson_bundles(path)
        return
    try:
        bundle = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise LoadError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise LoadError(f"{path}: not a Bundle")
    yield bundle


def load_path(store: Store, path: Path) -> int:
    """Load a Bundle file, an NDJSON file or a folder of them; how many entries were written."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".json", ".ndjson"})
    elif path.is_file():
        files = [path]
    else:
        raise LoadError(f"{path}: no such file or folder")
    written = 0
    for file in files:
        for bundle in _file_bundles(file):
            try:
                response = process_bundle(store, bundle)
            except FhirRequestError as exc:
                text = "; ".join(issue.message for issue in exc.issues)
                raise LoadError(f"{file}: refused ({exc.status}): {text}") from exc
            written += len(response.get("entry") or [])
    return written
