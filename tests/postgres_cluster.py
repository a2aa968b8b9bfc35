"""A throwaway PostgreSQL cluster on loopback for the tests (standard library only).

``.ci/run`` starts one before the suite (``python3 tests/postgres_cluster.py start DIR``
prints the ``export FHIR_CODER_TEST_POSTGRES_URL=...`` line to evaluate; ``stop DIR`` ends
it), and the ``postgres_url`` fixture starts its own when that variable is not set and
Debian's binaries are on the machine. ``initdb`` refuses to run as root, so as root the
cluster belongs to the ``postgres`` user (``runuser``). It trusts loopback connections
and keeps no data worth an fsync: a test cluster, never a model for production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

URL_ENV = "FHIR_CODER_TEST_POSTGRES_URL"
USER = "fhir_coder"
_SEARCH = ("/usr/lib/postgresql", "/usr/local/pgsql")


def binaries() -> Path | None:
    """The newest folder holding ``initdb`` and ``pg_ctl``, or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = [
        (int(folder.parent.name), folder)
        for root in map(Path, _SEARCH)
        for folder in (root.glob("*/bin") if root.is_dir() else ())
        if (folder / "initdb").is_file() and folder.parent.name.isdigit()
    ]
    return max(found)[1] if found else None


def _as_owner(command: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(folder: Path, *, durable: bool = False) -> str:
    """Initialise and start a cluster in ``folder``; its URL.

    ``durable`` keeps PostgreSQL's own defaults (fsync, synchronous commit): benchmarks
    measure what production pays; tests skip the fsyncs.
    """
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's initdb and pg_ctl are not installed")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    run = subprocess.run  # fixed binaries, arguments of our own
    run(
        _as_owner(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    return f"postgresql://{USER}@127.0.0.1:{port}/postgres"


def stop(folder: Path) -> None:
    """Stop the cluster in ``folder`` (fast shutdown) and remove it."""
    bin_dir = binaries()
    data = folder / "data"
    if bin_dir is not None and (data / "postmaster.pid").is_file():
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """``start DIR [--durable]`` prints the export line; ``stop DIR`` ends the cluster."""
    durable = "--durable" in argv
    argv = [a for a in argv if a != "--durable"]
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: postgres_cluster.py start [--durable] DIR | stop DIR\n")
        return 2
    folder = Path(argv[1])
    if argv[0] == "stop":
        stop(folder)
        return 0
    sys.stdout.write(f"export {URL_ENV}={start(folder, durable=durable)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
