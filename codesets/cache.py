"""Where compiled code sets live, and how they are written and read back safely.

A compiled code set is a ``marshal`` payload (no ``pickle``: loading runs no code, and
``marshal`` reads ~100k tuples faster than any JSON parser) behind a small header::

    magic (8 bytes) | payload length (8 bytes, little endian) | CRC-32 of payload (4 bytes)

Files are written to a temporary name in the same folder and moved into place with
``os.replace``, so two processes compiling at once each publish a whole file and a
reader never sees a torn one. A file whose header, length or checksum does not match
is reported as :class:`CorruptCacheError` and rebuilt by the caller, never trusted:
``marshal`` is not meant to read damaged data.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from pathlib import Path
from typing import Final

__all__ = ["CACHE_DIR_ENV", "CorruptCacheError", "cache_dir", "read_payload", "write_payload"]

CACHE_DIR_ENV: Final = "FHIR_CODER_CACHE_DIR"
_MAGIC: Final = b"FHCODER\x01"
_HEADER: Final = len(_MAGIC) + 8 + 4


class CorruptCacheError(ValueError):
    """A cache file exists but is damaged, truncated or not ours."""


def cache_dir() -> Path:
    """The cache folder: ``$FHIR_CODER_CACHE_DIR``, else ``$XDG_CACHE_HOME/fhir-coder``.

    Without either, ``~/.cache/fhir-coder``. Read on every call, so tests and tools can
    point it elsewhere through the environment.
    """
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "fhir-coder"


def write_payload(path: Path, payload: dict[str, object]) -> None:
    """Write ``payload`` (marshal-able data) to ``path`` atomically."""
    body = marshal.dumps(payload)
    header = _MAGIC + len(body).to_bytes(8, "little") + zlib.crc32(body).to_bytes(4, "little")
    import tempfile  # noqa: PLC0415 - 15 ms to import, and only writers need it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header)
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def read_payload(path: Path) -> object:
    """The payload stored at ``path``.

    Raises ``FileNotFoundError`` when there is no file and :class:`CorruptCacheError`
    when there is one that cannot be trusted.
    """
    data = path.read_bytes()
    if len(data) < _HEADER or not data.startswith(_MAGIC):
        raise CorruptCacheError(f"{path} is not a fhir-coder cache file")
    length = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 8], "little")
    crc = int.from_bytes(data[len(_MAGIC) + 8 : _HEADER], "little")
    body = memoryview(data)[_HEADER:]
    if len(body) != length or zlib.crc32(body) != crc:
        raise CorruptCacheError(f"{path} is truncated or damaged")
    try:
        return marshal.loads(body)  # noqa: S302 - our own file, checksum verified above
    except (EOFError, ValueError, TypeError) as exc:
        raise CorruptCacheError(f"{path} does not decode: {exc}") from exc
