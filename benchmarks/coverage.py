"""How many Condition, Procedure and Immunization instances get an answer, on Synthea data.

Issue 17's acceptance figures. Every finished encounter is coded through the same
``code_encounter`` the pipeline uses (curated crosswalks, the code sets with the ``nearest``
opt-in for Synthea's decades of history), and each instance is put in one of four boxes:

* coded / billed: a claim line came from it (or it was merged into an equal line);
* not reported / not billed, with the reason: a note (information) names it;
* needs a coder: a warning or error names it (what is missing is in the finding);
* silent: nothing names it (must be none).

Two corpora: the six Synthea sample bundles in ``../shared/data/synthea-bundles`` (real
Synthea output nobody here wrote), and a population generated in the tests' shapes (FHIR
JSON as Synthea writes it) drawing every concept of Synthea's module definitions
(``tests/data/synthea_module_concepts.tsv``) and the vaccines of Synthea's schedule with
equal weight: a concept-weighted figure, harsher than real populations, whose common
concepts dominate. ``--sample N`` prints N answers chosen at random for a hand review.
``--export PATH`` (repeatable) measures any other data the same way: a folder of FHIR Bundles
(``*.json``) or a Bulk Data export (``*.ndjson``), such as a sealed export kept outside the
project. Run: ``.venv/bin/python benchmarks/coverage.py [--patients 400] [--sample 100]``.
"""

# ruff: noqa: S311 - a seeded generator of test data, not cryptography

from __future__ import annotations

import argparse
import csv
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from adapters.bulk import encounters_from_ndjson
from adapters.gathering.bundle_source import encounters_in_bundle
from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.model import CodedEncounter, Encounter
from fhir_coder.outcome import Severity

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ROOT.parent / "shared" / "data" / "synthea-bundles"
CONCEPTS = ROOT / "tests" / "data" / "synthea_module_concepts.tsv"
SCHEDULE_CVX = ("08", "43", "119", "20", "49", "133", "10", "140", "03", "21", "83", "52",
                "114", "115", "62", "113", "121", "33")  # fmt: skip
KINDS = ("Condition", "Procedure", "Immunization")


def answers(coded: CodedEncounter) -> Iterable[tuple[str, str, str, str]]:
    """(kind, source, box, what) for every instance of the encounter."""
    encounter = coded.encounter
    lines: dict[str, list[str]] = {}
    for line in coded.lines:
        lines.setdefault(line.source.reference, []).append(line.code)
    issues: dict[str, list[tuple[Severity, str, str]]] = {}
    for issue in coded.issues:
        if issue.source:
            issues.setdefault(issue.source, []).append((issue.severity, issue.rule, issue.message))
    instances = [("Condition", d.source.reference, d.codings) for d in encounter.diagnoses]
    instances += [("Procedure", p.source.reference, p.codings) for p in encounter.procedures]
    instances += [("Immunization", i.source.reference, i.vaccine) for i in encounter.immunizations]
    for kind, source, codings in instances:
        concept = ", ".join(f"{c.code} {c.display}".strip() for c in codings[:1])
        found = issues.get(source, [])
        # A line equal to another (same code, date, modifiers) is merged into it as units:
        # its own source then has the line's findings (unverified, for review) but no line.
        merged = {"DX-DUPLICATE-MERGED", "CODESET-UNVERIFIED", "SERVICE-CODE-UNCONFIRMED"}
        if source in lines or any(rule in merged for _, rule, _ in found):
            yield kind, source, "coded", f"{concept} -> {', '.join(lines.get(source, ['merged']))}"
        elif any(s is Severity.INFORMATION for s, _, _ in found) and not any(
            s is not Severity.INFORMATION and not r.startswith("CODESET") for s, r, _ in found
        ):
            note = next(m for s, _, m in found if s is Severity.INFORMATION)
            yield kind, source, "not reported", f"{concept}: {note}"
        elif found:
            rule, message = next((r, m) for s, r, m in found if s is not Severity.INFORMATION)
            yield kind, source, "needs a coder", f"{concept}: {rule}: {message}"
        else:
            yield kind, source, "silent", concept


def measure(
    encounters: list[Encounter], crosswalks: CrosswalkRegistry
) -> list[tuple[str, str, str, str]]:
    registry = default_registry("nearest")
    out: list[tuple[str, str, str, str]] = []
    for encounter in encounters:
        coded = code_encounter(encounter, registry, crosswalks=crosswalks, notes=registry)
        out.extend(answers(coded))
    return out


def report(name: str, found: list[tuple[str, str, str, str]]) -> None:
    print(f"\n{name}")
    for kind in KINDS:
        boxes = Counter(box for k, _, box, _ in found if k == kind)
        total = sum(boxes.values())
        if not total:
            continue
        answered = boxes["coded"] + boxes["not reported"]
        shown = ", ".join(f"{box} {n}" for box, n in boxes.most_common())
        print(f"  {kind}: {total} instances: {shown}; answered {answered / total:.1%}")


def bundle_encounters() -> list[Encounter]:
    encounters: list[Encounter] = []
    for path in sorted(BUNDLES.glob("*.json")):
        encounters.extend(
            encounters_in_bundle(orjson.loads(path.read_bytes()), source_id="synthea")
        )
    return encounters


def export_encounters(path: Path) -> list[Encounter]:
    """The finished encounters of a folder of Bundles or of an NDJSON export."""
    if list(path.glob("*.ndjson")) or path.suffix == ".ndjson":
        return [
            item.encounter
            for item in encounters_from_ndjson([path], source_id="export")
            if item.encounter is not None
        ]
    encounters: list[Encounter] = []
    for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
        encounters.extend(encounters_in_bundle(orjson.loads(file.read_bytes()), source_id="export"))
    return encounters


def _concepts(kind: str) -> list[tuple[str, str]]:
    with CONCEPTS.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [(r["code"], r["display"]) for r in rows if r["kind"] == kind]


def population(patients: int, seed: int) -> list[Encounter]:
    """Encounters in the shapes Synthea writes, every module concept drawn with equal weight."""
    rng = random.Random(seed)
    conditions, procedures = _concepts("condition"), _concepts("procedure")
    entries: list[dict[str, Any]] = []
    for p in range(patients):
        born = f"{rng.randint(1935, 2024)}-{rng.randint(1, 12):02d}-15"
        patient = {"resourceType": "Patient", "id": f"p{p}", "birthDate": born,
                   "gender": rng.choice(("female", "male"))}  # fmt: skip
        payer = "Medicare" if born < "1960" else "Acme Health"
        coverage = {"resourceType": "Coverage", "id": f"cov{p}", "status": "active",
                    "beneficiary": {"reference": f"Patient/p{p}"},
                    "payor": [{"display": payer}]}  # fmt: skip
        entries += [patient, coverage]
        for e in range(rng.randint(1, 5)):
            eid = f"e{p}-{e}"
            klass = rng.choices(("AMB", "EMER", "IMP"), weights=(80, 12, 8))[0]
            day = f"{rng.randint(2023, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            day = min(day, "2026-06-30")
            entries.append({
                "resourceType": "Encounter", "id": eid, "status": "finished",
                "class": {"code": klass}, "subject": {"reference": f"Patient/p{p}"},
                "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T10:00:00Z"},
            })  # fmt: skip
            enc = {"reference": f"Encounter/{eid}"}
            for n, (code, display) in enumerate(rng.sample(conditions, rng.randint(1, 4))):
                entries.append({
                    "resourceType": "Condition", "id": f"{eid}-c{n}", "encounter": enc,
                    "subject": {"reference": f"Patient/p{p}"},
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "verificationStatus": {"coding": [{"code": "confirmed"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": code,
                                         "display": display}]},
                })  # fmt: skip
            for n, (code, display) in enumerate(rng.sample(procedures, rng.randint(0, 4))):
                entries.append({
                    "resourceType": "Procedure", "id": f"{eid}-p{n}", "encounter": enc,
                    "subject": {"reference": f"Patient/p{p}"}, "status": "completed",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": code,
                                         "display": display}]},
                    "performedPeriod": {"start": f"{day}T09:10:00Z"},
                })  # fmt: skip
            if klass == "AMB":
                for n, cvx in enumerate(rng.sample(SCHEDULE_CVX, rng.randint(0, 2))):
                    entries.append({
                        "resourceType": "Immunization", "id": f"{eid}-i{n}", "encounter": enc,
                        "patient": {"reference": f"Patient/p{p}"}, "status": "completed",
                        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx",
                                                    "code": cvx}]},
                        "occurrenceDateTime": f"{day}T09:20:00Z",
                    })  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r}
                        for r in entries]}  # fmt: skip
    return encounters_in_bundle(bundle, source_id="generated")


def main() -> None:
    """Print the figures for both corpora, and a sample for a hand review."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--sample", type=int, default=0, help="answers to print for review")
    parser.add_argument(
        "--export", type=Path, action="append", default=[], help="Bundles or NDJSON to measure"
    )
    args = parser.parse_args()
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    both: list[tuple[str, str, str, str]] = []
    if BUNDLES.is_dir():
        found = measure(bundle_encounters(), crosswalks)
        report(f"six Synthea sample bundles ({BUNDLES})", found)
        both += found
    for path in args.export:
        found = measure(export_encounters(path), crosswalks)
        report(f"export {path}", found)
        both += found
    found = measure(population(args.patients, args.seed), crosswalks)
    report(f"generated population ({args.patients} patients, seed {args.seed})", found)
    both += found
    silent = [item for item in both if item[2] == "silent"]
    print(f"\nsilent instances: {len(silent)}")
    if args.sample:
        rng = random.Random(args.seed)
        answered = [item for item in both if item[2] in ("coded", "not reported")]
        for kind, _, box, what in rng.sample(answered, min(args.sample, len(answered))):
            print(f"{kind:<12} {box:<13} {what[:150]}")


if __name__ == "__main__":
    main()
