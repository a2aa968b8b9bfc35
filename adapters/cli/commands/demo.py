"""``fhir-coder demo``: the whole job on the embedded sandbox, with no configuration."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import DEFAULT_DATA_DIR, Subcommands, out, print_json
from adapters.exit_codes import ExitCode

if TYPE_CHECKING:
    from adapters.coding_setup import CodingSetup
    from adapters.demo import DemoSummary

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add ``demo`` to the CLI."""
    demo = commands.add_parser(
        "demo",
        help="run the whole job on the embedded sandbox (SQLite, no configuration)",
        description="Start the sandbox FHIR server over a SQLite file, seed it with synthetic "
        "patients, code every finished encounter and write the Claims back.",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the sandbox and the Claim ledger keep their SQLite files "
        f"(default: ./{DEFAULT_DATA_DIR})",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Start the sandbox, code every finished encounter on it, print what happened."""
    from adapters.cli.sandbox_process import running_sandbox  # noqa: PLC0415
    from adapters.coding_setup import default_coding  # noqa: PLC0415

    data_dir: Path = args.data_dir
    coding = default_coding()
    with running_sandbox(data_dir / "sandbox.sqlite3") as base_url:
        summary = asyncio.run(_run(base_url, coding, data_dir / "claims.sqlite3"))
    needing = _leave_work(summary, coding, data_dir)
    secret = _demo_account(data_dir)
    if args.json:
        print_json(
            {
                **summary.to_json(),
                "work_items": needing,
                "workbench": _WORKBENCH,
                "workbench_password_file": str(secret) if secret else None,
            }
        )
    else:
        _print(summary, data_dir)
        _print_workbench(needing, secret)
    return ExitCode.OK


_WORKBENCH = "fhir-coder workbench --sandbox"


def _leave_work(summary: DemoSummary, coding: CodingSetup, data_dir: Path) -> int:
    """Put every encounter that needs a person on the workbench's worklist; how many do."""
    from adapters.demo import SANDBOX_SOURCE_ID  # noqa: PLC0415
    from adapters.jobs import JobLedger  # noqa: PLC0415
    from adapters.jobs.work_capture import record_result  # noqa: PLC0415

    needing = 0
    with JobLedger(data_dir / "jobs.sqlite3") as ledger:
        for result in summary.results:
            if result.coded is not None:
                needing += record_result(ledger.work, SANDBOX_SOURCE_ID, result, coding) is not None
    return needing


def _demo_account(data_dir: Path) -> Path | None:
    """The demo's coder account (made once, password in a file only its owner reads)."""
    import secrets  # noqa: PLC0415

    from adapters.workbench.accounts import add_user  # noqa: PLC0415

    accounts = data_dir / "workbench-users.toml"
    secret = data_dir / "workbench-demo-password.txt"
    if accounts.exists():
        return secret if secret.exists() else None
    password = secrets.token_urlsafe(12)
    add_user(accounts, "coder", password, name="Demo Coder")
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    return secret


def _print_workbench(needing: int, secret: Path | None) -> None:
    out()
    out(f"{needing} encounters need a coder; they wait on the workbench's worklist. Open it with:")
    out(f"    {_WORKBENCH}")
    out(
        "and go to http://127.0.0.1:8091/workbench/ ("
        + (f"user coder, password in {secret})" if secret else "your own account)")
    )


async def _run(base_url: str, coding: CodingSetup, ledger_path: Path) -> DemoSummary:
    from adapters.demo import SANDBOX_SOURCE_ID, code_all_finished  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415
    from adapters.writeback.claim_ledger import ClaimLedger  # noqa: PLC0415

    async with FhirClient(base_url) as fhir:
        with ClaimLedger(ledger_path) as ledger:
            return await code_all_finished(fhir, coding, source_id=SANDBOX_SOURCE_ID, ledger=ledger)


def _print(summary: DemoSummary, data_dir: Path) -> None:
    from adapters.cli.report import issue_line, line_text  # noqa: PLC0415

    facts = summary.to_json()
    out(f"Coded {facts['encounters']} finished encounters on the sandbox in {facts['seconds']} s.")
    out()
    for result in summary.results:
        head = f"Encounter/{result.encounter_id}: {result.outcome.value}"
        if result.claim:
            head += f" ({result.claim['status']} claim {result.claim['id']})"
        out(head)
        for line in result.coded.lines if result.coded else ():
            out(f"    {line_text(line)}")
        for issue in result.issues:
            if issue.severity.value != "information":
                out(f"    {issue_line(issue)}")
        if result.error is not None:
            out(f"    failed: {result.error}")
    issues = facts["issues"]
    out()
    out(
        f"Claims written: {facts['claims_written']} ({facts['claims_draft']} draft), "
        f"held back: {facts['held']}, failed: {facts['failed']}; "
        f"Claims on the server: {facts['claims_on_server']}."
    )
    out(
        f"Lines: {facts['lines']}; findings: {issues['error']} errors, "
        f"{issues['warning']} warnings, {issues['information']} notes; "
        f"{facts['round_trips_per_encounter']} round trips per encounter."
    )
    out(f"The sandbox's data stays in {data_dir}/; run it with: fhir-coder sandbox")
