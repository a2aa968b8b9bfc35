"""The ``fhir-coder`` command line.

Heavy imports (httpx, FastAPI, the code-set index) happen inside the commands, so that
``fhir-coder --help`` answers at once. Every failure ends in one line on stderr and an
exit code from :class:`adapters.exit_codes.ExitCode`; no traceback reaches a user for
an error we know how to name.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.exit_codes import ExitCode, exit_code_for
from fhir_coder import __version__
from fhir_coder.errors import FhirCoderError

if TYPE_CHECKING:
    from adapters.demo import DemoSummary
    from adapters.pipeline import EncounterResult
    from fhir_coder.ports import CodeSetPort

__all__ = ["main"]

DEFAULT_DATA_DIR = Path("fhir-coder-data")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhir-coder",
        description="Code closed encounters from a FHIR R4 server and write back Claims.",
    )
    parser.add_argument("--version", action="version", version=f"fhir-coder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the whole job on the embedded sandbox (SQLite, no configuration)",
        description="Start the sandbox FHIR server over a SQLite file, seed it with synthetic "
        "patients, code every finished encounter and write the Claims back.",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"where the sandbox keeps its SQLite file (default: ./{DEFAULT_DATA_DIR})",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object")

    code = commands.add_parser("code", help="code one encounter on a FHIR server")
    code.add_argument("encounter_id", metavar="ENCOUNTER_ID")
    code.add_argument("--server", required=True, metavar="URL", help="FHIR R4 base URL")
    code.add_argument("--dry-run", action="store_true", help="build the Claim, do not write it")
    code.add_argument(
        "--source-id",
        metavar="NAME",
        help="a stable name for the EHR, which keys the Claim ids (default: the server URL; "
        "the demo's sandbox is fhir-coder-sandbox)",
    )
    code.add_argument("--json", action="store_true", help="print JSON, the Claim included")

    sandbox = commands.add_parser("sandbox", help="run the sandbox FHIR server")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument("--db", type=Path, default=DEFAULT_DATA_DIR / "sandbox.sqlite3")
    sandbox.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args.data_dir, as_json=args.json)
        if args.command == "code":
            return asyncio.run(
                _code(
                    args.encounter_id,
                    args.server,
                    source_id=args.source_id,
                    dry_run=args.dry_run,
                    as_json=args.json,
                )
            )
        return _sandbox(args.host, args.port, args.db, args.seed)
    except FhirCoderError as exc:
        print(f"fhir-coder: error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's voice
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130


def _exit_code(error: FhirCoderError) -> int:
    from adapters.sandbox_process import SandboxStartError  # noqa: PLC0415

    if isinstance(error, SandboxStartError):
        return ExitCode.SANDBOX_FAILED
    return exit_code_for(error)


def _out(text: str = "") -> None:
    print(text)  # noqa: T201 - the CLI's voice


def _demo(data_dir: Path, *, as_json: bool) -> int:
    from adapters.sandbox_process import running_sandbox  # noqa: PLC0415
    from codesets import default_registry  # noqa: PLC0415

    codesets = default_registry()
    with running_sandbox(data_dir / "sandbox.sqlite3") as base_url:
        summary = asyncio.run(_demo_run(base_url, codesets))
    if as_json:
        import orjson  # noqa: PLC0415

        _out(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_demo(summary, data_dir)
    return ExitCode.OK


async def _demo_run(base_url: str, codesets: CodeSetPort) -> DemoSummary:
    from adapters.client import FhirClient  # noqa: PLC0415
    from adapters.demo import SANDBOX_SOURCE_ID, code_all_finished  # noqa: PLC0415

    async with FhirClient(base_url) as fhir:
        return await code_all_finished(fhir, codesets, source_id=SANDBOX_SOURCE_ID)


def _print_demo(summary: DemoSummary, data_dir: Path) -> None:
    from adapters.report import issue_line, line_text  # noqa: PLC0415

    facts = summary.to_json()
    _out(f"Coded {facts['encounters']} finished encounters on the sandbox in {facts['seconds']} s.")
    _out()
    for result in summary.results:
        status = (result.claim or {}).get("status", "")
        head = f"Encounter/{result.encounter_id}: {result.outcome.value}"
        if status:
            head += f" ({status} claim {result.claim.get('id') if result.claim else ''})"
        _out(head)
        for line in result.coded.lines if result.coded else ():
            _out(f"    {line_text(line)}")
        for issue in result.issues:
            if issue.severity.value != "information":
                _out(f"    {issue_line(issue)}")
        if result.error is not None:
            _out(f"    failed: {result.error}")
    issues = facts["issues"]
    _out()
    _out(
        f"Claims written: {facts['claims_written']} ({facts['claims_draft']} draft), "
        f"held back: {facts['held']}, failed: {facts['failed']}; "
        f"Claims on the server: {facts['claims_on_server']}."
    )
    _out(
        f"Lines: {facts['lines']}; findings: {issues['error']} errors, "
        f"{issues['warning']} warnings, {issues['information']} notes; "
        f"{facts['round_trips_per_encounter']} round trips per encounter."
    )
    _out(f"The sandbox's data stays in {data_dir}/; run it with: fhir-coder sandbox")


async def _code(
    encounter_id: str, server: str, *, source_id: str | None, dry_run: bool, as_json: bool
) -> int:
    from adapters.client import FhirClient  # noqa: PLC0415
    from adapters.pipeline import Outcome, Pipeline  # noqa: PLC0415
    from codesets import default_registry  # noqa: PLC0415

    codesets = default_registry()
    async with FhirClient(server) as fhir:
        pipeline = Pipeline(fhir, codesets, source_id=source_id, write=not dry_run)
        result = await pipeline.process(encounter_id)
    if result.error is not None:
        raise result.error
    _print_code(result, as_json=as_json)
    if result.outcome is Outcome.HELD or (result.claim or {}).get("status") == "draft":
        return ExitCode.FINDINGS
    return ExitCode.OK


def _print_code(result: EncounterResult, *, as_json: bool) -> None:
    from adapters.report import issue_line, line_text, result_json  # noqa: PLC0415

    if as_json:
        import orjson  # noqa: PLC0415

        _out(
            orjson.dumps(result_json(result, with_claim=True), option=orjson.OPT_INDENT_2).decode()
        )
        return
    claim = result.claim or {}
    _out(f"Encounter/{result.encounter_id}: {result.outcome.value}")
    if claim:
        _out(f"Claim/{claim['id']} ({claim['status']})")
    for line in result.coded.lines if result.coded else ():
        _out(f"  {line_text(line)}")
    for issue in result.issues:
        _out(f"  {issue_line(issue)}")


def _sandbox(host: str, port: int, db: Path, seed: int) -> int:
    from adapters.sandbox_process import sandbox_command  # noqa: PLC0415

    command = sandbox_command(
        "--host", host, "--port", str(port), "--db", str(db), "--seed", str(seed)
    )
    try:
        return subprocess.call(command)  # noqa: S603 - our own interpreter and module
    except KeyboardInterrupt:
        return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
