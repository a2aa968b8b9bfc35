"""``fhir-coder jobs list|show|retry|migrate``: the job ledger, parked jobs again, the schema.

``migrate`` applies the numbered schema changes of the ledgers (jobs and Claims, and on
PostgreSQL the X12 submission ledger too) to a SQLite file or a PostgreSQL database;
PostgreSQL is only checked at start-up, so an operator runs it once per upgrade, from one
machine.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.jobs.work_items import WorkItem
from adapters.storage import describe, is_postgres_url
from fhir_coder.errors import ConfigurationError

__all__ = ["register", "run"]


def register(commands: Subcommands) -> None:
    """Add ``jobs`` to the CLI."""
    parser = commands.add_parser(
        "jobs", help="list, show or retry jobs of the job ledger; migrate its schema"
    )
    parser.add_argument("action", choices=("list", "show", "retry", "migrate"))
    parser.add_argument("job_id", nargs="?", type=int, metavar="JOB", help="a job number")
    parser.add_argument(
        "--jobs-db", metavar="FILE|URL", help="the job ledger: a SQLite file or a postgresql:// URL"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--state", help="list only jobs in this state (queued, parked...)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else ""


def _as_json(job: Job, item: WorkItem | None = None) -> dict[str, object]:
    shown: dict[str, object] = {
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
        "claimed_by": job.claimed_by,
        "created": _when(job.created),
        "updated": _when(job.updated),
    }
    if item is not None:  # the encounter needs a person: why, and where it stands
        shown["work_item"] = item.id
        shown["work_state"] = item.state.value
        shown["reasons"] = list(item.reasons)
        shown["rules"] = list(item.rules)
        shown["summary"] = item.summary
    return shown


def _findings(item: WorkItem) -> list[dict[str, str]]:
    """The item's findings that need a person (blocking, or a ``NEEDS-`` rule), for ``show``."""
    found = []
    for issue in item.payload.get("issues") or []:
        rule = str(issue.get("rule", ""))
        if issue.get("severity") in ("fatal", "error") or rule.startswith("NEEDS-"):
            found.append(
                {
                    "severity": str(issue.get("severity", "")),
                    "rule": rule,
                    "message": str(issue.get("message", "")),
                    "fix": str(issue.get("fix", "")),
                    "source": str(issue.get("source", "")),
                }
            )
    return found


def run(args: argparse.Namespace) -> int:
    """Answer from the ledger; ``retry`` queues parked and failed jobs again."""
    from adapters.settings import load_settings  # noqa: PLC0415

    settings = load_settings(args.config, jobs_db=args.jobs_db)
    target = settings.jobs_db
    if args.action == "migrate":
        return _migrate(target)
    if not is_postgres_url(target) and not Path(target).is_file():
        raise ConfigurationError(f"no job ledger at {target}")
    with JobLedger(target) as ledger:
        if args.action == "retry":
            count = ledger.retry(args.job_id)
            out(f"{count} job(s) queued again")
            return ExitCode.OK
        if args.action == "show":
            _show(ledger, args)
        else:
            _list(ledger, args)
    return ExitCode.OK


def _migrate(target: Path | str) -> int:
    """Bring the ledgers' schemas at ``target`` up to date; say what was applied.

    The X12 submission ledger shares a PostgreSQL database with the others; as a SQLite
    file it has one of its own (``x12.sqlite3``), which migrates itself when opened.
    """
    from adapters.writeback.claim_ledger import ClaimLedger  # noqa: PLC0415
    from adapters.x12.ledger import SubmissionLedger  # noqa: PLC0415

    applied = JobLedger.migrate(target) + ClaimLedger.migrate(target)
    if is_postgres_url(target):
        applied += SubmissionLedger.migrate(target)
    where = describe(target)
    out(f"{where}: applied {', '.join(applied)}" if applied else f"{where}: up to date")
    return ExitCode.OK


def _show(ledger: JobLedger, args: argparse.Namespace) -> None:
    job = ledger.get(args.job_id) if args.job_id is not None else None
    if job is None:
        raise ConfigurationError("jobs show needs the number of a job that exists")
    item = ledger.work.find(job.source, job.encounter_id)
    if item is not None and item.job_id != job.id and job.state is not JobState.HELD:
        item = None  # the item belongs to another version's job
    shown = _as_json(job, item)
    findings = _findings(item) if item is not None else []
    if args.json:
        print_json({**shown, "findings": findings} if item is not None else shown)
        return
    for key, value in shown.items():
        text = " ".join(value) if isinstance(value, list) else value
        out(f"{key:>10}: {text}")
    for finding in findings:
        where = f" [{finding['source']}]" if finding["source"] else ""
        out(f"   finding: {finding['severity']} {finding['rule']}{where}: {finding['message']}")
        if finding["fix"]:
            out(f"       fix: {finding['fix']}")


def _list(ledger: JobLedger, args: argparse.Namespace) -> None:
    try:
        state = JobState(args.state) if args.state else None
    except ValueError as exc:
        raise ConfigurationError(f"no job state {args.state!r}") from exc
    listed = ledger.jobs(state=state)
    items = ledger.work.for_jobs([job.id for job in listed])
    if args.json:
        print_json([_as_json(job, items.get(job.id)) for job in listed])
        return
    for job in listed:
        error = f"  {job.last_error}" if job.last_error else ""
        item = items.get(job.id)
        why = f"  reasons: {','.join(item.reasons)} (item {item.id})" if item is not None else ""
        out(
            f"{job.id:>6} {job.state.value:<8} Encounter/{job.encounter_id}"
            f"/_history/{job.version or '?'} attempts={job.attempts} {job.outcome}{error}{why}"
        )
    counts = ", ".join(f"{n} {s.value}" for s, n in ledger.counts().items())
    out(counts)
