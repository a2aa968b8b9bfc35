"""Run the sandbox as a process: ``python -m sandbox``.

The server binds its socket itself (port 0 picks a free one), seeds the database only when
it holds no resources (so a restart over the same file keeps the data and the ids), and
with ``--ready-line`` prints ``FHIR_CODER_SANDBOX_READY <base-url>`` once it accepts
connections, which is what a test or a script waits for. Uvicorn logs warnings only and
no access log: request lines carry identifiers, and the sandbox never logs PHI.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from fhir_coder.errors import ConfigurationError
from sandbox.app import create_app
from sandbox.auth import load_auth_config
from sandbox.faults import ENV_VAR, FAULT_KINDS, FaultConfig, faults_from_env
from sandbox.http_protocol import SandboxHttpProtocol
from sandbox.loading import LoadError, load_paths
from sandbox.payer import PayerRules
from sandbox.seed import DEFAULT_PATIENTS, DEFAULT_SEED, seed_store
from sandbox.store import Store
from sandbox.validation import settle_before_serving

__all__ = ["READY_PREFIX", "main", "parse_args"]

READY_PREFIX = "FHIR_CODER_SANDBOX_READY"
DEFAULT_DB = Path("fhir-coder-data") / "sandbox.sqlite3"
BASE_PATH = "/fhir"


def _patient_count(text: str) -> int:
    count = int(text)
    if not 0 <= count <= 9999:
        raise argparse.ArgumentTypeError(f"must be between 0 and 9999, not {count}")
    return count


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with defaults that serve a seeded sandbox on loopback."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve the fhir-coder FHIR R4 sandbox over a SQLite file.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=DEFAULT_DB,
        help="SQLite file, created with its folder (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the synthetic data (default: %(default)s)",
    )
    parser.add_argument(
        "--patients",
        type=_patient_count,
        default=DEFAULT_PATIENTS,
        help="synthetic patients to create (default: %(default)s)",
    )
    parser.add_argument("--no-seed", action="store_true", help="start with an empty database")
    parser.add_argument(
        "--load",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="load a transaction Bundle file, an NDJSON file or a folder of them before "
        "serving (repeatable; the seed is still written into an empty database unless "
        "--no-seed)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the FHIR base clients reach the server at, behind a proxy (default: the "
        "address bound); SMART assertions name {URL}/auth/token as their audience",
    )
    parser.add_argument(
        "--auth-config",
        type=Path,
        metavar="FILE",
        help="JSON of bearer tokens and SMART backend clients; every route but /metadata "
        "and /.well-known/smart-configuration then needs a bearer token",
    )
    parser.add_argument(
        "--payer-rules",
        type=Path,
        metavar="FILE",
        help="JSON rules of a payer that adjudicates Claims (Claim/$submit, $submit-x12); "
        "see sandbox/payer.py",
    )
    parser.add_argument(
        "--payer", action="store_true", help="a payer with the default rules (pays 80%% of charges)"
    )
    faults = parser.add_argument_group(
        "fault injection", f"off by default; {ENV_VAR} may hold the same settings as JSON"
    )
    faults.add_argument("--fault-latency-ms", type=float, default=0.0, help="delay every request")
    faults.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests that fail (0-1)"
    )
    faults.add_argument(
        "--fault",
        action="append",
        choices=FAULT_KINDS,
        default=[],
        help="how requests fail: 429 (with Retry-After), 503, drop (repeatable; default 503)",
    )
    faults.add_argument(
        "--fault-path",
        action="append",
        default=[],
        help="fail every request whose path contains this (repeatable)",
    )
    faults.add_argument("--fault-seed", type=int, help="make the faults repeatable")
    parser.add_argument(
        "--ready-line",
        action="store_true",
        help=f"print '{READY_PREFIX} <base-url>' on stdout once accepting connections",
    )
    return parser.parse_args(argv)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says TCP, and without it Nagle's algorithm held back each
    # response body behind its headers until the client's delayed ACK (~40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)  # noqa: FBT003 - the socket API's own positional flag
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{BASE_PATH}"


class _Server(uvicorn.Server):
    """Uvicorn's server, announcing readiness once its listeners accept connections."""

    def __init__(self, config: uvicorn.Config, base_url: str, *, ready_line: bool) -> None:
        super().__init__(config)
        self._base_url = base_url
        self._ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then say where: to people on stderr, to programs on stdout."""
        await super().startup(sockets)
        if not self.started or self.should_exit:
            return
        settle_before_serving()
        sys.stderr.write(f"fhir-coder sandbox serving {self._base_url}\n")
        if self._ready_line:
            sys.stdout.write(f"{READY_PREFIX} {self._base_url}\n")
            sys.stdout.flush()


def _seed_if_empty(db_path: Path, *, seed: int, patients: int) -> None:
    with Store(db_path) as store:
        if store.resource_count() == 0:
            seed_store(store, seed=seed, patients=patients)


def _faults(options: argparse.Namespace) -> FaultConfig | None:
    """The fault settings of the flags, else of the environment, else None."""
    if options.fault_latency_ms or options.fault_rate or options.fault_path or options.fault:
        return FaultConfig(
            latency_ms=options.fault_latency_ms,
            rate=options.fault_rate,
            kinds=tuple(options.fault) or ("503",),
            paths=tuple(options.fault_path),
            seed=options.fault_seed,
        )
    return faults_from_env()


def _payer(options: argparse.Namespace) -> PayerRules | None:
    """The payer the flags ask for: its rules file, the default rules, or none."""
    if options.payer_rules is not None:
        return PayerRules.from_file(options.payer_rules)
    return PayerRules() if options.payer else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT; 0 after a clean stop."""
    options = parse_args(argv)
    db_path: Path = options.db
    if not options.no_seed:
        _seed_if_empty(db_path, seed=options.seed, patients=options.patients)
    if options.load:
        try:
            with Store(db_path) as store:
                report = load_paths(store, options.load)
            for line in report.refused + report.unresolved:
                sys.stderr.write(f"fhir-coder sandbox: {line}\n")
            shown = ", ".join(str(p) for p in options.load)
            sys.stderr.write(
                f"fhir-coder sandbox loaded {report.written} entries from {shown}; "
                f"{len(report.refused)} not loaded, "
                f"{len(report.unresolved)} references kept unresolved\n"
            )
        except LoadError as exc:
            sys.stderr.write(f"fhir-coder sandbox: {exc}\n")
            return 2
    auth = None
    if options.auth_config is not None:
        try:
            auth = load_auth_config(options.auth_config)
        except ConfigurationError as exc:
            sys.stderr.write(f"fhir-coder sandbox: {exc}\n")
            return 2
    try:
        faults = _faults(options)
    except ConfigurationError as exc:
        sys.stderr.write(f"fhir-coder sandbox: {exc}\n")
        return 2
    try:
        payer = _payer(options)
    except ConfigurationError as exc:
        sys.stderr.write(f"fhir-coder sandbox: {exc}\n")
        return 2
    sock = _bind(options.host, options.port)
    base_url = _base_url(sock)
    config = uvicorn.Config(
        create_app(
            db_path,
            base_path=BASE_PATH,
            auth=auth,
            faults=faults,
            payer=payer,
            public_url=options.public_url or base_url,
        ),
        http=SandboxHttpProtocol,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = _Server(config, base_url, ready_line=options.ready_line)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Uvicorn replaces this while it serves and re-raises the signal after its
        # graceful shutdown; landing here then means "stopped on request", exit 0.
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # run(), not asyncio.run(serve()): run() takes uvicorn's loop factory, which is uvloop
        # when installed (a create over loopback ~20% cheaper than on asyncio's own loop).
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
