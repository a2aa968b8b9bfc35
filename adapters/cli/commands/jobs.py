"""``fhir-coder jobs list|show|retry``: what the durable job ledger holds, and parked jobs again."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from adapters.jobs.ledger import Job, JobLedger, JobState
from fhir_coder.errors import ConfigurationError

__all__ = ["register", "run"]


def register(commands: Subcommands) -> None:
    """Add ``jobs`` to the CLI."""
    parser = commands.add_parser("jobs", help="list, show or retry jobs of the job ledger")
    parser.add_argument("action", choices=("list", "show", "retry"))
    parser.add_argument("job_id", nargs="?", type=int, metavar="JOB", help="a job number")
    parser.add_argument("--jobs-db", type=Path, metavar="FILE", help="the job ledger")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--state", help="list only jobs in this state (queued, parked...)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else ""


def _as_json(job: Job) -> dict[str, object]:
    return {
        "id": job.id,
        "source": job.source,
        "encounter": job.encounter_id,
        "version": job.version,
        "state": job.state.value,
        "attempts": job.attempts,
        "outcome": job.outcome,
        "claim": job.claim_id,
        "last_error": job.last_error,
        "trigger": job.trigger,
        "created": _when(job.created),
        "updated": _when(job.updated),
    }


def run(args: argparse.Namespace) -> int:
    """Answer from the ledger; ``retry`` queues parked and failed jobs again."""
    from adapters.settings import load_settings  # noqa: PLC0415

    settings = load_settings(args.config, jobs_db=args.jobs_db)
    if not settings.jobs_db.is_file():
        raise ConfigurationError(f"no job ledger at {settings.jobs_db}")
    with JobLedger(settings.jobs_db) as ledger:
        if args.action == "retry":
            count = ledger.retry(args.job_id)
            out(f"{count} job(s) queued again")
            return ExitCode.OK
        if args.action == "show":
            _show(ledger, args)
        else:
            _list(ledger, args)
    return ExitCode.OK


def _show(ledger: JobLedger, args: argparse.Namespace) -> None:
    job = ledger.get(args.job_id) if args.job_id is not None else None
    if job is None:
        raise ConfigurationError("jobs show needs the number of a job that exists")
    shown = _as_json(job)
    if args.json:
        print_json(shown)
        return
    for key, value in shown.items():
        out(f"{key:>10}: {value}")


def _list(ledger: JobLedger, args: argparse.Namespace) -> None:
    try:
        state = JobState(args.state) if args.state else None
    except ValueError as exc:
        raise ConfigurationError(f"no job state {args.state!r}") from exc
    listed = ledger.jobs(state=state)
    if args.json:
        print_json([_as_json(job) for job in listed])
        return
    for job in listed:
        error = f"  {job.last_error}" if job.last_error else ""
        out(
            f"{job.id:>6} {job.state.value:<8} Encounter/{job.encounter_id}"
            f"/_history/{job.version or '?'} attempts={job.attempts} {job.outcome}{error}"
        )
    counts = ", ".join(f"{n} {s.value}" for s, n in ledger.counts().items())
    out(counts)
