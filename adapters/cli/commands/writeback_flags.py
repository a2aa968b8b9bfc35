"""The write-back flags commands share: where Claims go, the ledger, prices, drafts.

``--claims-to`` takes a FHIR base URL (another server) or a folder (NDJSON); without it,
Claims go back to the source server, with the source's client and credentials. Another
server gets its own credentials, never the source's: the ``--claims-*`` authentication
flags (or the ``claims_*`` settings of the triggers), none by default. Kept apart so
``code`` and the triggers read the same flags the same way.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.claim_options import default_claim_options
from adapters.cli.commands.common import CLAIMS_AUTH_PREFIX, add_auth_arguments, auth_settings
from adapters.fhir.client import FhirClient
from adapters.writeback.claim_ledger import DEFAULT_CLAIMS_DB, ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter, DraftPolicy
from adapters.writeback.destinations import Destination, FhirDestination, NdjsonDestination
from fhir_coder.claim import ClaimOptions
from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from adapters.fhir.auth import AuthSettings

__all__ = ["CLAIMS_DB_ENV", "add_writeback_arguments", "writeback_from_args"]

CLAIMS_DB_ENV = "FHIR_CODER_CLAIMS_DB"
"""The Claim ledger's file, for ``code`` too (the triggers read it as the ``claims_db`` setting)."""


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
        metavar="FILE|URL",
        help="ledger of written Claims, shared by every run and process: a SQLite file "
        f"(default: {DEFAULT_CLAIMS_DB}, beside the job ledger; or {CLAIMS_DB_ENV}) or a "
        "postgresql:// URL (default beside a PostgreSQL --jobs-db: the same database)",
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
    add_auth_arguments(
        parser,
        prefix=CLAIMS_AUTH_PREFIX,
        title="authentication at the --claims-to server (at most one kind; default: none)",
    )


async def writeback_from_args(
    args: argparse.Namespace,
    source: FhirClient | None,
    stack: AsyncExitStack,
    *,
    claims_to: str | None = None,
    claims_auth: AuthSettings | None = None,
    ledger_path: Path | str | None = None,
    lease_seconds: float = 120.0,
    allow_insecure_http: Sequence[str] | None = None,
) -> tuple[ClaimWriter, ClaimOptions]:
    """The writer and Claim options the flags ask for; clients opened are closed by ``stack``.

    ``source`` is the server Claims go back to by default (None: files were coded, and
    ``--claims-to`` must say where). ``claims_to`` is the destination the settings name
    (``claims_to``, which the flag overrides: default ``--claims-to``). ``claims_auth``
    authenticates to a server there (default: the ``--claims-*`` flags); it is an error
    without such a server, rather than credentials silently unused.
    ``ledger_path`` is the Claim ledger the settings name (default: ``--ledger``,
    ``FHIR_CODER_CLAIMS_DB``, then ``fhir-coder-data/claims.sqlite3``).
    ``allow_insecure_http`` names hosts a ``--claims-to`` server may be reached at over
    plain ``http://`` (default: ``--allow-insecure-http``).
    """
    if allow_insecure_http is None:
        allow_insecure_http = getattr(args, "allow_insecure_http", None) or ()
    from adapters.fhir.auth import build_auth  # noqa: PLC0415 - jwt and cryptography, when needed

    target: str | None = claims_to if claims_to is not None else args.claims_to
    fallback = NdjsonDestination(args.ndjson_fallback) if args.ndjson_fallback else None
    auth = (
        claims_auth if claims_auth is not None else auth_settings(args, prefix=CLAIMS_AUTH_PREFIX)
    )
    to_server = target is not None and target.startswith(("http://", "https://"))
    try:
        kind = auth.kind
        other_auth = (
            build_auth(auth, fhir_base_url=target, allow_insecure_http=allow_insecure_http)
            if target and to_server
            else None
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"--claims-to: {exc}") from exc
    if kind != "none" and not to_server:
        raise ConfigurationError(
            "credentials for a --claims-to server are set, but Claims go "
            + ("back to the source server" if target is None else f"to the folder {target}")
        )
    destination: Destination
    if target is None:
        if source is None:
            raise ConfigurationError(
                "no destination for Claims: pass --server (Claims go back to it) or --claims-to"
            )
        destination = FhirDestination(source, fallback=fallback)
    elif to_server:
        other = await stack.enter_async_context(FhirClient(target, auth=other_auth))
        destination = FhirDestination(other, fallback=fallback)
    else:
        destination = NdjsonDestination(Path(target))
    if ledger_path is None:
        ledger_path = args.ledger or os.environ.get(CLAIMS_DB_ENV) or DEFAULT_CLAIMS_DB
    ledger = stack.enter_context(ClaimLedger(ledger_path, lease_seconds=lease_seconds))
    drafts = DraftPolicy.HOLD if args.hold_drafts else DraftPolicy.WRITE
    writer = ClaimWriter(destination, ledger=ledger, drafts=drafts)
    return writer, default_claim_options(args.fee_schedule)
