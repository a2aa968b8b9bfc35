"""The suggestions' cold start: the word index and the coders' index, cached beside the code set.

The first suggestion of a process used to build both from their sources: the word index
(:class:`codesets.search.Icd10cmSearch`, every description and inclusion term split into words,
about 0.75 s of CPU) and the coders' index (:class:`codesets.coders_index.CodersIndex`, some
13,000 Index rows read and parsed, about 0.2 s). Both are plain data once built, so they are
kept as ``marshal`` payloads in the code-set cache folder (:mod:`codesets.cache`: checksummed,
written atomically, never trusted when damaged) and read back in a fraction of that.

A cache is used only when its key matches what it was built from, so a change is never read
stale:

* the word index: the compiled ICD-10-CM index's key (the code-set packages, the index format,
  the Python version) and the source of :mod:`codesets.search`, which splits the words;
* the coders' index: the content of every table in ``codesets/data/suggest/index/`` (names and
  bytes) and the source of :mod:`codesets.coders_index`, :mod:`codesets.search` and
  :mod:`codesets.suggest_words` (its pronouns are no needed words), which parse the terms.

The key is a digest of those bytes (hashing them costs a few milliseconds); a file is named
by it, so processes of different trees sharing one cache folder each find their own. Each new
key is a new file (the word index is about 20 MB), so a folder would grow with every upgrade:
when one is written, only the :data:`KEEP` most recently used files of its kind stay (a file's
modification time is set when it is read, so the versions still in use are the ones kept).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from codesets import coders_index as coders_index_module
from codesets import search as search_module
from codesets import suggest_words as words_module
from codesets.cache import CorruptCacheError, cache_dir, read_payload, write_payload
from codesets.coders_index import FOLDER, CodersIndex, read_index
from codesets.search import Icd10cmSearch

__all__ = [
    "FORMAT",
    "KEEP",
    "cached_coders_index",
    "cached_search",
    "coders_index",
    "source_digest",
]

FORMAT: Final = 1
"""The payloads' layout: changed when :meth:`Icd10cmSearch.payload` or
:meth:`CodersIndex.payload` change shape."""


KEEP: Final = 3
"""How many files of one kind (one code set's word index; the coders' index) a folder keeps:
the current version and two others still used (another checkout or release sharing the folder)."""


def source_digest(*parts: bytes) -> str:
    """A short digest naming ``parts`` (file contents, keys) and :data:`FORMAT`."""
    digest = hashlib.sha256(f"suggest-cache-{FORMAT}".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()[:20]


def _source(module: object) -> bytes:
    path = getattr(module, "__file__", None)
    return Path(path).read_bytes() if path else b""


def cached_search(
    folder: Path, index_key: str, build: Callable[[], Icd10cmSearch]
) -> Icd10cmSearch:
    """The word index of the code set ``index_key``, from ``folder`` or ``build`` (then kept)."""
    key = source_digest(index_key.encode(), _source(search_module))
    path = folder / f"{index_key}-words-{key}.marshal"
    payload = _read(path, key)
    if payload is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return Icd10cmSearch.from_payload(payload)
    built = build()
    _write(path, key, built.payload(), kind=f"{index_key}-words-*.marshal")
    return built


def cached_coders_index(tables: Path, folder: Path | None = None) -> CodersIndex:
    """The coders' index of the ``*.tsv`` tables in ``tables``, cached in ``folder``.

    ``folder`` defaults to :func:`codesets.cache.cache_dir`. No tables: an empty index, not
    cached.
    """
    files = sorted(tables.glob("*.tsv")) if tables.is_dir() else []
    if not files:
        return read_index(tables)
    parts = [_source(coders_index_module), _source(search_module), _source(words_module)]
    for file in files:
        parts += [file.name.encode(), file.read_bytes()]
    key = source_digest(*parts)
    path = (folder or cache_dir()) / f"coders-index-{key}.marshal"
    payload = _read(path, key)
    if payload is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return CodersIndex.from_payload(payload)
    built = read_index(tables)
    _write(path, key, built.payload(), kind="coders-index-*.marshal")
    return built


def _read(path: Path, key: str) -> dict[str, object] | None:
    """The payload at ``path`` if it is one of ``key``; None when absent or untrustworthy."""
    try:
        payload = read_payload(path)
    except (OSError, CorruptCacheError):  # missing, unreadable or damaged: rebuilt
        return None
    if isinstance(payload, dict) and payload.get("key") == key and payload.get("format") == FORMAT:
        with contextlib.suppress(OSError):  # marks it used, so pruning keeps it
            os.utime(path)
        return payload
    return None


def _write(path: Path, key: str, payload: dict[str, object], *, kind: str) -> None:
    """Keep ``payload`` at ``path``, then prune the folder's files of its ``kind`` (a glob).

    An unwritable folder only costs the next start a build.
    """
    with contextlib.suppress(OSError):
        write_payload(path, {**payload, "key": key, "format": FORMAT})
        _prune(path.parent, kind)


def _prune(folder: Path, kind: str) -> None:
    """Remove all but the :data:`KEEP` most recently used files matching ``kind``.

    A process still reading a removed file's version finds it gone and builds it again:
    the cost of a cold start, never a wrong answer.
    """
    used: list[tuple[float, Path]] = []
    for file in folder.glob(kind):
        with contextlib.suppress(OSError):
            used.append((file.stat().st_mtime, file))
    for _, stale in sorted(used, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            stale.unlink()


@functools.cache
def coders_index() -> CodersIndex:
    """The project's coders' index (``codesets/data/suggest/index/``), read once a process.

    From the cache folder where an earlier process kept it for the same tables, else read
    from the tables and kept (:func:`cached_coders_index`). Here rather than beside the
    reader in :mod:`codesets.coders_index`, which this module imports (no import cycle).
    """
    return cached_coders_index(FOLDER)
