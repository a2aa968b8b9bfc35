"""The write-back flags commands share: where Claims go, the ledger, prices, drafts.

``--claims-to`` takes a FHIR base URL (another server) or a folder (NDJSON); without it,
Claims go back to the source server. Kept apart so ``code`` and later commands read the
same flags the same way.
"""

from __future__ import annotations

import argparse
from contextlib import AsyncExitStack
from pathlib import Path

from adapters.claim_ledger import ClaimLedger
from adapters.claim_options import default_claim_options
from adapters.client import FhirClient
from adapters.destinations import Destination, FhirDestination, NdjsonDestination
from adapters.writeback import ClaimWriter, DraftPolicy
from fhir_coder.claim import ClaimOptions

__all__ = ["add_writeback_arguments", "writeback_from_args"]


def add_writeback_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags: ``--claims-to``, ``--ndjson-fallback``, ``--ledger``, ``--fee-schedule``..."""
    parser.add_argument(
        "--claims-to",
        metavar="URL|DIR",
        help="write Claims to this FHIR server, or as NDJSON into this folder "
        "(default: back to the source server)",
    )
    parser.add_argument(
        "--ndjson-fallback",
        metavar="DIR",
        type=Path,
        help="when the FHIR destination takes no Claim writes, write NDJSON here instead",
    )
    parser.add_argument(
        "--ledger",
        metavar="FILE",
        type=Path,
        help="SQLite ledger of written Claims, shared by runs that may overlap (default: none)",
    )
    parser.add_argument(
        "--fee-schedule",
        metavar="CSV",
        type=Path,
        help="charges per code (code,modifier,price); without it Claims carry no prices",
    )
    parser.add_argument(
        "--hold-drafts",
        action="store_true",
        help="do not write Claims with blocking findings (default: write them as draft + Task)",
    )


async def writeback_from_args(
    args: argparse.Namespace, source: FhirClient, stack: AsyncExitStack
) -> tuple[ClaimWriter, ClaimOptions]:
    """The writer and Claim options the flags ask for; clients opened are closed by ``stack``."""
    target: str | None = args.claims_to
    fallback = NdjsonDestination(args.ndjson_fallback) if args.ndjson_fallback else None
    destination: Destination
    if target is None:
        destination = FhirDestination(source, fallback=fallback)
    elif target.startswith(("http://", "https://")):
        other = await stack.enter_async_context(FhirClient(target))
        destination = FhirDestination(other, fallback=fallback)
    else:
        destination = NdjsonDestination(Path(target))
    ledger = stack.enter_context(ClaimLedger(args.ledger))
    drafts = DraftPolicy.HOLD if args.hold_drafts else DraftPolicy.WRITE
    writer = ClaimWriter(destination, ledger=ledger, drafts=drafts)
    return writer, default_claim_options(args.fee_schedule)
