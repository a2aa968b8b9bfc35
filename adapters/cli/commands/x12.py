"""``fhir-coder x12``: submit Claims as 837s, read 835s, 999s, 277CAs and ClaimResponses back.

``x12 837 (--server URL | --from-ndjson DIR) (--out FILE | --outbox DIR | --post URL)``
hands the interchange for the Claims ready to go to a file, a clearinghouse's outbox
folder or an HTTP endpoint (the X12 settings' ``outbox`` or ``post_url`` when none is
given) and marks them submitted once it went; ``x12 835 FILE...`` (also 999 and 277CA
files) and ``x12 responses (--server URL | --from-ndjson DIR)`` record what payers said;
``x12 status CLAIM`` shows a Claim's history. Every command prints a summary (``--json``
for one JSON object) and ends a failure in one line.
"""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.cli.commands.common import (
    DEFAULT_DATA_DIR,
    Subcommands,
    add_auth_arguments,
    add_insecure_http_argument,
    auth_settings,
    out,
    print_json,
)
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from adapters.x12.handoff import Handoff
    from adapters.x12.intake import IntakeReport
    from adapters.x12.ledger import SubmissionLedger
    from adapters.x12.parties import X12Parties
    from adapters.x12.sources import ClaimSource
    from adapters.x12.submit import SubmitReport
    from fhir_coder.model import CodedEncounter

__all__ = ["register"]

_DEFAULT_LEDGER = DEFAULT_DATA_DIR / "x12.sqlite3"
POST_TOKEN_ENV = "FHIR_CODER_X12_POST_TOKEN"  # noqa: S105 - the variable holding --post's bearer token
DEFAULT_JOBS_DB = DEFAULT_DATA_DIR / "jobs.sqlite3"  # adapters.jobs.ledger's, without importing it


def register(commands: Subcommands) -> None:
    """Add ``x12`` and its subcommands to the CLI."""
    x12 = commands.add_parser("x12", help="submit Claims as X12 837 and read remittances back")
    actions = x12.add_subparsers(dest="x12_command", required=True, metavar="ACTION")

    submit = actions.add_parser("837", help="write the 837P/837I for the Claims ready to submit")
    where = submit.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", metavar="URL", help="read our Claims from this FHIR server")
    where.add_argument(
        "--from-ndjson", type=Path, metavar="DIR", help="read Claims (and Patients...) from here"
    )
    to = submit.add_mutually_exclusive_group()
    to.add_argument("--out", type=Path, metavar="FILE", help="write the interchange to this file")
    to.add_argument(
        "--outbox",
        type=Path,
        metavar="DIR",
        help="publish it in this folder as <sender>_<ISA13>.837 (a clearinghouse's SFTP pickup)",
    )
    to.add_argument("--post", metavar="URL", help="POST it to this clearinghouse endpoint")
    submit.add_argument(
        "--post-timeout", type=float, metavar="SECONDS", help="the whole POST (default 60)"
    )
    submit.add_argument("--x12-config", type=Path, metavar="FILE", help="X12 parties (TOML)")
    submit.add_argument(
        "--next-payer",
        action="store_true",
        help="send, instead, each Claim whose payer has remitted it with a balance left to "
        "its next Coverage (the claim to the secondary, with the primary's adjudication)",
    )
    submit.add_argument(
        "--fee-schedule",
        type=Path,
        metavar="CSV",
        help="charges for lines the Claims left unpriced",
    )
    submit.add_argument(
        "--claim-ledger",
        type=Path,
        metavar="FILE",
        help="the Claim ledger to mark submitted in (default: FHIR_CODER_CLAIMS_DB, else "
        "fhir-coder-data/claims.sqlite3, the one run and code write to)",
    )
    _common(submit)
    add_auth_arguments(submit)
    add_insecure_http_argument(submit)
    submit.set_defaults(run=run_837)

    remits = actions.add_parser(
        "835", help="record 835 remittances (and 999, 277CA and TA1 acknowledgments)"
    )
    remits.add_argument("files", nargs="+", type=Path, metavar="FILE")
    remits.add_argument(
        "--claim-ledger",
        type=Path,
        metavar="FILE",
        help="the Claim ledger where a Claim whose interchange a TA1 rejected stops being"
        " marked submitted (default: as x12 837's)",
    )
    _common(remits)
    _work(remits)
    add_auth_arguments(remits)
    add_insecure_http_argument(remits)
    remits.set_defaults(run=run_835)

    responses = actions.add_parser(
        "responses", help="record FHIR ClaimResponses and ExplanationOfBenefits"
    )
    origin = responses.add_mutually_exclusive_group(required=True)
    origin.add_argument("--server", metavar="URL", help="read them from this FHIR server")
    origin.add_argument("--from-ndjson", type=Path, metavar="DIR", help="read them from here")
    _common(responses)
    _work(responses, evidence=False)
    add_auth_arguments(responses)
    add_insecure_http_argument(responses)
    responses.set_defaults(run=run_responses)

    status = actions.add_parser("status", help="a Claim's submission history and remittances")
    status.add_argument("claim", metavar="CLAIM_ID")
    _common(status)
    status.set_defaults(run=run_status)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        metavar="FILE|URL",
        help="the submission ledger: a SQLite file or a postgresql:// URL (default: "
        f"FHIR_CODER_X12_DB, else beside the job ledger: {_DEFAULT_LEDGER}, or its database)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _work(parser: argparse.ArgumentParser, *, evidence: bool = True) -> None:
    work = parser.add_argument_group("denials as work items (the job ledger's worklist)")
    work.add_argument(
        "--jobs-db",
        type=Path,
        default=DEFAULT_JOBS_DB,
        metavar="FILE",
        help=f"the job ledger to put denied Claims' encounters in (default: {DEFAULT_JOBS_DB})",
    )
    work.add_argument("--source-id", metavar="NAME", help="the EHR's name in the job ledger")
    work.add_argument("--no-work", action="store_true", help="record only; make no work items")
    if evidence:
        work.add_argument(
            "--server",
            metavar="URL",
            help="the EHR: each denied encounter is coded again for the evidence (dry run)",
        )


def _open_work(args: argparse.Namespace, ledger: SubmissionLedger, report: IntakeReport) -> int:
    """Work items for the denials and rejections of ``report``; how many were made."""
    if args.no_work or not (report.denials or report.rejections):
        return 0
    from adapters.jobs.ledger import JobLedger  # noqa: PLC0415
    from adapters.x12.denials import open_denial_work  # noqa: PLC0415

    found: dict[str, dict[str, Any]] = {}
    if getattr(args, "server", None):
        submissions = [
            s
            for claim_id in [*report.denials, *report.rejections]
            if (s := ledger.submission(claim_id)) is not None
        ]
        found = asyncio.run(_evidence(args, submissions))
    with JobLedger(args.jobs_db) as jobs:
        items = open_denial_work(
            report,
            ledger,
            jobs.work,
            source=args.source_id,
            evidence=lambda submission: found.get(submission.claim_id),
        )
    return len(items)


async def _evidence(args: argparse.Namespace, submissions: list[Any]) -> dict[str, dict[str, Any]]:
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from adapters.fhir.auth import build_auth  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415
    from adapters.pipeline import Pipeline  # noqa: PLC0415
    from adapters.x12.evidence import evidence_for  # noqa: PLC0415

    auth = build_auth(
        auth_settings(args),
        fhir_base_url=args.server,
        allow_insecure_http=args.allow_insecure_http or (),
    )
    async with FhirClient(args.server, auth=auth) as fhir:
        pipeline = Pipeline(fhir, default_coding(), source_id=args.source_id, write=False)

        async def code(encounter_id: str) -> CodedEncounter | None:
            return (await pipeline.process(encounter_id)).coded

        return await evidence_for(submissions, code)


def _ledger_target(args: argparse.Namespace) -> Path | str:
    from adapters.settings import load_settings  # noqa: PLC0415
    from adapters.storage import is_postgres_url  # noqa: PLC0415

    if args.ledger:
        return args.ledger if is_postgres_url(args.ledger) else Path(args.ledger)
    return load_settings().x12_db_path()


def _ledger(args: argparse.Namespace) -> SubmissionLedger:
    from adapters.x12.ledger import SubmissionLedger  # noqa: PLC0415

    return SubmissionLedger(_ledger_target(args))


def _handoff(args: argparse.Namespace, parties: X12Parties) -> Handoff:
    """Where the interchange goes: the flag given, else the X12 settings' outbox or URL."""
    import os  # noqa: PLC0415

    from adapters.settings import load_settings  # noqa: PLC0415
    from adapters.x12.handoff import FileHandoff, HttpHandoff, OutboxHandoff  # noqa: PLC0415

    if args.out is not None:
        return FileHandoff(args.out)
    outbox = args.outbox if args.outbox is not None else (None if args.post else parties.outbox)
    if outbox is not None:
        return OutboxHandoff(outbox, parties.sender_id)
    url = args.post or parties.post_url
    if not url:
        raise ConfigurationError(
            "where does the interchange go? --out FILE, --outbox DIR or --post URL"
            " (or outbox / post_url in the X12 settings)"
        )
    return HttpHandoff(
        url,
        load_settings().data_dir() / "x12-outgoing",
        sender_id=parties.sender_id,
        timeout=args.post_timeout or parties.post_timeout,
        token=os.environ.get(POST_TOKEN_ENV) or None,
        allow_insecure_http=args.allow_insecure_http or (),
    )


async def _server_claims(args: argparse.Namespace) -> ClaimSource:
    from adapters.fhir.auth import build_auth  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415
    from adapters.x12.sources import claims_from_server  # noqa: PLC0415

    auth = build_auth(
        auth_settings(args),
        fhir_base_url=args.server,
        allow_insecure_http=args.allow_insecure_http or (),
    )
    async with FhirClient(args.server, auth=auth) as fhir:
        return await claims_from_server(fhir)


def run_837(args: argparse.Namespace) -> int:
    """Write the interchange; exit 1 when a Claim was not ready (each with its reasons)."""
    from adapters.claim_options import load_fee_schedule  # noqa: PLC0415
    from adapters.writeback.claim_ledger import ClaimLedger  # noqa: PLC0415
    from adapters.x12.parties import load_parties  # noqa: PLC0415
    from adapters.x12.sources import claims_from_ndjson  # noqa: PLC0415
    from adapters.x12.submit import submit_837  # noqa: PLC0415

    parties = load_parties(args.x12_config)
    handoff = _handoff(args, parties)
    price = None
    if args.fee_schedule is not None:
        schedule = load_fee_schedule(args.fee_schedule)

        def price(code: str, modifiers: tuple[str, ...]) -> Decimal | None:
            if modifiers and (found := schedule.prices.get((code, modifiers[0]))) is not None:
                return found
            return schedule.prices.get((code, ""))

    source = (
        claims_from_ndjson(args.from_ndjson)
        if args.from_ndjson is not None
        else asyncio.run(_server_claims(args))
    )
    claim_ledger = ClaimLedger(_claim_ledger_path(args))
    waiting: dict[str, str] = {}
    try:
        with _ledger(args) as ledger:
            if args.next_payer:
                from adapters.x12.coordination import next_payers  # noqa: PLC0415

                turned = next_payers(source, ledger)
                source, waiting = turned.source, turned.waiting
            report = submit_837(
                source, parties, ledger, handoff, claim_ledger=claim_ledger, price=price
            )
    finally:
        claim_ledger.close()
    if not args.json:  # the Claims --next-payer left with their payer, and why
        for claim_id, why in waiting.items():
            out(f"  Claim/{claim_id} stays with its payer: {why}")
    extra = {"waiting": waiting} if waiting else {}
    return _print_submit(report, handoff.where, as_json=args.json, extra=extra)


def _print_submit(
    report: SubmitReport, destination: str, *, as_json: bool, extra: dict[str, Any]
) -> int:
    """The report (``extra`` added to the JSON); exit 1 when a Claim was not ready."""
    if as_json:
        print_json(report.to_json() | extra)
    else:
        where = report.path or destination
        if report.sent:
            out(f"{len(report.sent)} claims sent to {where} (interchange {report.interchange})")
        else:
            out(f"no claims sent to {where}")
        _print_handoffs(report)
        for refused in report.not_ready:
            out(f"  not ready: {refused}")
        if report.already_sent:
            out(f"  {len(report.already_sent)} already submitted, not sent again")
        for claim_id in report.not_in_claim_ledger:
            out(f"  Claim/{claim_id} is not in the Claim ledger: marked submitted here only")
    return ExitCode.FINDINGS if report.not_ready or report.uncertain else ExitCode.OK


def _print_handoffs(report: SubmitReport) -> None:
    """What became of hand-offs earlier runs left, and whether this one surely went."""
    for control in report.finished:
        out(f"  interchange {control}, cut short by an earlier run, finished now")
    for control in report.released:
        out(f"  interchange {control}, cut short before it went, undone: its claims go again")
    for control in report.pending_elsewhere:
        out(f"  interchange {control} is being handed off by another run (or machine)")
    for control, elsewhere in report.other_destinations:
        out(
            f"  interchange {control} to {elsewhere} is not finished: run x12 837 with"
            " that destination to finish it"
        )
    if report.uncertain:
        out(f"  not known whether it arrived: {report.uncertain}")


def _claim_ledger_path(args: argparse.Namespace) -> Path | str:
    """The Claim ledger: ``--claim-ledger``, else the one the settings name (as ``run``'s)."""
    from adapters.settings import load_settings  # noqa: PLC0415

    if args.claim_ledger is not None:
        return Path(args.claim_ledger)
    return load_settings().claims_db_path()


def run_835(args: argparse.Namespace) -> int:
    """Record each file; exit 1 when a remittance names a claim that is not ours."""
    from adapters.writeback.claim_ledger import ClaimLedger  # noqa: PLC0415
    from adapters.x12.intake import record_x12_file  # noqa: PLC0415

    reports: list[dict[str, Any]] = []
    with _ledger(args) as ledger, ClaimLedger(_claim_ledger_path(args)) as claim_ledger:
        for path in args.files:
            report = record_x12_file(path, ledger, claim_ledger=claim_ledger)
            made = _open_work(args, ledger, report)
            reports.append(report.to_json() | {"work_items": made})
    return _print_intake(reports, as_json=args.json)


def run_responses(args: argparse.Namespace) -> int:
    """Record every ClaimResponse and ExplanationOfBenefit found."""
    from adapters.x12.responses import (  # noqa: PLC0415
        record_responses,
        responses_from_ndjson,
        responses_from_server,
    )

    if args.from_ndjson is not None:
        found = responses_from_ndjson(args.from_ndjson)
        label = str(args.from_ndjson)
    else:
        found = asyncio.run(_server_responses(args, responses_from_server))
        label = args.server
    with _ledger(args) as ledger:
        report = record_responses(found, ledger, label=label)
        made = _open_work(args, ledger, report)
    return _print_intake([report.to_json() | {"work_items": made}], as_json=args.json)


async def _server_responses(args: argparse.Namespace, reader: Any) -> Any:  # noqa: ANN401
    from adapters.fhir.auth import build_auth  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415

    auth = build_auth(
        auth_settings(args),
        fhir_base_url=args.server,
        allow_insecure_http=args.allow_insecure_http or (),
    )
    async with FhirClient(args.server, auth=auth) as fhir:
        return await reader(fhir)


def _print_intake(reports: list[dict[str, Any]], *, as_json: bool) -> int:
    if as_json:
        print_json(reports[0] if len(reports) == 1 else {"files": reports})
    else:
        for report in reports:
            out(
                f"{report['source']}: {report['kind']}, {report['claims_matched']} claims matched,"
                f" {report['lines_recorded']} lines recorded,"
                f" {len(report['unknown_claims'])} not ours,"
                f" {report.get('work_items', 0)} work items"
                + (" (already recorded)" if report.get("already_recorded") else "")
            )
            for claim_id in report.get("repeated", ()):
                out(f"  Claim/{claim_id}: this answer was recorded before (another way)")
            for pcn in report["unknown_claims"]:
                out(f"  not ours: patient control number {pcn}")
            for control, answer in report.get("interchanges", {}).items():
                out(f"  interchange {control} {answer} (TA1)")
            for control in report.get("unknown_interchanges", ()):
                out(f"  not ours: interchange {control} (TA1)")
    unknown = any(
        report["unknown_claims"] or report.get("unknown_interchanges") for report in reports
    )
    rejected = any("rejected" in report.get("interchanges", {}).values() for report in reports)
    return ExitCode.FINDINGS if unknown or rejected else ExitCode.OK


def run_status(args: argparse.Namespace) -> int:
    """Print the Claim's history (and its remittance lines)."""
    with _ledger(args) as ledger:
        submission = ledger.submission(args.claim)
        history = ledger.history(args.claim)
        lines = ledger.remit_lines(args.claim)
    if submission is None and not history:
        out(f"Claim/{args.claim} was never submitted (ledger {_ledger_target(args)})")
        return ExitCode.NOT_FOUND
    if args.json:
        print_json(
            {
                "claim": args.claim,
                "status": submission.status if submission else history[-1].status,
                "pcn": submission.pcn if submission else None,
                "history": [
                    {"at": e.at, "status": e.status, "source": e.source, "detail": e.detail}
                    for e in history
                ],
                "lines": [
                    {
                        "line": r.line,
                        "procedure": r.procedure,
                        "charge": r.charge,
                        "paid": r.paid,
                        "group": r.group_code,
                        "carc": r.carc,
                        "amount": r.amount,
                        "rarc": list(r.rarcs),
                        "outcome": r.outcome,
                    }
                    for r in lines
                ],
            }
        )
        return ExitCode.OK
    out(f"Claim/{args.claim}: {submission.status if submission else history[-1].status}")
    for event in history:
        out(f"  {event.status:<14} {event.source:<12} {event.detail}")
    for row in lines:
        adjustment = f" {row.group_code}-{row.carc} {row.amount}" if row.carc else ""
        out(f"  line {row.line} {row.procedure}: paid {row.paid} of {row.charge}{adjustment}")
    return ExitCode.OK
