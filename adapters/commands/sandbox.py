"""``fhir-coder sandbox``: the sandbox FHIR server on its own, in a child process."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from adapters.commands.common import DEFAULT_DATA_DIR, Subcommands
from adapters.exit_codes import ExitCode

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add ``sandbox`` to the CLI."""
    sandbox = commands.add_parser("sandbox", help="run the sandbox FHIR server")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument("--db", type=Path, default=DEFAULT_DATA_DIR / "sandbox.sqlite3")
    sandbox.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    sandbox.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the sandbox until interrupted; its exit status is ours."""
    from adapters.sandbox_process import sandbox_command  # noqa: PLC0415

    command = sandbox_command(
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--db",
        str(args.db),
        "--seed",
        str(args.seed),
    )
    try:
        return subprocess.call(command)  # noqa: S603 - our own interpreter and module
    except KeyboardInterrupt:
        return ExitCode.OK
