"""Where an interchange goes: a file, a clearinghouse's outbox folder, or an HTTP endpoint.

Every hand-off is two steps, so a crash between them can be told apart from either:

1. **stage**: the interchange is written whole to a staged copy (a temporary name, flushed
   and fsynced, then renamed to its staged name), whose place the ledger records;
2. **publish**: the staged copy is renamed into place (a file, an outbox) or POSTed (HTTP).

For a file or an outbox, publishing *is* the rename of the staged copy, so the staged copy
exists exactly while the interchange is unpublished: after a crash, a staged copy still
there is published, and a missing one was (:meth:`Handoff.published`). An outbox file is
named with the sender and the interchange control number and never overwritten (a
clearinghouse's SFTP agent picks files up by name and must never see half a file: it skips
dot-files, which is what staged copies are). Over HTTP nothing on our side can tell whether
a POST cut short arrived, so the same staged body is POSTed again under the same
interchange control number (and an ``Idempotency-Key`` naming it), which receivers
recognise as a duplicate (a TA1 note 025, or the key); the interchange is never rebuilt
under a new number. TLS is verified, every request has a timeout, and plain ``http://``
is refused off loopback unless allowed (:mod:`adapters.fhir.plain_http`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import httpx

from adapters.fhir.plain_http import check_url
from fhir_coder.errors import FhirCoderError

__all__ = [
    "FileHandoff",
    "Handoff",
    "HandoffRefusedError",
    "HandoffUncertainError",
    "HttpHandoff",
    "OutboxHandoff",
    "Staged",
]

_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9_-]")
_CONTENT_TYPE: Final = "application/edi-x12"
_RETRY_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_POST_TIMEOUT: Final = 60.0


class HandoffRefusedError(FhirCoderError):
    """The destination refused the interchange: it did not go, and will not by trying again."""


class HandoffUncertainError(FhirCoderError):
    """Whether the interchange arrived is not known (a timeout, a dropped connection, a 5xx).

    The staged copy is kept; the next run sends the same interchange again, same number.
    """


@dataclass(frozen=True, slots=True)
class Staged:
    """An interchange written whole and waiting to be published."""

    control: int
    name: str  # the file name it is published under ("" over HTTP)
    path: Path  # the staged copy
    digest: str  # sha256 of its text


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a crash after it keeps the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_staged(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary name, durably; its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    data = text.encode("ascii")
    try:
        with partial.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(path)
        _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return hashlib.sha256(data).hexdigest()


def _digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Handoff(Protocol):
    """One destination of interchanges."""

    method: str  # file | outbox | http
    where: str  # the file, folder or URL, fit for the ledger and messages

    def staged_path(self, control: int) -> Path:
        """Where interchange ``control``'s staged copy is kept."""

    def stage(self, control: int, text: str) -> Staged:
        """Write the staged copy of interchange ``control`` whole and durably."""

    def publish(self, staged: Staged) -> None:
        """Hand the staged copy over; raise a Handoff error when it did not (surely) go."""

    def published(self, staged: Staged) -> bool | None:
        """After a crash: True when it went, False when it did not, None when unknowable."""

    def forget(self, staged: Staged) -> None:
        """Remove what is left of a staged copy that will not be published."""


class _FileLike:
    """What a file and an outbox share: publishing is renaming the staged copy into place."""

    method = "file"
    where = ""

    def final_path(self, control: int) -> Path:
        """The file interchange ``control`` is published as."""
        raise NotImplementedError

    def staged_path(self, control: int) -> Path:
        """A dot-file beside the published one (the same folder: the rename is atomic)."""
        final = self.final_path(control)
        return final.with_name(f".{final.name}.{control}.staged")

    def stage(self, control: int, text: str) -> Staged:
        """Write the staged copy whole and durably."""
        path = self.staged_path(control)
        digest = _write_staged(path, text)
        return Staged(control, self.final_path(control).name, path, digest)

    def published(self, staged: Staged) -> bool | None:
        """Whether it went: the rename that publishes removes the staged copy."""
        # the rename removes the staged copy in the same step that publishes it
        return not staged.path.exists()

    def forget(self, staged: Staged) -> None:
        """Remove the staged copy (and a partial one)."""
        for leftover in (staged.path, staged.path.with_name(staged.path.name + ".part")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


class FileHandoff(_FileLike):
    """``--out FILE``: the interchange at a path the user names (replaced if it exists)."""

    method = "file"

    def __init__(self, out: Path) -> None:
        self.out = out
        self.where = str(out.absolute())  # one name for it, from whatever folder a run starts

    def final_path(self, control: int) -> Path:  # noqa: ARG002 - one name whatever the number
        """The file the user named."""
        return self.out

    def publish(self, staged: Staged) -> None:
        """Rename the staged copy onto the file (replacing it, as a file named by hand is)."""
        try:
            staged.path.replace(self.out)
            _fsync_folder(self.out.parent)
        except OSError as exc:
            raise HandoffRefusedError(f"cannot write {self.out}: {exc.strerror or exc}") from exc


class OutboxHandoff(_FileLike):
    """A folder a clearinghouse's SFTP agent empties: ``<sender>_<ISA13>.837``, never replaced."""

    method = "outbox"

    def __init__(self, folder: Path, sender_id: str) -> None:
        self.folder = folder
        self.sender = _SAFE_NAME.sub("", sender_id.strip()) or "sender"
        self.where = str(folder.absolute())

    def final_path(self, control: int) -> Path:
        """``<sender>_<ISA13>.837`` in the outbox."""
        return self.folder / f"{self.sender}_{control:09d}.837"

    def publish(self, staged: Staged) -> None:
        """Rename the staged copy into the outbox; never over another file."""
        final = self.folder / staged.name
        if final.exists():  # only this ledger hands out the number: a file of ours, or not
            if _digest_of(final) == staged.digest:
                self.forget(staged)  # published before, by a run that stopped after it
                return
            raise HandoffRefusedError(
                f"{final} exists with other content; an outbox file is never overwritten"
            )
        try:
            staged.path.rename(final)
            _fsync_folder(self.folder)
        except OSError as exc:
            raise HandoffRefusedError(f"cannot publish {final}: {exc.strerror or exc}") from exc


class HttpHandoff:
    """POST the interchange to a clearinghouse's endpoint (TLS verified, with a timeout)."""

    method = "http"

    def __init__(
        self,
        url: str,
        staging: Path,
        *,
        sender_id: str = "",
        timeout: float = DEFAULT_POST_TIMEOUT,
        token: str | None = None,
        allow_insecure_http: Collection[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = check_url(url, allow_insecure_http=allow_insecure_http, what="X12 POST URL")
        parsed = httpx.URL(url)
        self.where = str(parsed.copy_with(query=None, fragment=None, userinfo=b""))
        self.staging = staging
        self.sender = _SAFE_NAME.sub("", sender_id.strip()) or "sender"
        self.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self._token = token
        self._transport = transport

    def staged_path(self, control: int) -> Path:
        """A dot-file in the local staging folder."""
        return self.staging / f".{self.sender}_{control:09d}.837.staged"

    def stage(self, control: int, text: str) -> Staged:
        """Keep the body to POST (and to POST again after a crash) whole and durably."""
        path = self.staged_path(control)
        return Staged(control, "", path, _write_staged(path, text))

    def publish(self, staged: Staged) -> None:
        """POST the staged body; a 2xx answer is the hand-off."""
        try:
            body = staged.path.read_bytes()
        except OSError as exc:
            raise HandoffUncertainError(
                f"the staged interchange {staged.control} is gone ({exc.strerror or exc})"
            ) from exc
        headers = {
            "Content-Type": _CONTENT_TYPE,
            "Idempotency-Key": f"{self.sender}-{staged.control:09d}-{staged.digest[:16]}",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with httpx.Client(
                timeout=self.timeout, verify=True, transport=self._transport
            ) as client:
                answer = client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:  # timeouts, refused and dropped connections
            raise HandoffUncertainError(
                f"POST {self.where} did not complete ({type(exc).__name__}): the same interchange"
                f" {staged.control} goes again next run"
            ) from exc
        if answer.is_success:
            return
        if answer.status_code in _RETRY_STATUS:
            raise HandoffUncertainError(
                f"POST {self.where} answered {answer.status_code}: the same interchange"
                f" {staged.control} goes again next run"
            )
        raise HandoffRefusedError(
            f"POST {self.where} refused the interchange: {answer.status_code}"
        )

    def published(self, staged: Staged) -> bool | None:  # noqa: ARG002 - nothing tells
        """Unknowable: a POST cut short leaves no trace here (send the same body again)."""
        return None

    def forget(self, staged: Staged) -> None:
        """Remove the staged body."""
        for leftover in (staged.path, staged.path.with_name(staged.path.name + ".part")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
