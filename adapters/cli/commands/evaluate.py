"""``fhir-coder evaluate GOLD.tsv``: the coding engine measured against a gold set."""

from __future__ import annotations

import argparse
import csv
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.cli.commands.common import Subcommands, out, print_json
from adapters.exit_codes import ExitCode
from fhir_coder.errors import ConfigurationError

if TYPE_CHECKING:
    from fhir_coder.encounter_evaluation import GoldCondition, GoldEncounter
    from fhir_coder.evaluation import GoldRow
    from fhir_coder.model import Coding

__all__ = ["read_encounter_gold", "read_gold", "register"]

ENCOUNTER_COLUMNS = (
    "id",
    "family",
    "section",
    "class",
    "age",
    "sex",
    "encounter",
    "conditions",
    "expected",
    "first",
)
"""The columns of a gold set of whole encounters (its header line starts with ``id``)."""

_SIDES = {
    "left": ("7771000", "Left"),
    "right": ("24028007", "Right"),
    "bilateral": ("51440002", "Bilateral"),
}
_ENCOUNTER_TYPES = {"follow-up": ("390906007", "Follow-up encounter")}
_LOINC = {"bmi": "39156-5", "bmi-percentile": "59576-9"}
_CONDITION = re.compile(r"^(?:(sct):)?([A-Za-z0-9.]+)(?:\{(.*)\})?$")

DEFAULT_DATE = date(2026, 1, 15)


def register(commands: Subcommands) -> None:
    """Add ``evaluate`` to the CLI."""
    evaluate = commands.add_parser(
        "evaluate",
        help="measure the coding engine against a gold TSV",
        description="Gold columns, tab-separated: input system, input code (or words when the "
        "system is 'text'), age (optional), sex (optional), expected ICD-10-CM code. Lines "
        "starting with # and a header line starting with 'input' are skipped. A gold set of "
        "whole encounters has the header id, family, section, class, age, sex, encounter, "
        "conditions, expected, first (docs/accuracy.md) and is reported per family.",
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


def is_encounter_gold(path: Path) -> bool:
    """Whether ``path`` is a gold set of whole encounters (its header starts with ``id``)."""
    if not path.is_file():
        raise ConfigurationError(f"gold file {path} does not exist")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                return line.split("\t", 1)[0].strip().lower() == "id"
    return False


def _condition(text: str, where: str) -> GoldCondition:
    from fhir_coder.encounter_evaluation import GoldCondition  # noqa: PLC0415
    from fhir_coder.model import Coding  # noqa: PLC0415
    from fhir_coder.systems import ICD10CM, SNOMED  # noqa: PLC0415

    found = _CONDITION.match(text.strip())
    if found is None:
        raise ConfigurationError(f"{where}: condition {text!r} is not CODE or sct:ID{{k=v|...}}")
    sct, code, options = found.groups()
    facts: dict[str, str] = {}
    for option in (options or "").split("|"):
        if option.strip():
            key, _, value = option.partition("=")
            facts[key.strip()] = value.strip()
    unknown = set(facts) - {"status", "ver", "site", "text", "onset", "abated"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown condition facts {sorted(unknown)}")
    sites = tuple(Coding(SNOMED, *_SIDES[s]) for s in facts.get("site", "").split() if s in _SIDES)
    if facts.get("site") and not sites:
        raise ConfigurationError(f"{where}: site is left, right or bilateral")
    try:
        onset = int(facts["onset"]) if "onset" in facts else None
        abated = int(facts["abated"]) if "abated" in facts else None
    except ValueError as exc:
        raise ConfigurationError(f"{where}: onset and abated are days (whole numbers)") from exc
    return GoldCondition(
        system=SNOMED if sct else ICD10CM,
        code=code if sct else code.replace(".", "").upper(),
        text=facts.get("text", ""),
        clinical_status=facts.get("status", "active"),
        verification=facts.get("ver", "confirmed"),
        body_sites=sites,
        onset_days=onset,
        abated_days=abated,
    )


def _encounter_options(
    text: str, where: str
) -> tuple[tuple[Coding, ...], tuple[tuple[str, float], ...], int]:
    from fhir_coder.model import Coding  # noqa: PLC0415
    from fhir_coder.systems import SNOMED  # noqa: PLC0415

    types: list[Coding] = []
    observations: list[tuple[str, float]] = []
    stay = 0
    for option in text.split():
        if option == "-":
            continue
        key, _, value = option.partition("=")
        try:
            if key == "type":
                types.append(Coding(SNOMED, *_ENCOUNTER_TYPES.get(value, (value, ""))))
            elif key in _LOINC:
                observations.append((_LOINC[key], float(value)))
            elif key == "stay":
                stay = int(value)
            else:
                raise ConfigurationError(f"{where}: unknown encounter option {key!r}")
        except ValueError as exc:
            raise ConfigurationError(f"{where}: {option!r} needs a number") from exc
    return tuple(types), tuple(observations), stay


def read_encounter_gold(path: Path) -> list[GoldEncounter]:
    """The encounters of a gold TSV; a malformed row is a ConfigurationError naming its line."""
    from fhir_coder.encounter_evaluation import GoldEncounter  # noqa: PLC0415
    from fhir_coder.model import EncounterClass  # noqa: PLC0415

    golds: list[GoldEncounter] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, fields in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not fields or fields[0].startswith("#") or fields[0].strip().lower() == "id":
                continue
            where = f"{path}:{number}"
            if len(fields) != len(ENCOUNTER_COLUMNS):
                raise ConfigurationError(
                    f"{where}: expected {len(ENCOUNTER_COLUMNS)} tab-separated columns "
                    f"({', '.join(ENCOUNTER_COLUMNS)}), found {len(fields)}"
                )
            row = dict(zip(ENCOUNTER_COLUMNS, (f.strip() for f in fields), strict=True))
            try:
                klass = EncounterClass(row["class"])
            except ValueError as exc:
                raise ConfigurationError(f"{where}: unknown class {row['class']!r}") from exc
            if row["age"] and not row["age"].isdigit():
                raise ConfigurationError(f"{where}: age {row['age']!r} is not a whole number")
            if row["sex"] not in ("", "female", "male"):
                raise ConfigurationError(f"{where}: sex {row['sex']!r} is not female or male")
            types, observations, stay = _encounter_options(row["encounter"], where)
            expected = tuple(c for c in row["expected"].split() if c != "-")
            golds.append(
                GoldEncounter(
                    id=row["id"],
                    family=row["family"],
                    section=row["section"],
                    encounter_class=klass,
                    conditions=tuple(
                        _condition(c, where) for c in row["conditions"].split(";") if c.strip()
                    ),
                    expected=expected,
                    first=row["first"] if row["first"] not in ("", "-") else None,
                    age=int(row["age"]) if row["age"] else None,
                    sex=row["sex"] or None,
                    types=types,
                    observations=observations,
                    stay_days=stay,
                    line=number,
                )
            )
    return golds


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

    if is_encounter_gold(args.gold):
        return _run_encounters(args)
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


def _run_encounters(args: argparse.Namespace) -> int:
    """Evaluate a gold set of whole encounters; exits 1 when an invalid code was emitted."""
    from adapters.coding_setup import default_coding  # noqa: PLC0415
    from fhir_coder.encounter_evaluation import evaluate_encounters  # noqa: PLC0415

    golds = read_encounter_gold(args.gold)
    setup = default_coding()
    report = evaluate_encounters(
        golds,
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
            f"Encounters: {report['encounters']}; agreement: {report['agreement']:.1%} "
            f"({report['agreed']}); invalid codes emitted: {report['invalid_codes_emitted']}"
        )
        for name, figures in report["families"].items():
            out(
                f"  {name}: {figures['agreed']}/{figures['encounters']} "
                f"({figures['agreement']:.1%})"
            )
        for miss in report["disagreements"]:
            out(
                f"  line {miss['line']} {miss['id']} ({miss['section']}): expected "
                f"{' '.join(miss['expected']) or 'nothing'}"
                f"{' first ' + miss['first'] if miss['first'] else ''}, got "
                f"{' '.join(miss['emitted']) or 'nothing'}"
            )
    return ExitCode.FINDINGS if report["invalid_codes_emitted"] else ExitCode.OK
