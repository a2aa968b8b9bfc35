"""``fhir-coder run --from-ndjson PATH``: a population coded from an export already on disk.

The same job ledger, pipeline and write-back as ``run --server``; only where the
encounters come from differs. The export is read once into an index beside the ledger
(``<jobs-db folder>/ndjson/``), every finished Encounter becomes a job (keyed by the same
source and versionId as ``run`` would use, so the two never code an encounter twice),
and the workers assemble each encounter from the index instead of asking a server. An
interrupted run resumes: files already read are not read again, jobs done stay done.
"""

from __future__ import annotations

import argparse
import hashlib
from contextlib import AsyncExitStack
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.bulk import ExportIndex, IndexReport, NdjsonEncounters, ndjson_files
from adapters.cli.commands.common import out, print_json
from adapters.exit_codes import ExitCode
from adapters.settings import TriggerSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from adapters.jobs.workers import WorkerPool

    OpenPool = Callable[..., Awaitable[WorkerPool]]

__all__ = ["index_path_for", "run_from_files"]

_SHOWN = 20  # problems and unresolved references listed in the summary; the count says the rest


def index_path_for(settings: TriggerSettings, files: list[Path]) -> Path:
    """Where the index of ``files`` is kept: beside the ledger, named by the files read.

    A PostgreSQL ledger has no folder: the index (local, like the files) goes into this
    machine's data folder (:meth:`~adapters.settings.TriggerSettings.data_dir`).
    """
    digest = hashlib.sha256("\n".join(str(f.resolve()) for f in files).encode()).hexdigest()
    return settings.data_dir() / "ndjson" / f"{digest[:16]}.sqlite3"


def _export_summary(report: IndexReport, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "files_read": report.files,
        "files_already_read": report.files_skipped,
        "lines": report.lines,
        "resources": counts,
        "problems": report.problem_count,
        "problems_first": report.problems[:_SHOWN],
        "unresolved": report.unresolved_count,
        "unresolved_first": [asdict(u) for u in report.unresolved[:_SHOWN]],
    }


async def run_from_files(
    args: argparse.Namespace,
    settings: TriggerSettings,
    paths: list[Path],
    open_pool: OpenPool,
    *,
    base_url: str = "",
    extra: dict[str, Any] | None = None,
) -> int:
    """Index ``paths``, queue their finished encounters, code them; the exit code.

    Claims go back to ``--server`` when it is set, else to ``--claims-to``. ``base_url``
    is the server the export came from (absolute references to it resolve); ``extra`` is
    added to the summary (``run --bulk`` reports its export there). ``open_pool`` is
    ``run``'s own :func:`~adapters.cli.commands.run.open_trigger_pool`, passed in so the
    two modules do not import each other.
    """
    from adapters.cli.progress import Progress  # noqa: PLC0415
    from adapters.cli.stopping import GracefulStop  # noqa: PLC0415
    from adapters.jobs import JobLedger, JobState  # noqa: PLC0415
    from adapters.jobs.runner import source_client  # noqa: PLC0415

    source = settings.source_key()
    files = ndjson_files(paths)
    async with AsyncExitStack() as stack:
        stopping = await stack.enter_async_context(GracefulStop())
        ledger = stack.enter_context(JobLedger(settings.jobs_db))
        index = stack.enter_context(
            ExportIndex(index_path_for(settings, files), base_url=base_url or settings.server or "")
        )
        report = index.add(files)
        index.finish(report)
        queued = 0
        for encounter_id, version, patient in index.encounters("finished"):
            said = ledger.enqueue(source, encounter_id, version, trigger="ndjson", patient=patient)
            queued += said.value == "queued"
        fhir = await stack.enter_async_context(source_client(settings)) if settings.server else None
        reader = NdjsonEncounters(index, source_id=source)
        progress = Progress(ledger, source, enabled=not (args.quiet or args.json))
        pool = await open_pool(
            args, settings, ledger, fhir, stack, on_result=progress, gatherer=reader.gather
        )
        await pool.drain(stopping.event)
        progress.end()
        counts = {state.value: n for state, n in ledger.counts().items()}
        export = _export_summary(report, index.counts())
    if stopping.stopped:
        waiting = counts[JobState.QUEUED.value] + counts[JobState.RUNNING.value]
        out(f"stopped: {waiting} job(s) wait; the same command resumes them")
        return stopping.exit_code
    summary = {"source": source, **(extra or {}), "export": export, "queued_now": queued}
    summary["jobs"] = counts
    if args.json:
        print_json(summary)
    else:
        out(
            f"export: {report.files} files read ({report.files_skipped} already read), "
            f"{sum(export['resources'].values())} resources kept"
        )
        for problem in report.problems[:_SHOWN]:
            out(f"  line skipped: {problem}")
        if report.problem_count > _SHOWN:
            out(f"  ... and {report.problem_count - _SHOWN} more lines skipped")
        for missing in report.unresolved[:_SHOWN]:
            out(f"  unresolved: {missing.resource} {missing.field} -> {missing.reason}")
        if report.unresolved_count > _SHOWN:
            out(f"  ... and {report.unresolved_count - _SHOWN} more unresolved")
        out(f"{queued} queued now; " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    bad = counts[JobState.FAILED.value] + counts[JobState.PARKED.value]
    lost = report.problems or report.unresolved
    return ExitCode.FINDINGS if bad or lost else ExitCode.OK
