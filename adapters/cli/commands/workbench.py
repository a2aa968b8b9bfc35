"""``fhir-coder workbench``: the coders' web workbench over the job ledger's work items.

``fhir-coder workbench [--server URL] [--accounts FILE]`` serves it (127.0.0.1:8091 by
default; port 0 picks a free one and the process prints ``FHIR_CODER_WORKBENCH_READY <url>``);
``fhir-coder workbench --sandbox`` starts the embedded sandbox over the data folder first and
works the items ``fhir-coder demo`` left there (the demo prints the account to sign in with);
``fhir-coder workbench add-user NAME --role coder`` adds an account to the accounts file, the
password read from the environment variable ``--password-env`` names or typed at a prompt.
With ``--server`` (or ``FHIR_CODER_SERVER``) the workbench reads results and notes from the
EHR, writes AuditEvents and provider queries there, and releases Claims through the same
write-back as ``run`` (``--claims-to``, ``--ledger``...).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Final

from adapters.cli.commands.common import DEFAULT_DATA_DIR, Subcommands, out
from adapters.cli.commands.run import add_trigger_arguments, trigger_settings
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError

__all__ = ["ACCOUNTS_ENV", "DEFAULT_ACCOUNTS", "READY_PREFIX", "register", "run"]

READY_PREFIX: Final = "FHIR_CODER_WORKBENCH_READY"
ACCOUNTS_ENV: Final = "FHIR_CODER_WORKBENCH_ACCOUNTS"
DEFAULT_ACCOUNTS: Final = Path("fhir-coder-data") / "workbench-users.toml"


def register(commands: Subcommands) -> None:
    """Add ``workbench`` to the CLI."""
    parser = commands.add_parser(
        "workbench", help="serve the coders' web workbench (worklist, encounters, release)"
    )
    parser.add_argument(
        "action", nargs="?", default="serve", choices=("serve", "add-user"),
        help="serve (default) or add-user",
    )  # fmt: skip
    parser.add_argument("user", nargs="?", help="add-user: the user name")
    parser.add_argument(
        "--accounts", type=Path, metavar="FILE",
        help=f"accounts file (TOML; ${ACCOUNTS_ENV}; default {DEFAULT_ACCOUNTS})",
    )  # fmt: skip
    parser.add_argument("--role", default="coder", choices=("coder", "auditor", "admin"))
    parser.add_argument("--name", default="", help="add-user: the name shown (and audited)")
    parser.add_argument("--practitioner", default="", help="add-user: Practitioner/ID in the EHR")
    parser.add_argument(
        "--password-env", metavar="VAR", help="add-user: read the password from this variable"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8091, help="port; 0 picks a free one (8091)")
    parser.add_argument(
        "--sandbox", action="store_true",
        help="start the embedded sandbox over --data-dir and work the demo's items",
    )  # fmt: skip
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR,
        help=f"with --sandbox: the demo's folder (default: ./{DEFAULT_DATA_DIR})",
    )  # fmt: skip
    add_trigger_arguments(parser)
    parser.set_defaults(run=run)


def _accounts_path(args: argparse.Namespace) -> Path:
    return Path(args.accounts or os.environ.get(ACCOUNTS_ENV) or DEFAULT_ACCOUNTS)


def run(args: argparse.Namespace) -> int:
    """Serve, or add an account."""
    if args.action == "add-user":
        return _add_user(args)
    if not args.sandbox:
        return asyncio.run(_serve(args))
    from adapters.cli.sandbox_process import running_sandbox  # noqa: PLC0415
    from adapters.demo import SANDBOX_SOURCE_ID  # noqa: PLC0415

    data: Path = args.data_dir
    with running_sandbox(data / "sandbox.sqlite3") as base_url:
        args.server, args.source_id = base_url, SANDBOX_SOURCE_ID
        args.jobs_db = args.jobs_db or data / "jobs.sqlite3"
        args.ledger = args.ledger or data / "claims.sqlite3"  # the demo's: one Claim each
        if args.accounts is None and not os.environ.get(ACCOUNTS_ENV):
            args.accounts = data / "workbench-users.toml"
        return asyncio.run(_serve(args))


def _add_user(args: argparse.Namespace) -> int:
    from adapters.workbench.accounts import Role, add_user  # noqa: PLC0415

    if not args.user:
        raise ConfigurationError("workbench add-user needs a user name")
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            raise ConfigurationError(f"the variable {args.password_env} holds no password")
    else:
        password = getpass.getpass(f"password for {args.user}: ")
    path = _accounts_path(args)
    add_user(
        path, args.user, password, name=args.name, role=Role(args.role),
        practitioner=args.practitioner,
    )  # fmt: skip
    out(f"{args.user} ({args.role}) written to {path}")
    return ExitCode.OK


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415
    from fastapi import FastAPI  # noqa: PLC0415
    from fastapi.responses import RedirectResponse  # noqa: PLC0415

    from adapters.cli.commands.serve import _bind  # noqa: PLC0415
    from adapters.cli.commands.writeback_flags import writeback_from_args  # noqa: PLC0415
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415
    from adapters.workbench import Workbench, create_workbench  # noqa: PLC0415
    from adapters.workbench.accounts import Accounts  # noqa: PLC0415
    from codesets import default_registry  # noqa: PLC0415

    settings = trigger_settings(args)
    accounts = Accounts.from_file(_accounts_path(args))
    async with AsyncExitStack() as stack:
        ledger = stack.enter_context(JobLedger(settings.jobs_db))
        fhir = writer = None
        if settings.server:
            fhir = await stack.enter_async_context(source_client(settings))
            writer, _ = await writeback_from_args(
                args, fhir, stack, claims_to=settings.claims_to,
                claims_auth=settings.claims_auth(), ledger_path=settings.claims_db_path(),
                lease_seconds=settings.lease_seconds,
                allow_insecure_http=settings.allow_insecure_http,
            )  # fmt: skip
            await writer.start()
        else:
            sys.stderr.write("no --server: results, notes, queries and releases are off\n")
        coding = default_coding()
        bench = Workbench(
            ledger=ledger, accounts=accounts, coding=coding, registry=default_registry(),
            fhir=fhir, writer=writer,
        )  # fmt: skip
        outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        inner = create_workbench(bench)

        @outer.get("/", include_in_schema=False)
        async def home() -> RedirectResponse:
            return RedirectResponse("/workbench/")

        outer.mount("/workbench", inner)
        outer.router.lifespan_context = inner.router.lifespan_context
        sock = _bind(args.host, args.port)
        host, port = sock.getsockname()[:2]
        url = f"http://{host}:{port}/workbench/"
        config = uvicorn.Config(outer, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        ready = asyncio.create_task(_announce(server, url))
        await server.serve(sockets=[sock])
        ready.cancel()
    return ExitCode.OK


async def _announce(server: object, url: str) -> None:
    # uvicorn's Server says it is listening only through its ``started`` flag
    while not getattr(server, "started", False):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    sys.stderr.write(f"fhir-coder workbench at {url}\n")
    sys.stdout.write(f"{READY_PREFIX} {url}\n")
    sys.stdout.flush()
