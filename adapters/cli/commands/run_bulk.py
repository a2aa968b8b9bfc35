"""``fhir-coder run --bulk``: a Bulk Data export from the server, then every encounter coded.

The export goes to ``<jobs-db folder>/bulk/<source>/`` with its state file
(:mod:`adapters.bulk.export_client`), so a stopped command picks the export up where it was
(polling the same status URL, keeping finished files, resuming a half-fetched one), and
then codes the files as ``run --from-ndjson`` does (:mod:`.run_files`). Once every
encounter of an export has been through the ledger the export is marked coded: the next
``run --bulk`` asks the server for a new one, and with ``--incremental`` only for what
changed since the last one (``_since`` = its ``transactionTime``).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:  # the export machinery loads when --bulk is used, not for every command
    from adapters.bulk import ExportProgress, ExportSpec
    from adapters.cli.commands.run_files import OpenPool
    from adapters.settings import TriggerSettings

__all__ = ["add_bulk_arguments", "run_bulk"]

_REDRAW_SECONDS = 0.2


def add_bulk_arguments(parser: argparse.ArgumentParser) -> None:
    """``--bulk [LEVEL]``, ``--type``, ``--type-filter``, ``--downloads``, ``--incremental``."""
    parser.add_argument(
        "--bulk",
        nargs="?",
        const="system",
        metavar="LEVEL",
        help="export with FHIR Bulk Data from --server, then code the files: system (the "
        "default), patient (Patient/$export) or group/ID (Group/ID/$export); resumable",
    )
    parser.add_argument(
        "--type",
        dest="bulk_types",
        metavar="T1,T2",
        help="resource types to export (default: those coding reads; an export of every "
        "type would carry Observations by the million)",
    )
    parser.add_argument(
        "--type-filter",
        dest="bulk_type_filters",
        action="append",
        default=[],
        metavar="QUERY",
        help="_typeFilter, such as 'Encounter?status=finished' (repeatable)",
    )
    parser.add_argument(
        "--downloads",
        dest="bulk_downloads",
        type=int,
        default=4,
        metavar="N",
        help="export files fetched at once (1-16, default 4); each resumes where it stopped",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="export only what changed since the last export this ledger coded (_since)",
    )


def _spec(args: argparse.Namespace, since: str | None) -> ExportSpec:
    from adapters.bulk import ExportSpec  # noqa: PLC0415
    from adapters.bulk.export_index import CODING_TYPES  # noqa: PLC0415

    level = str(args.bulk)
    group_id = ""
    if level.startswith("group/"):
        level, group_id = "group", level.removeprefix("group/")
    if level not in ("system", "patient", "group") or (level == "group" and not group_id):
        raise ConfigurationError(f"--bulk {args.bulk}: say system, patient or group/ID")
    types = tuple(t.strip() for t in (args.bulk_types or "").split(",") if t.strip())
    return ExportSpec(
        level=level,
        group_id=group_id,
        types=types or tuple(sorted(CODING_TYPES)),
        since=since,
        type_filters=tuple(args.bulk_type_filters),
    )


@dataclass(slots=True)
class ExportLine:
    """The export's progress on one terminal line (per type fetched), on a terminal only."""

    enabled: bool
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    _last: float = 0.0
    _drawn: bool = False

    def __post_init__(self) -> None:
        self.enabled = self.enabled and self.stream.isatty()

    def __call__(self, event: ExportProgress) -> None:
        """Redraw the line (at most five times a second, and always for a phase's end)."""
        now = time.monotonic()
        if not self.enabled or (now - self._last < _REDRAW_SECONDS and event.phase != "done"):
            return
        self._last = now
        fetched = ", ".join(f"{kind} {count}" for kind, count in event.by_type)
        fetched = f"; {fetched}" if fetched else ""
        if event.phase == "waiting":
            text = f"export: the server is preparing it ({event.detail or 'no progress said'})"
        elif event.phase == "downloading":
            done, total = event.files_done + 1, event.files_total
            text = f"export: file {done} of {total} ({event.detail}){fetched}"
        elif event.phase == "done":
            text = f"export: {event.files_total} files fetched{fetched}"
        else:
            text = f"export: {event.phase}"
        self.stream.write("\r" + text[:150].ljust(80))
        self.stream.flush()
        self._drawn = True

    def end(self) -> None:
        """End the line, if one was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


async def run_bulk(args: argparse.Namespace, settings: TriggerSettings, open_pool: OpenPool) -> int:
    """Export (or resume the export), code its files, mark it coded; the exit code."""
    from adapters.bulk import BulkExport  # noqa: PLC0415
    from adapters.bulk.export_client import (  # noqa: PLC0415
        MAX_DOWNLOADS,
        read_state,
        write_state,
    )
    from adapters.cli.commands.run_files import index_path_for, run_from_files  # noqa: PLC0415
    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415

    if not settings.server:
        raise ConfigurationError("--bulk exports from a server: pass --server URL")
    downloads = int(args.bulk_downloads)
    if not 1 <= downloads <= MAX_DOWNLOADS:
        raise ConfigurationError(f"--downloads {downloads}: say 1 to {MAX_DOWNLOADS}")
    source = settings.source_key()
    digest = hashlib.sha256(f"{source}\n{args.bulk}".encode()).hexdigest()[:16]
    folder = settings.data_dir() / "bulk" / digest
    checkpoint = f"bulk-since:{source}:{args.bulk}"
    with JobLedger(settings.jobs_db) as ledger:
        since = ledger.checkpoint(checkpoint) if args.incremental else None
    since = args.since or since
    state = read_state(folder)
    if state is not None and state.get("coded"):  # the last export is done with: a new one
        files = sorted(folder.glob("*.ndjson"))
        index_path_for(settings, files).unlink(missing_ok=True)
        shutil.rmtree(folder)
    line = ExportLine(enabled=not (args.quiet or args.json))
    async with AsyncExitStack() as stack:
        fhir = await stack.enter_async_context(source_client(settings))
        try:
            result = await BulkExport(
                fhir, folder, _spec(args, since), progress=line, downloads=downloads
            ).run()
        finally:
            line.end()
    extra = {
        "bulk": {
            "folder": str(folder),
            "transaction_time": result.transaction_time,
            "since": since,
            "resumed": result.resumed,
            "files_downloaded_now": result.downloaded_now,
            "files_already_had": result.already_had,
            "error_files": len(result.error_files),
            "export_requests": result.requests,
            "resources": result.by_type,
        }
    }
    code = await run_from_files(
        args, settings, result.files, open_pool, base_url=settings.server, extra=extra
    )
    if code >= 128:  # stopped by a signal: the same command codes the rest of this export
        return code
    state = read_state(folder) or {}
    state["coded"] = True
    write_state(folder, state)
    with JobLedger(settings.jobs_db) as ledger:
        if result.transaction_time:
            ledger.set_checkpoint(checkpoint, result.transaction_time)
    return code
