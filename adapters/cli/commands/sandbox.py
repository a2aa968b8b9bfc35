"""``fhir-coder sandbox``: the sandbox FHIR server on its own, in a child process."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from adapters.cli.commands.common import DEFAULT_DATA_DIR, Subcommands
from adapters.exit_codes import ExitCode

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add ``sandbox`` to the CLI."""
    sandbox = commands.add_parser("sandbox", help="run the sandbox FHIR server")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument("--db", type=Path, default=DEFAULT_DATA_DIR / "sandbox.sqlite3")
    sandbox.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    sandbox.add_argument("--no-seed", action="store_true", help="start with an empty database")
    sandbox.add_argument(
        "--load",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="load a transaction Bundle file, an NDJSON file or a folder of them (repeatable)",
    )
    sandbox.add_argument(
        "--auth-config",
        type=Path,
        metavar="FILE",
        help="JSON file of bearer tokens and SMART backend clients; without it, no auth",
    )
    sandbox.add_argument(
        "--payer-rules",
        type=Path,
        metavar="FILE",
        help="run a payer that adjudicates Claims by these JSON rules (docs/x12.md)",
    )
    sandbox.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the sandbox until it stops; SIGTERM and SIGINT go to it, and its exit status is ours.

    The server is a child process: a service manager's SIGTERM (or Ctrl-C) is forwarded
    to it, and this command exits once it has, never leaving it running on its own.
    """
    from adapters.cli.sandbox_process import (  # noqa: PLC0415
        forwarding_signals,
        sandbox_command,
        start_child,
    )

    command = sandbox_command(
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--db",
        str(args.db),
        "--seed",
        str(args.seed),
        *(["--no-seed"] if args.no_seed else []),
        *(arg for path in args.load for arg in ("--load", str(path))),
        *(["--auth-config", str(args.auth_config)] if args.auth_config else []),
        *(["--payer-rules", str(args.payer_rules)] if args.payer_rules else []),
    )
    process = start_child(command)
    with forwarding_signals(process):
        code = process.wait()
    # the server stopped on the signal we passed on: that is a clean stop, not a failure
    return ExitCode.OK if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
