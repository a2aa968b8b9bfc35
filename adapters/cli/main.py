"""The ``fhir-coder`` command line.

Each command lives in its own module under :mod:`adapters.cli.commands` and registers itself
here. Heavy imports (httpx, FastAPI, the code-set index) happen inside the commands, so
that ``fhir-coder --help`` answers at once. Every failure ends in one line on stderr and
an exit code from :class:`adapters.exit_codes.ExitCode`; no traceback reaches a user for
an error we know how to name.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from adapters.cli.commands import (
    batch,
    code,
    codes,
    demo,
    evaluate,
    jobs,
    probe,
    run,
    sandbox,
    serve,
    subscribe,
    validate,
    watch,
    workbench,
    x12,
)
from adapters.exit_codes import ExitCode, exit_code_for
from fhir_coder import __version__
from fhir_coder.errors import FhirCoderError

__all__ = ["main"]

COMMANDS = (
    demo,
    code,
    run,
    batch,
    serve,
    watch,
    subscribe,
    jobs,
    workbench,
    sandbox,
    evaluate,
    validate,
    codes,
    probe,
    x12,
)
"""The command modules, in the order ``--help`` lists them."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhir-coder",
        description="Code closed encounters from a FHIR R4 server and write back Claims.",
    )
    parser.add_argument("--version", action="version", version=f"fhir-coder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    # httpx logs every request line at INFO, query strings and so patient ids included:
    # whatever logging the host sets up, those lines must not reach it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.run(args))
    except FhirCoderError as exc:
        print(f"fhir-coder: error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's voice
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader left (`fhir-coder codes lookup G20 | head`): stop quietly, as a Unix
        # tool does, and keep the interpreter's final flush from raising again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal


def _exit_code(error: FhirCoderError) -> int:
    from adapters.cli.sandbox_process import SandboxStartError  # noqa: PLC0415

    if isinstance(error, SandboxStartError):
        return ExitCode.SANDBOX_FAILED
    return exit_code_for(error)


if __name__ == "__main__":
    sys.exit(main())
