"""Starting the embedded sandbox FHIR server as a child process, on a free loopback port.

The sandbox runs in its own process and is reached over HTTP like any other server:
nothing in ``adapters`` imports it, so the pipeline cannot come to rely on it.

No child outlives us. SIGTERM (what a service manager or ``kill`` sends) and SIGINT reach
the child: ``fhir-coder sandbox`` forwards them and exits with the child, and a command
that runs the sandbox for its own work (``demo``) stops and ends the child on its way
out. On Linux the child also asks the kernel for SIGTERM when its parent dies, so even a
SIGKILLed parent leaves no server running on its port and database.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from fhir_coder.errors import FhirCoderError

__all__ = [
    "READY_PREFIX",
    "SandboxStartError",
    "forwarding_signals",
    "read_ready_line",
    "running_sandbox",
    "sandbox_command",
    "start_child",
]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1

READY_PREFIX = "FHIR_CODER_SANDBOX_READY "
"""The line the sandbox prints, followed by its base URL, once it accepts connections."""


class SandboxStartError(FhirCoderError):
    """The embedded sandbox did not start."""


def sandbox_command(*args: str) -> list[str]:
    """The command line that runs the sandbox with ``args``, with this Python."""
    return [sys.executable, "-m", "sandbox", *args]


def _prctl() -> Callable[..., int] | None:
    """The C library's ``prctl``, bound before any fork (nothing is loaded in the child)."""
    if sys.platform != "linux":
        return None
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


_PRCTL = _prctl()


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM when the parent dies (Linux)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def start_child(command: list[str], **options: Any) -> subprocess.Popen[str]:  # noqa: ANN401
    """``subprocess.Popen(command, **options)``, the child ending when this process does."""
    preexec = _die_with_parent if _PRCTL is not None else None
    # preexec_fn only calls the prctl bound above: no import, no lock taken in the child
    return subprocess.Popen(command, preexec_fn=preexec, **options)  # noqa: PLW1509, S603


@contextmanager
def forwarding_signals(process: subprocess.Popen[str]) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT go to ``process`` (which decides to stop)."""

    def forward(signum: int, _: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _stopping_on_sigterm() -> Iterator[None]:
    """SIGTERM raises ``SystemExit(143)`` here, as SIGINT raises ``KeyboardInterrupt``.

    Python's default SIGTERM ends the process at once, skipping every ``finally``: the
    child would be left running. Only the main thread can set handlers; elsewhere the
    block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def running_sandbox(
    db_path: Path, *, extra_args: tuple[str, ...] = (), start_timeout: float = 60.0
) -> Iterator[str]:
    """Run the sandbox over ``db_path`` for the duration of the block; yields its base URL."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_path.with_suffix(".log")
    command = sandbox_command(
        "--host", "127.0.0.1", "--port", "0", "--db", str(db_path), "--ready-line", *extra_args
    )
    with log_path.open("ab") as log:
        process = start_child(
            command,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        with _stopping_on_sigterm():
            yield _wait_until_ready(process, start_timeout, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def read_ready_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str | None:
    """What a child prints after ``prefix`` on its ready line, or None if it never comes.

    The child's stdout is read to its end on a daemon thread, so it never blocks on a full
    pipe. None means the child exited or ``timeout`` passed first: the caller decides.
    """
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None  # noqa: S101 - Popen was given stdout=PIPE
        try:
            for line in process.stdout:
                if not found and line.startswith(prefix):
                    found.append(line[len(prefix) :].strip())
        except ValueError:  # the owner closed the pipe after the child ended: nothing to read
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not found and reader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    return found[0] if found else None


def _wait_until_ready(process: subprocess.Popen[str], timeout: float, log_path: Path) -> str:
    """The base URL from the sandbox's ready line; SandboxStartError if it never comes."""
    base_url = read_ready_line(process, READY_PREFIX, timeout)
    if base_url is not None:
        return base_url
    if process.poll() is None:
        process.kill()
        raise SandboxStartError(f"the sandbox did not become ready within {timeout:.0f} s")
    process.wait()
    said = log_path.read_text(errors="replace").strip().splitlines()
    last = said[-1] if said else "no message"
    raise SandboxStartError(
        f"the sandbox exited with status {process.returncode}: {last} (log: {log_path})"
    )
