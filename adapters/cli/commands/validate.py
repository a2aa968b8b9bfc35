"""``fhir-coder validate CLAIM.json``: scrub any R4 Claim like a payer's code editor.

Reads a Claim, or a Bundle holding Claims and their Patients (ExplanationOfBenefits too,
with ``--eob``), or NDJSON (a ``.ndjson`` file, or a folder of them: a Bulk Data export
such as CMS BCDA's ``ExplanationOfBenefit.ndjson`` with its ``Patient.ndjson``, or the
``Bundle.ndjson`` fhir-coder writes), scrubs each, and prints the findings as a table,
as JSON (``--json``) or as an OperationOutcome (``--outcome``). Exits 1 when any finding
is an error. The patient's age and sex come from a contained Patient, a Patient in the
same Bundle or NDJSON files, ``--age``/``--sex``, or the source server (``--server``).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError, FhirNotFoundError
from fhir_coder.outcome import Issue, count_by_severity, has_errors, operation_outcome

if TYPE_CHECKING:
    from adapters.claim_input import ClaimInput

__all__ = ["issue_json", "register"]

_COLUMNS = ("severity", "id", "expression", "message")


def register(commands: Subcommands) -> None:
    """Add ``validate`` to the CLI."""
    command = commands.add_parser(
        "validate", help="scrub an R4 Claim (or a Bundle of Claims) like a payer's code editor"
    )
    command.add_argument(
        "path", metavar="CLAIM.json|FILE.ndjson|DIR", type=Path, help="a Claim, Bundle or NDJSON"
    )
    command.add_argument(
        "--date", type=date.fromisoformat, metavar="YYYY-MM-DD", help="date of service to use"
    )
    command.add_argument("--json", action="store_true", help="print the findings as JSON")
    command.add_argument(
        "--outcome", action="store_true", help="print the findings as an OperationOutcome"
    )
    command.add_argument("--age", type=int, help="the patient's age in years")
    command.add_argument("--sex", choices=("male", "female"), help="the patient's sex")
    command.add_argument("--server", metavar="URL", help="read the Patient from this server")
    command.add_argument("--payer", default="medicare", help="payer profile (default: medicare)")
    command.add_argument("--profiles", type=Path, metavar="FILE", help="payer profiles (TOML)")
    command.add_argument("--ptp-dir", type=Path, metavar="DIR", help="CMS NCCI PTP files")
    command.add_argument("--mue-dir", type=Path, metavar="DIR", help="CMS MUE files")
    command.add_argument(
        "--eob", action="store_true", help="also scrub the Claim behind each ExplanationOfBenefit"
    )
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scrub every Claim in the file; exit 1 when a finding blocks submission."""
    from adapters.payer_profiles import profile_named  # noqa: PLC0415
    from adapters.scrubbing import default_scrubber, scrub_claim_json  # noqa: PLC0415

    problems: list[str] = []
    found = _found(args.path, with_eobs=args.eob, problems=problems)
    if not found:
        raise ConfigurationError(f"{args.path} holds no Claim")
    for problem in problems:
        out(f"skipped: {problem}")
    if args.server:
        found = asyncio.run(_patients_from(args.server, found))
    scrubber = default_scrubber(
        profile_named(args.payer, args.profiles), ptp_dir=args.ptp_dir, mue_dir=args.mue_dir
    )
    results = [
        (
            entry.label,
            scrub_claim_json(
                entry.claim,
                scrubber,
                patient=entry.patient,
                on=args.date,
                age=args.age,
                sex=args.sex,
                label=entry.label,
            ),
        )
        for entry in found
    ]
    _print(results, as_json=args.json, as_outcome=args.outcome)
    blocked = any(has_errors(issues) for _, issues in results)
    return ExitCode.FINDINGS if blocked else ExitCode.OK


def _found(path: Path, *, with_eobs: bool, problems: list[str]) -> list[ClaimInput]:
    """The Claims of a JSON file, an NDJSON file, or a folder of NDJSON files."""
    from adapters.claim_input import claims_in, claims_in_ndjson  # noqa: PLC0415

    if path.is_dir() or path.name.endswith((".ndjson", ".ndjson.gz")):
        files = (
            sorted(p for p in path.iterdir() if p.name.endswith((".ndjson", ".ndjson.gz")))
            if path.is_dir()
            else [path]
        )
        if not files or not all(f.is_file() for f in files):
            raise ConfigurationError(f"{path}: no NDJSON file there")
        return list(claims_in_ndjson(files, with_eobs=with_eobs, problems=problems))
    return list(claims_in(_read(path), with_eobs=with_eobs))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or "resourceType" not in data:
        raise ConfigurationError(f"{path} is not a FHIR resource")
    return data


async def _patients_from(server: str, found: list[ClaimInput]) -> list[ClaimInput]:
    """Fill in each Claim's Patient from ``server`` where the file did not hold it."""
    from dataclasses import replace  # noqa: PLC0415

    from adapters.fhir.client import FhirClient  # noqa: PLC0415

    out_list: list[ClaimInput] = []
    async with FhirClient(server) as fhir:
        for entry in found:
            reference = str((entry.claim.get("patient") or {}).get("reference") or "")
            if entry.patient is None and reference.startswith("Patient/"):
                try:
                    patient = await fhir.read("Patient", reference.split("/", 1)[1])
                except FhirNotFoundError:
                    patient = None
                entry = replace(entry, patient=patient)  # noqa: PLW2901
            out_list.append(entry)
    return out_list


def issue_json(issue: Issue) -> dict[str, Any]:
    """One finding as the ``--json`` output lists it."""
    found: dict[str, Any] = {
        "id": issue.rule,
        "severity": issue.severity.value,
        "message": issue.message,
        "expression": list(issue.expression),
    }
    if issue.fix:
        found["fix"] = issue.fix
    return found


def _print(
    results: list[tuple[str, tuple[Issue, ...]]], *, as_json: bool, as_outcome: bool
) -> None:
    if as_outcome:
        every = [issue for _, issues in results for issue in issues]
        print_json(operation_outcome(*every))
        return
    if as_json:
        print_json(
            {
                "issues": [
                    issue_json(issue) | {"claim": label}
                    for label, issues in results
                    for issue in issues
                ],
                "claims": [
                    {"claim": label, "counts": count_by_severity(issues)}
                    for label, issues in results
                ],
            }
        )
        return
    for label, issues in results:
        counts = count_by_severity(issues)
        summary = ", ".join(f"{n} {severity}" for severity, n in counts.items() if n)
        out(f"{label}: {summary or 'no findings'}")
        rows = [
            (i.severity.value, i.rule, ", ".join(i.expression), i.message)
            + ((f"fix: {i.fix}",) if i.fix else ())
            for i in issues
        ]
        widths = [max([len(_COLUMNS[c])] + [len(row[c]) for row in rows]) for c in range(3)]
        if rows:
            out("  " + "  ".join(h.ljust(w) for h, w in zip(_COLUMNS, [*widths, 0], strict=True)))
        for row in rows:
            cells = "  ".join(
                cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)
            )
            out(f"  {cells}  {row[3]}")
            if len(row) > 4:
                out(f"  {' ' * (sum(widths) + 6)}  {row[4]}")
