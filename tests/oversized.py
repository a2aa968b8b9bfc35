"""Oversized request bodies sent to a real server process, and that process's memory watched.

``send_oversized`` plays a client that uploads 64 MiB (declared, or chunked without a
length) over a raw socket, a megabyte at a time, and stops as soon as the server answers,
as a careful client would; a server that reads everything gets everything.
``PeakRss`` samples a process's resident memory (``/proc/PID/status``) on a thread, so the
growth measured is the peak while the requests ran, not what was left after them.
"""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

MIB = 1024 * 1024
BLOCK = b"x" * MIB


def _status(sock: socket.socket) -> int:
    """The status code of the answer on ``sock`` (0 when the server closed without one)."""
    received = b""
    while b"\r\n" not in received:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    line = received.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def send_oversized(
    base_url: str,
    method: str,
    path: str,
    *,
    size: int = 64 * MIB,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[int, int]:
    """Send a ``size``-byte body; the answer's status and how many body bytes went out."""
    where = urlsplit(base_url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = [
        f"{method} {where.path.rstrip('/')}{path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        framing,
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    sent = 0
    with socket.create_connection((host, port), timeout=60) as sock:
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            while sent < size:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered already: stop uploading
                block = BLOCK[: size - sent]
                if chunked:
                    sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    sock.sendall(block)
                sent += len(block)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer may still be there
        return _status(sock), sent


def flood_every_route(
    base_url: str, pid: int, routes: list[tuple[str, str]], *, chunked: bool
) -> tuple[dict[str, int], int]:
    """Each route's answer to a 64 MiB body, and the process's peak memory growth meanwhile.

    Every route gets a small body first, so what its code loads is not counted; an
    assertion fails for a route that read the whole 64 MiB.
    """
    for method, path in routes:
        send_oversized(base_url, method, path, size=1024, chunked=chunked)
    answers = {}
    with PeakRss(pid) as memory:
        for method, path in routes:
            status, sent = send_oversized(base_url, method, path, chunked=chunked)
            answers[f"{method} {path}"] = status
            assert sent < 64 * MIB, f"{method} {path}: the server read the whole body"
    return answers, memory.growth


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for process {pid}")


class PeakRss:
    """The highest resident memory of ``pid`` while the block runs, sampled every 2 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_bytes(self.pid))

    @property
    def growth(self) -> int:
        """Bytes above the baseline at the peak."""
        return self.peak - self.baseline

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))
