"""``fhir-coder serve``: take Subscription notifications and CDS Hooks, process in the background.

Prints ``FHIR_CODER_SERVICE_READY <url>`` on stdout once it accepts connections (port 0
picks a free one), like the sandbox does, so scripts and tests know where it is.
Uvicorn's access log is off: request lines carry encounter ids.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import Subcommands
from adapters.cli.commands.run import add_trigger_arguments, open_trigger_pool, trigger_settings
from adapters.exit_codes import ExitCode

if TYPE_CHECKING:
    import uvicorn

__all__ = ["READY_PREFIX", "register", "run"]

READY_PREFIX = "FHIR_CODER_SERVICE_READY"


def register(commands: Subcommands) -> None:
    """Add ``serve`` to the CLI."""
    parser = commands.add_parser(
        "serve", help="serve Subscription notifications and CDS Hooks; code in the background"
    )
    add_trigger_arguments(parser)
    parser.add_argument("--host", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind; 0 picks a free one (8090)")
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="where EHRs and the FHIR server reach this service (the CDS JWTs' aud); "
        "default: the address bound",
    )
    cds = parser.add_argument_group("CDS Hooks callers")
    cds.add_argument(
        "--cds-issuer",
        nargs=2,
        action="append",
        metavar=("ISS", "JWKS"),
        help="accept JWTs from issuer ISS signed with a key of JWKS (a URL or a JWK Set "
        "file); repeatable; replaces cds_issuers of the settings",
    )
    cds.add_argument(
        "--cds-allow-unsigned",
        action="store_true",
        default=None,
        help="accept CDS Hooks calls without a JWT (refused unless bound to loopback)",
    )
    parser.add_argument(
        "--workbench-accounts", type=Path, metavar="FILE",
        help="also serve the coders' workbench at /workbench, with the accounts of FILE",
    )  # fmt: skip
    parser.set_defaults(run=run)


def _cds_issuers(given: list[list[str]] | None) -> list[dict[str, str]] | None:
    """``--cds-issuer ISS JWKS`` pairs as ``cds_issuers`` settings (JWKS: a URL or a file)."""
    if not given:
        return None
    return [
        {"iss": iss, "jwks_url" if jwks.startswith(("https://", "http://")) else "jwks_file": jwks}
        for iss, jwks in given
    ]


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    return asyncio.run(_serve(args))


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)  # noqa: FBT003 - the socket API's own positional flag
    return sock


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415
    from adapters.service.app import create_service  # noqa: PLC0415

    settings = trigger_settings(
        args,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        cds_issuers=_cds_issuers(args.cds_issuer),
        cds_allow_unsigned=args.cds_allow_unsigned,
    )
    settings.check_serving()
    async with AsyncExitStack() as stack:
        ledger = stack.enter_context(JobLedger(settings.jobs_db))
        fhir = await stack.enter_async_context(source_client(settings))
        pool = await open_trigger_pool(args, settings, ledger, fhir, stack)
        sock = _bind(settings.host, settings.port)
        host, port = sock.getsockname()[:2]
        url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        app = create_service(settings, pool, fhir=fhir, service_url=url)
        if args.workbench_accounts is not None:
            from adapters.workbench.mounting import mount_workbench  # noqa: PLC0415

            mount_workbench(app, ledger, pool.pipeline, fhir, args.workbench_accounts)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        await _announcing(config, url).serve(sockets=[sock])
    return ExitCode.OK


def _announcing(config: uvicorn.Config, url: str) -> uvicorn.Server:
    """Uvicorn's server, saying where it listens once it does."""
    import uvicorn  # noqa: PLC0415

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                sys.stderr.write(f"fhir-coder serving {url}\n")
                sys.stdout.write(f"{READY_PREFIX} {url}\n")
                sys.stdout.flush()

    return Announcing(config)
