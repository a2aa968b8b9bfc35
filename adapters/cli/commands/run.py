"""``fhir-coder run --server URL``: every finished encounter, through the durable job ledger.

``--from-ndjson PATH`` codes an export on disk instead (:mod:`.run_files`), ``--bulk``
exports from the server first (:mod:`.run_bulk`).

Each encounter becomes a job (one per versionId) before any is processed, so a run that
is interrupted resumes where it stopped and never redoes a job that is done.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import (
    CLAIMS_AUTH_PREFIX,
    Subcommands,
    add_auth_arguments,
    add_insecure_http_argument,
    auth_values,
    out,
    print_json,
)
from adapters.cli.commands.run_bulk import add_bulk_arguments
from adapters.cli.commands.writeback_flags import add_writeback_arguments, writeback_from_args
from adapters.exit_codes import ExitCode
from adapters.fhir.references import subject_patient_id
from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from adapters.fhir.client import FhirClient
    from adapters.jobs.ledger import Job, JobLedger, JobState
    from adapters.jobs.workers import WorkerPool
    from adapters.pipeline import EncounterResult, Gatherer
    from adapters.settings import TriggerSettings

__all__ = ["add_trigger_arguments", "open_trigger_pool", "register", "run", "trigger_settings"]


def add_trigger_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags ``run``, ``watch`` and ``serve`` share (each also readable from settings)."""
    parser.add_argument("--server", metavar="URL", help="FHIR R4 base URL")
    parser.add_argument("--source-id", metavar="NAME", help="a stable name for the EHR")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument(
        "--jobs-db",
        metavar="FILE|URL",
        help="the job ledger: a SQLite file (fhir-coder-data/jobs.sqlite3), or a postgresql://"
        " URL that several machines share (it then holds the Claim ledger too)",
    )
    parser.add_argument("--concurrency", type=int, help="encounters processed at once (4)")
    parser.add_argument(
        "--rate", type=float, dest="rate_per_second", help="encounters a second at most (no limit)"
    )
    parser.add_argument("--max-attempts", type=int, help="tries before a job is parked (5)")
    add_auth_arguments(parser)
    add_insecure_http_argument(parser)
    add_writeback_arguments(parser)


def trigger_settings(args: argparse.Namespace, **extra: object) -> TriggerSettings:
    """The settings of a trigger command: its shared flags, then ``extra``, over the file.

    The authentication flags fill the same settings as the environment and the file
    (``fhir_token``, ``smart_*``...; ``claims_*`` for the ``--claims-to`` server).
    """
    from adapters.settings import auth_overrides, load_settings  # noqa: PLC0415

    return load_settings(
        args.config,
        server=args.server,
        source_id=args.source_id,
        jobs_db=args.jobs_db,
        concurrency=args.concurrency,
        rate_per_second=args.rate_per_second,
        max_attempts=args.max_attempts,
        claims_to=args.claims_to,
        claims_db=args.ledger,
        allow_insecure_http=args.allow_insecure_http,
        **auth_overrides(auth_values(args)),
        **auth_overrides(auth_values(args, prefix=CLAIMS_AUTH_PREFIX), claims=True),
        **extra,
    )


async def open_trigger_pool(
    args: argparse.Namespace,
    settings: TriggerSettings,
    ledger: JobLedger,
    fhir: FhirClient | None,
    stack: AsyncExitStack,
    *,
    on_result: Callable[[Job, EncounterResult | None, JobState], None] | None = None,
    gatherer: Gatherer | None = None,
) -> WorkerPool:
    """The writer the flags ask for, and a pool working the ledger's jobs of the source.

    ``run``, ``watch`` and ``serve`` all open it the same way; ``stack`` closes what it opens.
    ``gatherer`` assembles encounters from an export instead of ``fhir`` (``--from-ndjson``).
    """
    from adapters.jobs.runner import open_pool  # noqa: PLC0415

    writer, options = await writeback_from_args(
        args,
        fhir,
        stack,
        claims_to=settings.claims_to,
        claims_auth=settings.claims_auth(),
        ledger_path=settings.claims_db_path(),
        lease_seconds=settings.lease_seconds,
        allow_insecure_http=settings.allow_insecure_http,
    )
    return await stack.enter_async_context(
        open_pool(
            ledger,
            fhir,
            settings.source_key(),
            settings=settings.workers(),
            writer=writer,
            source_id=settings.source_id,
            claim_options=options,
            on_result=on_result,
            gatherer=gatherer,
        )
    )


def register(commands: Subcommands) -> None:
    """Add ``run`` to the CLI."""
    parser = commands.add_parser(
        "run", help="code every finished encounter on a server, resumable (job ledger)"
    )
    add_trigger_arguments(parser)
    parser.add_argument(
        "--since", metavar="DATE", help="only encounters updated on or after DATE (_lastUpdated)"
    )
    parser.add_argument(
        "--from-ndjson",
        type=Path,
        action="append",
        metavar="PATH",
        help="code the finished encounters of an NDJSON export on disk (a folder, or files; "
        "repeatable) instead of searching the server; Claims go to --server or --claims-to",
    )
    add_bulk_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Queue every finished encounter, process the queue; exit 1 if any failed or was held."""
    return asyncio.run(_run(args))


async def _run_export(args: argparse.Namespace, settings: TriggerSettings) -> int:
    """``--bulk`` (export, then code the files) or ``--from-ndjson`` (the files)."""
    if args.bulk and args.from_ndjson:
        raise ConfigurationError("--bulk exports from the server; --from-ndjson reads files: one")
    if args.bulk:
        from adapters.cli.commands.run_bulk import run_bulk  # noqa: PLC0415

        return await run_bulk(args, settings, open_trigger_pool)
    from adapters.cli.commands.run_files import run_from_files  # noqa: PLC0415

    if args.since:
        raise ConfigurationError("--since narrows a server search or an export, not files")
    if not (settings.source_id or settings.server):
        raise ConfigurationError(
            "--from-ndjson needs --source-id NAME (or --server URL): it keys the jobs "
            "and the Claim ids"
        )
    return await run_from_files(args, settings, args.from_ndjson, open_trigger_pool)


async def _run(args: argparse.Namespace) -> int:
    from adapters.cli.progress import Progress  # noqa: PLC0415
    from adapters.cli.stopping import GracefulStop  # noqa: PLC0415
    from adapters.jobs import JobLedger, JobState  # noqa: PLC0415
    from adapters.jobs.runner import encounter_version, source_client  # noqa: PLC0415

    settings = trigger_settings(args)
    if args.bulk or args.from_ndjson:
        return await _run_export(args, settings)
    source = settings.source_key()
    params = {"status": "finished", "_count": "200", "_elements": "id,meta,subject"}
    if args.since:
        params["_lastUpdated"] = f"ge{args.since}"
    async with AsyncExitStack() as stack:
        stopping = await stack.enter_async_context(GracefulStop())
        ledger = stack.enter_context(JobLedger(settings.jobs_db))
        fhir = await stack.enter_async_context(source_client(settings))
        queued = 0
        async for encounter in fhir.search("Encounter", params):
            if stopping.stopped:
                break
            version = encounter_version(encounter)
            said = ledger.enqueue(
                source,
                str(encounter["id"]),
                version,
                trigger="run",
                patient=subject_patient_id(encounter),
            )
            queued += said.value == "queued"
        progress = Progress(ledger, source, enabled=not (args.quiet or args.json))
        pool = await open_trigger_pool(args, settings, ledger, fhir, stack, on_result=progress)
        await pool.drain(stopping.event)
        progress.end()
        counts = {state.value: n for state, n in ledger.counts().items()}
    if stopping.stopped:
        waiting = counts[JobState.QUEUED.value] + counts[JobState.RUNNING.value]
        out(f"stopped: {waiting} job(s) wait; the same command resumes them")
        return stopping.exit_code
    summary = {"source": source, "queued_now": queued, "jobs": counts}
    if args.json:
        print_json(summary)
    else:
        out(f"{queued} queued now; " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    bad = counts[JobState.FAILED.value] + counts[JobState.PARKED.value]
    return ExitCode.FINDINGS if bad else ExitCode.OK
