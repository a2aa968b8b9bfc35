"""``fhir-coder evaluate GOLD.tsv``: the coding engine measured against a gold set."""

from __future__ import annotations

import argparse
import csv
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from fhir_coder.evaluation import GoldRow

__all__ = ["read_gold", "register"]

DEFAULT_DATE = date(2026, 1, 15)


def register(commands: Subcommands) -> None:
    """Add ``evaluate`` to the CLI."""
    evaluate = commands.add_parser(
        "evaluate",
        help="measure the coding engine against a gold TSV",
        description="Gold columns, tab-separated: input system, input code (or words when the "
        "system is 'text'), age (optional), sex (optional), expected ICD-10-CM code. Lines "
        "starting with # and a header line starting with 'input' are skipped.",
    )
    evaluate.add_argument("gold", type=Path, metavar="GOLD.tsv")
    evaluate.add_argument(
        "--date",
        type=date.fromisoformat,
        default=DEFAULT_DATE,
        help=f"date of service the codes are checked for (default {DEFAULT_DATE})",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=run)


def read_gold(path: Path) -> list[GoldRow]:
    """The rows of a gold TSV; a malformed row is a ConfigurationError naming its line."""
    from fhir_coder.evaluation import GoldRow  # noqa: PLC0415

    if not path.is_file():
        raise ConfigurationError(f"gold file {path} does not exist")
    rows: list[GoldRow] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, fields in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not fields or fields[0].startswith("#") or fields[0].lower().startswith("input"):
                continue
            if len(fields) != 5:
                raise ConfigurationError(
                    f"{path}:{number}: expected 5 tab-separated columns "
                    f"(system, code, age, sex, expected), found {len(fields)}"
                )
            system, code, age, sex, expected = (f.strip() for f in fields)
            if age and not age.isdigit():
                raise ConfigurationError(f"{path}:{number}: age {age!r} is not a whole number")
            if sex and sex not in ("female", "male"):
                raise ConfigurationError(f"{path}:{number}: sex {sex!r} is not female or male")
            rows.append(
                GoldRow(system, code, expected, int(age) if age else None, sex or None, number)
            )
    return rows


def run(args: argparse.Namespace) -> int:
    """Evaluate; exits 1 when an invalid code was emitted (that must never happen)."""
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from fhir_coder.evaluation import evaluate  # noqa: PLC0415

    rows = read_gold(args.gold)
    setup = default_coding()
    report = evaluate(
        rows,
        setup.codesets,
        on=args.date,
        crosswalks=setup.crosswalks,
        notes=setup.notes,
        text=setup.text,
        policy=setup.policy,
    ).to_json()
    if args.json:
        print_json(report)
    else:
        out(
            f"Rows: {report['rows']}; coded automatically: {report['coded_automatically']} "
            f"({report['coverage']:.1%})"
        )
        out(
            f"Exact agreement: {report['exact_agreement']:.1%} "
            f"({report['exact_agreement_when_coded']:.1%} of what was coded); "
            f"3-character: {report['three_character_agreement']:.1%}"
        )
        out(f"Invalid codes emitted: {report['invalid_codes_emitted']}")
        for miss in report["disagreements"]:
            out(
                f"  line {miss['line']}: {miss['input']} expected {miss['expected']}, "
                f"got {miss['emitted'] or 'nothing'} ({miss['method']})"
            )
    return ExitCode.FINDINGS if report["invalid_codes_emitted"] else ExitCode.OK
