"""How many of the SNOMED CT concepts Synthea's modules emit the curated crosswalk answers.

Reads a Synthea checkout's module definitions (``src/main/resources/modules``, JSON), lists
the SNOMED CT codes of every ``ConditionOnset`` and ``Procedure`` state, and prints, per
kind, how many the crosswalks code, call not reported, send to a coder, or do not know.
With ``--write`` it (re)writes the list the tests read (``tests/data/synthea_module_concepts.tsv``),
merged with the list already there (older Synthea releases emit concepts the current one
dropped), with each concept's gate: the ``sex`` and ``age`` (years at the record, ``low-high``)
of the patients the modules can give it to, read from the modules by
``benchmarks/synthea_gates.py`` (the union over every checkout given and the gate already
recorded, so an older release's wider gate is never narrowed; empty cells: anyone).
``benchmarks/coverage.py`` draws each concept only for patients its gate admits.
It also writes the vaccines of Synthea's schedule with the ages it gives them in
(``tests/data/synthea_vaccine_schedule.tsv``). ``--gates-only`` records the gates of the
listed concepts without adding any. Several checkouts may be given (a current one and the
2019 release behind the SMART sample exports).
Run: ``.venv/bin/python benchmarks/synthea_coverage.py PATH/TO/synthea [MORE...] [--write]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, SNOMED

sys.path.insert(0, str(Path(__file__).parent))
from synthea_gates import (
    NOWHERE,
    Gate,
    bands_cell,
    gates,
    merge_bands,
    parse_bands,
    parse_cell,
    vaccine_ages,
)

LIST = Path(__file__).parent.parent / "tests" / "data" / "synthea_module_concepts.tsv"
VACCINES = Path(__file__).parent.parent / "tests" / "data" / "synthea_vaccine_schedule.tsv"
VACCINE_HEAD = (
    "# The vaccines of Synthea's immunization schedule (src/main/resources/immunization_schedule"
    ".json)\n# and the ages in years it gives each in (a scheduled age to 48 months past it,\n"
    "# modules/Immunizations.java), listed by benchmarks/synthea_coverage.py --write; facts only,\n"
    "# for benchmarks/coverage.py.\n"
)
KINDS = {"ConditionOnset": "condition", "Procedure": "procedure"}
_DAY = date(2026, 1, 1)
TARGETS = {"condition": (ICD10CM,), "procedure": (CPT, HCPCS, ICD10PCS)}
HEAD = (
    "# SNOMED CT concepts of the ConditionOnset and Procedure states of Synthea's modules\n"
    "# (github.com/synthetichealth/synthea src/main/resources/modules, 2026-06 and 2019-05), "
    "listed by\n# benchmarks/synthea_coverage.py; codes and terms only (facts), for "
    "tests/codesets/test_curated_tables.py.\n"
    "# sex, age: who the modules can give the concept to (age in years at the record,\n"
    "# low-high; empty: anyone), from benchmarks/synthea_gates.py; coverage.py follows them.\n"
)


def module_concepts(modules: Path) -> dict[tuple[str, str], str]:
    """(kind, code) -> display for every SNOMED CT code of a condition or procedure state."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(modules.rglob("*.json")):
        try:
            module: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"skipped {path}: {exc}\n")
            continue
        states = module.get("states", {}) if isinstance(module, dict) else {}
        for state in states.values():
            kind = KINDS.get(state.get("type", ""))
            for code in state.get("codes", []) if kind else ():
                if code.get("system") == "SNOMED-CT" and str(code.get("code")).isdigit():
                    found.setdefault((kind, str(code["code"])), code.get("display", ""))
    return found


def listed() -> dict[tuple[str, str], tuple[str, Gate]]:
    """The concepts already in the tests' list, with the gate recorded (none yet: nowhere)."""
    if not LIST.exists():
        return {}
    with LIST.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {
            (row["kind"], row["code"]): (
                row["display"],
                parse_cell(row["sex"], row["age"]) if "sex" in row else NOWHERE,
            )
            for row in rows
        }


def answer(crosswalks: CrosswalkRegistry, kind: str, code: str) -> str:
    """coded, not reported, needs a coder, or unknown: the first target system that knows it."""
    for target in TARGETS[kind]:
        no_target = crosswalks.no_target(SNOMED, code, target)
        found = crosswalks.translate(SNOMED, code, target, on=_DAY, age=40, sex="female")
        if no_target is None and found:
            return "coded" if not all(t.needs_review for t in found) else "needs a coder"
        if no_target is not None:
            return "not reported" if not no_target.reported else "needs a coder"
    return "unknown"


def main() -> None:
    """Print the figures; write the list with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synthea", type=Path, nargs="+", help="Synthea checkouts")
    parser.add_argument("--write", action="store_true", help=f"update {LIST}")
    parser.add_argument(
        "--gates-only", action="store_true", help="record gates, add no concept to the list"
    )
    args = parser.parse_args()
    known = listed()
    concepts = {key: display for key, (display, _) in known.items()}
    gated = {key: gate for key, (_, gate) in known.items()}
    for checkout in args.synthea:
        if not args.gates_only:
            concepts.update(module_concepts(checkout / "src/main/resources/modules"))
        for key, gate in gates(checkout).items():
            gated[key] = gated.get(key, NOWHERE).join(gate)
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    figures: dict[str, Counter[str]] = {kind: Counter() for kind in TARGETS}
    for kind, code in concepts:
        figures[kind][answer(crosswalks, kind, code)] += 1
    for kind, counts in figures.items():
        total = sum(counts.values())
        shown = ", ".join(f"{name} {n}" for name, n in counts.most_common())
        print(f"{kind}: {total} concepts: {shown}")
    if args.write:
        with LIST.open("w", encoding="utf-8") as handle:
            handle.write(HEAD + "kind\tcode\tdisplay\tsex\tage\n")
            for (kind, code), display in sorted(
                concepts.items(), key=lambda i: (i[0][0], int(i[0][1]))
            ):
                gate = gated.get((kind, code), NOWHERE)
                sex, age = (gate if not gate.empty else Gate()).cell()
                handle.write(f"{kind}\t{code}\t{display}\t{sex}\t{age}\n")
        print(f"wrote {LIST}")
        write_vaccines(args.synthea)


def write_vaccines(checkouts: list[Path]) -> None:
    """The schedule's vaccines and their ages: the union over the checkouts and the list."""
    known: dict[str, tuple[str, list[tuple[float, float]]]] = {}
    if VACCINES.exists():
        with VACCINES.open(encoding="utf-8") as handle:
            lines = (line for line in handle if not line.startswith("#"))
            for row in csv.DictReader(lines, delimiter="\t"):
                known[row["cvx"]] = (row["display"], parse_bands(row["ages"]))
    for checkout in checkouts:
        for cvx, (display, bands) in vaccine_ages(checkout).items():
            _, before = known.get(cvx, (display, []))
            known[cvx] = (display, merge_bands([*before, *bands]))
    with VACCINES.open("w", encoding="utf-8") as handle:
        handle.write(VACCINE_HEAD + "cvx\tdisplay\tages\n")
        for cvx, (display, bands) in sorted(known.items()):
            handle.write(f"{cvx}\t{display}\t{bands_cell(bands)}\n")
    print(f"wrote {VACCINES}")


if __name__ == "__main__":
    main()
