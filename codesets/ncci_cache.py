"""The parsed NCCI PTP and MUE tables, compiled once into the cache folder.

Parsing CMS's several million PTP rows takes seconds; reading back the compiled arrays
takes a few tens of milliseconds. A compiled file is named by everything it was compiled
from: this module's format, the Python version, the byte order, and for every source file
its path, kind, setting and the SHA-256 of its bytes. Any change to any file (contents,
name, a file added or removed) selects another name, so a stale compilation is never
read, however the file's size or time stamps were kept. Hashing is the price of that on
every start: about 30 ms per 50 MB.

The name's digests are those of the bytes that were actually parsed (hashed during the
parse, not before it), so a file replaced while it was being read cannot have the new
tables cached under the old contents. When a new file is written, the older ones compiled
for the same folders are deleted: each quarter's release replaces the last. The file
format and its checks (length, CRC-32, atomic replacement) are :mod:`codesets.cache`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from pathlib import Path
from typing import Final

from codesets.cache import read_payload, write_payload
from codesets.ncci_files import SourceFile, digest, read_bytes, read_tables, source_files
from codesets.ncci_tables import NcciTables

__all__ = ["FORMAT", "load_tables"]

FORMAT: Final = 1
"""Raise when the payload of :class:`NcciTables` changes: old files are then ignored."""

_SUFFIX: Final = ".ncci"
_logger = logging.getLogger(__name__)


def load_tables(ptp_dir: Path | None, mue_dir: Path | None, cache_folder: Path) -> NcciTables:
    """The tables of the files in the folders, from ``cache_folder`` when compiled there.

    Otherwise the files are parsed and the result written there for the next start; a
    folder that cannot be written only costs that (a warning is logged).
    """
    files = source_files(ptp_dir, mue_dir)
    if not files:  # no folder configured: nothing worth a file
        return read_tables(files)[0]
    scope = _scope(ptp_dir, mue_dir)
    key = _key(files, [digest(read_bytes(file.path)) for file in files])
    path = cache_folder / f"ncci-{scope}-{key}{_SUFFIX}"
    try:
        payload = read_payload(path)
        if isinstance(payload, dict) and payload.get("key") == key:
            return NcciTables.from_payload(payload["tables"])
    except (OSError, ValueError, TypeError, KeyError, OverflowError):
        pass  # missing, unreadable, damaged or not ours: parse again
    tables, parsed = read_tables(files)
    key = _key(files, parsed)
    path = cache_folder / f"ncci-{scope}-{key}{_SUFFIX}"
    try:
        write_payload(path, {"key": key, "tables": tables.payload()})
    except OSError as exc:
        _logger.warning("could not cache the NCCI/MUE tables: %s", exc)
    else:
        for older in cache_folder.glob(f"ncci-{scope}-*{_SUFFIX}"):
            if older != path:
                with contextlib.suppress(OSError):  # another process's, or already gone
                    older.unlink()
    return tables


def _scope(ptp_dir: Path | None, mue_dir: Path | None) -> str:
    """Names the configured folders: compilations of the same folders replace each other."""
    folders = "\n".join(str(folder.resolve()) if folder else "" for folder in (ptp_dir, mue_dir))
    return hashlib.sha256(folders.encode()).hexdigest()[:16]


def _key(files: list[SourceFile], digests: list[str]) -> str:
    parts = [f"format {FORMAT}", f"python {sys.version_info[:2]}", sys.byteorder]
    parts += [
        f"{file.kind} {file.setting} {file.path} {d}"
        for file, d in zip(files, digests, strict=True)
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
