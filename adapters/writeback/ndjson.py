"""The NDJSON file Claims are appended to: one transaction Bundle per write, whole or not at all.

Each write is one line of ``Bundle.ndjson``: a FHIR ``transaction`` Bundle that PUTs the
Claim, its Provenance and, for a draft, the coder's Task by id. One line is one append,
so a Claim never lands without its companions, and a reader (or a FHIR server the lines
are POSTed to) gets the three together. The append is made complete: every byte is
written (short writes loop), the file is fsynced, and on failure the file is cut back to
where it was, so no torn line stays behind; a line torn by a crash (power, SIGKILL in
mid-write) is cut off by the next writer before it appends.

Processes writing the same folder take the file's lock (``flock``) for each append. Each
keeps an index of the latest line of every Claim id, read forward from where it last
stopped, so it finds what another process appended: the writer asks it before writing a
Claim its ledger does not know, and a restart never appends the same Claim again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from fhir_coder.errors import FhirCoderError

__all__ = ["BUNDLE_FILE", "NdjsonFile", "NdjsonWriteError", "read_claims", "write_bundle"]

BUNDLE_FILE: Final = "Bundle.ndjson"
"""The file in the destination folder: one transaction Bundle a line."""


class NdjsonWriteError(FhirCoderError):
    """The folder could not take a line (disk full, permissions); the file is as it was."""

    def __init__(self, path: Path, error: OSError) -> None:
        code = errno.errorcode.get(error.errno or 0, "EIO")
        super().__init__(f"could not append to {path}: {code}")
        self.path = path
        self.code = code


def write_bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The transaction Bundle that PUTs ``resources`` (the Claim first) by their ids."""
    entries = []
    for resource in resources:
        url = f"{resource['resourceType']}/{resource['id']}"
        entries.append(
            {"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": url}}
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _claim_of(bundle: object) -> dict[str, Any] | None:
    if not isinstance(bundle, dict):
        return None
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Claim":
            return resource
    return None


@dataclass(frozen=True, slots=True)
class _Line:
    offset: int
    length: int


class NdjsonFile:
    """``Bundle.ndjson`` in one folder: complete appends, and the latest line of each Claim."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / BUNDLE_FILE
        self._index: dict[str, _Line] = {}
        self._indexed = 0  # bytes of the file read into the index
        self._lock = threading.Lock()  # the index, between this process's threads

    def append(self, resources: list[dict[str, Any]], *, after: int | None = None) -> int | None:
        """Append one Bundle of ``resources`` as one line; the line's offset (its version).

        ``after`` is the offset of the Claim's line the writer last saw (-1: none): when
        another line of that Claim came since, nothing is appended and None says so (as a
        412 does for ``If-Match``). None skips the check.
        """
        claim_id = str(resources[0]["id"])
        line = orjson.dumps(write_bundle(resources)) + b"\n"
        with self._lock, self._locked(fcntl.LOCK_EX) as descriptor:
            size = _cut_torn_tail(descriptor)
            self._catch_up(descriptor, size)
            if after is not None:
                latest = self._index.get(claim_id)
                if (latest.offset if latest is not None else -1) != after:
                    return None
            try:
                _write_all(descriptor, line)
                os.fsync(descriptor)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(descriptor, size)
                    os.fsync(descriptor)
                raise NdjsonWriteError(self.path, exc) from exc
            self._index[claim_id] = _Line(size, len(line))
            self._indexed = size + len(line)
            return size

    def latest(self, claim_id: str) -> tuple[int, dict[str, Any]] | None:
        """The last line written for ``claim_id`` (by any process): its offset and its Claim."""
        if not self.path.exists():
            return None
        with self._lock, self._locked(fcntl.LOCK_SH) as descriptor:
            self._catch_up(descriptor, os.fstat(descriptor).st_size)
            found = self._index.get(claim_id)
            if found is None:
                return None
            claim = _claim_of(orjson.loads(os.pread(descriptor, found.length, found.offset)))
        return (found.offset, claim) if claim is not None else None

    @contextlib.contextmanager
    def _locked(self, kind: int) -> Iterator[int]:
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise NdjsonWriteError(self.path, exc) from exc
        try:
            fcntl.flock(descriptor, kind)
            yield descriptor
        finally:
            os.close(descriptor)  # closing drops the lock

    def _catch_up(self, descriptor: int, end: int) -> None:
        """Index the complete lines between what was read before and ``end``."""
        if end < self._indexed:  # the file was cut shorter (a torn tail repaired): read again
            self._index.clear()
            self._indexed = 0
        size = 1 << 20
        while self._indexed < end:
            chunk = os.pread(descriptor, min(end - self._indexed, size), self._indexed)
            last = chunk.rfind(b"\n")
            if last < 0:
                if self._indexed + len(chunk) >= end:
                    return  # an incomplete line at the end: torn, cut by the next append
                size *= 2  # a line longer than the chunk: read more at once
                continue
            position = self._indexed
            for raw in chunk[:last].split(b"\n"):
                claim = _claim_of(_parse(raw))
                if claim is not None and "id" in claim:
                    self._index[str(claim["id"])] = _Line(position, len(raw) + 1)
                position += len(raw) + 1
            self._indexed = position


def _parse(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _write_all(descriptor: int, data: bytes) -> None:
    """Write every byte of ``data``: ``os.write`` may write fewer (a signal, a full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written == 0:
            raise OSError(errno.ENOSPC, "no byte written")
        view = view[written:]


def _cut_torn_tail(descriptor: int) -> int:
    """Cut a line left incomplete by a crash; the file's size after."""
    size = os.fstat(descriptor).st_size
    if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
        return size
    position = size
    while position > 0:
        start = max(0, position - 65536)
        found = os.pread(descriptor, position - start, start).rfind(b"\n")
        if found >= 0:
            position = start + found + 1
            break
        position = start
    os.ftruncate(descriptor, position)
    return position


def read_claims(folder: Path) -> dict[str, dict[str, Any]]:
    """The Claims in a folder's ``Bundle.ndjson``, the latest line of each id winning."""
    path = folder / BUNDLE_FILE
    claims: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return claims
    with path.open("rb") as lines:
        for raw in lines:
            claim = _claim_of(_parse(raw)) if raw.endswith(b"\n") else None
            if claim is not None:
                claims[str(claim["id"])] = claim
    return claims
