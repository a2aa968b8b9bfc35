"""``fhir-coder watch --server URL``: poll for finished encounters and process them as they come.

Each poll asks for Encounters updated since the checkpoint less an overlap window
(``_lastUpdated``), queues the new versions in the job ledger and lets the workers
process them; the checkpoint lives in the ledger's file. ``--once`` polls, processes
what was found, and exits (for cron).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from contextlib import AsyncExitStack

from adapters.cli.commands.common import Subcommands, out
from adapters.cli.commands.run import add_trigger_arguments, open_trigger_pool, trigger_settings
from adapters.exit_codes import ExitCode

__all__ = ["register", "run"]


def register(commands: Subcommands) -> None:
    """Add ``watch`` to the CLI."""
    parser = commands.add_parser(
        "watch", help="poll a server for finished encounters (_lastUpdated) and code them"
    )
    add_trigger_arguments(parser)
    parser.add_argument("--interval", type=float, dest="poll_seconds", help="seconds between polls")
    parser.add_argument(
        "--overlap", type=float, dest="overlap_seconds", help="seconds each poll looks back (120)"
    )
    parser.add_argument("--since", metavar="DATE", help="where the first poll starts (everything)")
    parser.add_argument("--once", action="store_true", help="poll once, process, and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Poll until interrupted (or once)."""
    return asyncio.run(_watch(args))


async def _watch(args: argparse.Namespace) -> int:
    from adapters.cli.progress import Progress  # noqa: PLC0415
    from adapters.cli.stopping import GracefulStop  # noqa: PLC0415
    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.polling import poll_once  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415

    settings = trigger_settings(
        args, poll_seconds=args.poll_seconds, overlap_seconds=args.overlap_seconds
    )
    source = settings.source_key()
    async with AsyncExitStack() as stack:
        stopping = await stack.enter_async_context(GracefulStop())
        ledger = stack.enter_context(JobLedger(settings.jobs_db))
        fhir = await stack.enter_async_context(source_client(settings))
        progress = Progress(ledger, source, enabled=args.once)
        pool = await open_trigger_pool(args, settings, ledger, fhir, stack, on_result=progress)
        if args.once:
            found = await poll_once(
                fhir, ledger, source, overlap_seconds=settings.overlap_seconds, since=args.since
            )
            await pool.drain(stopping.event)
            progress.end()
            out(f"{found.seen} seen, {found.queued} queued; checkpoint {found.checkpoint}")
            return stopping.exit_code or ExitCode.OK
        workers = asyncio.create_task(pool.serve(stopping.event))
        try:
            while not stopping.stopped:
                found = await poll_once(
                    fhir, ledger, source, overlap_seconds=settings.overlap_seconds, since=args.since
                )
                if found.queued:
                    pool.wake.ring(found.queued)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.event.wait(), settings.poll_seconds)
        finally:
            stopping.event.set()
            pool.wake.ring_all()
            with contextlib.suppress(asyncio.CancelledError):
                await workers
    return stopping.exit_code
