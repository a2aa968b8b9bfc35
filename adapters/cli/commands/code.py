"""``fhir-coder code ENCOUNTER_ID --server URL``: code one encounter and show the why of it.

Authentication comes from the flags alone (the same as ``probe``'s), not from the
triggers' settings: a one-off command pointed at some server never picks up another
server's credentials from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from adapters.cli.commands.common import (
    Subcommands,
    add_auth_arguments,
    add_insecure_http_argument,
    auth_settings,
    out,
    print_json,
)
from adapters.cli.commands.writeback_flags import add_writeback_arguments, writeback_from_args
from adapters.exit_codes import ExitCode

if TYPE_CHECKING:
    from adapters.pipeline import EncounterResult

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add ``code`` to the CLI."""
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
    add_auth_arguments(code)
    add_insecure_http_argument(code)
    add_writeback_arguments(code)
    code.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Code the encounter; exit 1 when its claim has findings that block submission."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from adapters.fhir.auth import build_auth  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415
    from adapters.pipeline import Outcome, Pipeline  # noqa: PLC0415

    auth = build_auth(
        auth_settings(args),
        fhir_base_url=args.server,
        allow_insecure_http=args.allow_insecure_http or (),
    )
    coding = default_coding()
    async with AsyncExitStack() as stack:
        fhir = await stack.enter_async_context(FhirClient(args.server, auth=auth))
        writer, options = await writeback_from_args(args, fhir, stack)
        pipeline = Pipeline(
            fhir,
            coding,
            source_id=args.source_id,
            write=not args.dry_run,
            check_model=True,
            writer=writer,
            claim_options=options,
        )
        await pipeline.start()
        result = await pipeline.process(args.encounter_id)
    if result.error is not None:
        raise result.error
    _print(result, as_json=args.json)
    if result.outcome is Outcome.HELD or (result.claim or {}).get("status") == "draft":
        return ExitCode.FINDINGS
    return ExitCode.OK


def _print(result: EncounterResult, *, as_json: bool) -> None:
    from adapters.cli.report import issue_line, line_text, result_json  # noqa: PLC0415

    if as_json:
        print_json(result_json(result, with_claim=True))
        return
    claim = result.claim or {}
    out(f"Encounter/{result.encounter_id}: {result.outcome.value}")
    if claim:
        out(f"Claim/{claim['id']} ({claim['status']})")
    for line in result.coded.lines if result.coded else ():
        out(f"  {line_text(line)}")
    for issue in result.issues:
        out(f"  {issue_line(issue)}")
