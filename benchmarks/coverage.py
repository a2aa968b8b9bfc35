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
JSON as Synthea writes it) drawing the concepts of Synthea's module definitions
(``tests/data/synthea_module_concepts.tsv``), each only for patients its gate admits (the
sex and age Synthea's modules give it to, ``benchmarks/synthea_gates.py``), and the vaccines
of Synthea's schedule, twice: every concept with equal weight (the concept-weighted stress
figure, harsher than real populations, whose common concepts dominate) and weighted as
Synthea's own output in ``../shared/data`` emits them (:func:`emitted_weights`).
``--sample N`` prints N answers chosen at random for a hand review
(``--sample-seed``, recorded in the output; ``--sample-kind`` keeps one kind of instance;
``--changed-since REV`` draws at least
``--changed-share`` of them from instances whose curated row changed since ``REV``), and
``--review-file PATH`` writes them as a worksheet a reviewer fills in: one row per answer
with the concept and its term, the box, every code with its method and table row, and the
basis the row rests on (codes and terms only: no CPT descriptors, no patient identifiers).
``--sandbox-seed N`` measures the sandbox's seed of N patients, with its procedures as Synthea
writes them and with their records' facts. ``--export PATH`` (repeatable) measures any other
data the same way: a folder of FHIR Bundles (``*.json``) or a Bulk Data export
(``*.ndjson``), such as a sealed export kept outside the project.
Run: ``.venv/bin/python benchmarks/coverage.py [--patients 400] [--sample 100]``.
"""

# ruff: noqa: S311 - a seeded generator of test data, not cryptography

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from adapters.bulk import encounters_from_ndjson
from adapters.gathering.bundle_source import encounters_in_bundle
from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.model import CodedEncounter, CodedLine, Encounter
from fhir_coder.outcome import Severity
from fhir_coder.systems import CPT, CVX, HCPCS, ICD10CM, ICD10PCS, SNOMED, canonical_system

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ROOT.parent / "shared" / "data" / "synthea-bundles"
CONCEPTS = ROOT / "tests" / "data" / "synthea_module_concepts.tsv"
VACCINES = ROOT / "tests" / "data" / "synthea_vaccine_schedule.tsv"
KINDS = ("Condition", "Procedure", "Immunization")
CURATED = ROOT / "codesets" / "data"
SHORT = {ICD10CM: "ICD-10-CM", ICD10PCS: "ICD-10-PCS", CPT: "CPT", HCPCS: "HCPCS",
         SNOMED: "SNOMED CT", CVX: "CVX"}  # fmt: skip
REVIEW_COLUMNS = ("n", "corpus", "kind", "context", "concept_system", "concept", "term",
                  "box", "codes", "descriptions", "rule", "basis", "note", "verdict",
                  "finding")  # fmt: skip
# Resource ids are left out of the worksheet: it holds codes and terms, nothing about a patient.
_REFERENCE = re.compile(r"\b(Condition|Procedure|Immunization|Encounter|Patient)/[\w.\-]+")
AGE_BANDS = ((1, "age <1"), (19, "age 1-18"), (65, "age 19-64"), (999, "age 65+"))


@dataclass(frozen=True, slots=True)
class Answer:
    """One instance's answer, with what a reviewer needs to judge it."""

    corpus: str
    kind: str
    source: str
    box: str
    what: str  # the one-line summary the figures print
    context: str = ""  # encounter class, age band and sex (the rows' conditions use them)
    concept_system: str = ""
    concept: str = ""
    term: str = ""
    lines: tuple[CodedLine, ...] = ()
    note: str = ""
    targets: tuple[str, ...] = ()  # the target systems whose curated rows answer it


def _targets(kind: str, inpatient: bool) -> tuple[str, ...]:
    """Which curated tables answer an instance: a stay's procedures go to ICD-10-PCS."""
    if kind == "Condition":
        return (ICD10CM,)
    if kind == "Procedure":
        return (ICD10PCS,) if inpatient else (CPT, HCPCS)
    return (CPT,)


def answers(coded: CodedEncounter) -> Iterable[tuple[str, str, str, str]]:
    """(kind, source, box, what) for every instance of the encounter."""
    for answer in review_answers(coded, corpus=""):
        yield answer.kind, answer.source, answer.box, answer.what


def _context(encounter: Encounter) -> str:
    """Class, an age band and sex: enough to judge age- and sex-conditioned rows, no more."""
    born, start = encounter.patient.birth_date, encounter.period_start
    band = "age ?"
    if born is not None and start is not None:
        day = start.date() if hasattr(start, "date") else start
        years = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        band = next(label for limit, label in AGE_BANDS if years < limit)
    medicare = any("medicare" in c.payer_display.lower() for c in encounter.coverages)
    parts = (encounter.encounter_class.value, band, encounter.patient.sex)
    return " ".join(part for part in (*parts, "Medicare" if medicare else "") if part)


def review_answers(coded: CodedEncounter, corpus: str) -> Iterable[Answer]:
    """Every instance of the encounter and its box, with the lines and notes behind it."""
    encounter = coded.encounter
    context = _context(encounter)
    lines: dict[str, list[str]] = {}
    line_of: dict[str, list[CodedLine]] = {}
    for line in coded.lines:
        lines.setdefault(line.source.reference, []).append(line.code)
        line_of.setdefault(line.source.reference, []).append(line)
    issues: dict[str, list[tuple[Severity, str, str]]] = {}
    for issue in coded.issues:
        if issue.source:
            issues.setdefault(issue.source, []).append((issue.severity, issue.rule, issue.message))
    instances = [("Condition", d.source.reference, d.codings) for d in encounter.diagnoses]
    instances += [("Procedure", p.source.reference, p.codings) for p in encounter.procedures]
    instances += [("Immunization", i.source.reference, i.vaccine) for i in encounter.immunizations]
    for kind, source, codings in instances:
        concept = ", ".join(f"{c.code} {c.display}".strip() for c in codings[:1])
        first = codings[0] if codings else None
        base = Answer(
            corpus=corpus,
            kind=kind,
            source=source,
            box="",
            what="",
            context=context,
            concept_system=canonical_system(first.system) if first else "",
            concept=first.code if first else "",
            term=first.display if first else "",
            lines=tuple(line_of.get(source, ())),
            targets=_targets(kind, encounter.encounter_class.is_inpatient),
        )
        found = issues.get(source, [])
        # A line equal to another (same code, date, modifiers) is merged into it as units:
        # its own source then has the line's findings (unverified, for review) but no line.
        merged = {"DX-DUPLICATE-MERGED", "CODESET-UNVERIFIED", "SERVICE-CODE-UNCONFIRMED"}
        notes = " | ".join(f"{r}: {m}" for s, r, m in found if not r.startswith("CODESET"))
        if source in lines or any(rule in merged for _, rule, _ in found):
            what = f"{concept} -> {', '.join(lines.get(source, ['merged']))}"
            yield _with(base, "coded", what, notes)
        elif any(s is Severity.INFORMATION for s, _, _ in found) and not any(
            s is not Severity.INFORMATION and not r.startswith("CODESET") for s, r, _ in found
        ):
            note = next(m for s, _, m in found if s is Severity.INFORMATION)
            yield _with(base, "not reported", f"{concept}: {note}", notes)
        elif found:
            rule, message = next((r, m) for s, r, m in found if s is not Severity.INFORMATION)
            yield _with(base, "needs a coder", f"{concept}: {rule}: {message}", notes)
        else:
            yield _with(base, "silent", concept, "")


def _with(base: Answer, box: str, what: str, note: str) -> Answer:
    return Answer(
        corpus=base.corpus, kind=base.kind, source=base.source, box=box, what=what,
        context=base.context, concept_system=base.concept_system, concept=base.concept,
        term=base.term, lines=base.lines, note=note, targets=base.targets,
    )  # fmt: skip


def measure(
    encounters: list[Encounter], crosswalks: CrosswalkRegistry, corpus: str = ""
) -> list[Answer]:
    registry = default_registry("nearest")
    out: list[Answer] = []
    for encounter in encounters:
        coded = code_encounter(encounter, registry, crosswalks=crosswalks, notes=registry)
        out.extend(review_answers(coded, corpus))
    return out


def report(name: str, found: list[Answer]) -> None:
    print(f"\n{name}")
    for kind in KINDS:
        boxes = Counter(a.box for a in found if a.kind == kind)
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


@dataclass(frozen=True, slots=True)
class Concept:
    """A module concept and who Synthea's modules can give it to (its gate in the list)."""

    code: str
    display: str
    sexes: str  # "F", "M" or "" (anyone)
    low: float  # age in years at the record, low <= age < high
    high: float

    def admits(self, sex: str, age: float) -> bool:
        return (not self.sexes or sex in self.sexes) and self.low <= age < self.high


def sandbox_seeds(patients: int) -> list[tuple[str, list[Encounter]]]:
    """The sandbox's seed written as a Synthea-style NDJSON export, twice: its procedures as
    Synthea writes them (the concept alone) and with what their cath-lab and OR records
    state (``sandbox/procedure_records.py``). Empty when ``patients`` is 0."""
    if not patients:
        return []
    from sandbox.seed import build_seed_bundle  # noqa: PLC0415 - only this option needs it
    from sandbox.synthetic_export import write_export  # noqa: PLC0415

    out: list[tuple[str, list[Encounter]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for details, name in ((False, "procedures as Synthea writes them"),
                              (True, "with the procedure records' facts")):  # fmt: skip
            where = Path(folder) / name.split()[0]
            write_export(build_seed_bundle(patients=patients, procedure_details=details), where)
            out.append((name, export_encounters(where)))
    return out


def _concepts(kind: str) -> list[Concept]:
    """The list's concepts of one kind, with their gates (``benchmarks/synthea_gates.py``)."""
    with CONCEPTS.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        found = []
        for r in rows:
            if r["kind"] != kind:
                continue
            low, _, high = (r.get("age") or "0-").partition("-")
            found.append(Concept(r["code"], r["display"], r.get("sex") or "", float(low),
                                 float(high) if high else math.inf))  # fmt: skip
        return found


def _schedule() -> list[tuple[str, list[tuple[float, float]]]]:
    """Synthea's scheduled vaccines (CVX) and the ages in years it gives each in."""
    with VACCINES.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [
            (r["cvx"], [(float(lo), float(hi)) for lo, _, hi in
                        (band.partition("-") for band in r["ages"].split(";"))])
            for r in rows
        ]  # fmt: skip


def emitted_counts(kind: str) -> Counter[str]:
    """How many instances of each SNOMED CT concept the Synthea data in ``../shared/data``
    holds (every Bundle under ``synthea-bundles`` and any Bulk Data ``*.ndjson`` there)."""
    resource = {"condition": "Condition", "procedure": "Procedure"}[kind]
    counts: Counter[str] = Counter()
    if not BUNDLES.is_dir():
        return counts
    found: list[dict[str, Any]] = []
    for path in sorted(BUNDLES.glob("*.json")):
        bundle = orjson.loads(path.read_bytes())
        found += [e.get("resource", {}) for e in bundle.get("entry", [])]
    for path in sorted(BUNDLES.glob("*.ndjson")):
        found += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    for item in found:
        if item.get("resourceType") == resource:
            for coding in item.get("code", {}).get("coding", [])[:1]:
                if canonical_system(coding.get("system")) == SNOMED:
                    counts[str(coding.get("code"))] += 1
    return counts


def emitted_weights(concepts: list[Concept], counts: Counter[str]) -> dict[str, float]:
    """Each concept's share of a real export, estimated from ``counts`` (Good-Turing).

    The concepts seen share ``1 - N1/N`` by their counts and the concepts never seen share
    ``N1/N`` equally, where ``N`` is the instances counted and ``N1`` the concepts seen
    once (Good's estimate of the probability of an unseen concept; at least one instance's
    worth, so a unseen concept is never impossible). With no data every concept weighs the
    same.
    """
    codes = {c.code for c in concepts}
    seen = {code: n for code, n in counts.items() if code in codes}
    total = sum(seen.values())
    unseen = [c.code for c in concepts if c.code not in seen]
    if not total:
        return {c.code: 1.0 for c in concepts}
    floor = max(sum(1 for n in seen.values() if n == 1), 1) / total
    weights = {code: (1 - floor) * n / total for code, n in seen.items()}
    weights.update({code: floor / len(unseen) for code in unseen} if unseen else {})
    return weights


def _weighted_sample(
    rng: random.Random, items: list[Concept], weights: dict[str, float], k: int
) -> list[Concept]:
    """``k`` distinct items, each drawn with probability by weight (Efraimidis-Spirakis)."""
    keyed = sorted(
        ((rng.random() ** (1 / weights[c.code]), n) for n, c in enumerate(items)), reverse=True
    )
    return [items[n] for _, n in keyed[:k]]


def _age(born: str, day: str) -> float:
    """Age in years on ``day`` (ISO dates), as the gates read it."""
    b, d = date.fromisoformat(born), date.fromisoformat(day)
    return (d - b).days / 365.25


def population(patients: int, seed: int, weighting: str = "concept") -> list[Encounter]:
    """Encounters in the shapes Synthea writes.

    Each concept is drawn only for a patient its gate admits (the sex and the age at the
    encounter Synthea's modules can give it to, recorded in the concept list), so a man has
    no pregnancy and an infant no prostate cancer; and a vaccine only at an age Synthea's
    schedule gives it (``tests/data/synthea_vaccine_schedule.tsv``).
    ``weighting``: ``concept`` draws every admitted module concept with equal weight (the
    stress figure); ``emitted`` weighs them by how often Synthea's own output in
    ``../shared/data`` carries them (:func:`emitted_weights`).
    """
    rng = random.Random(seed)
    conditions, procedures = _concepts("condition"), _concepts("procedure")
    schedule = _schedule()
    weights = {
        kind: emitted_weights(concepts, emitted_counts(kind))
        if weighting == "emitted"
        else {c.code: 1.0 for c in concepts}
        for kind, concepts in (("condition", conditions), ("procedure", procedures))
    }
    entries: list[dict[str, Any]] = []
    for p in range(patients):
        born = f"{rng.randint(1935, 2024)}-{rng.randint(1, 12):02d}-15"
        sex = rng.choice(("female", "male"))
        patient = {"resourceType": "Patient", "id": f"p{p}", "birthDate": born, "gender": sex}
        # Coverage.type in the Source of Payment Typology, as US Core binds it (1 Medicare)
        payer, sopt = ("Medicare", "1") if born < "1960" else ("Acme Health", "5")
        coverage = {"resourceType": "Coverage", "id": f"cov{p}", "status": "active",
                    "beneficiary": {"reference": f"Patient/p{p}"},
                    "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": sopt}]},
                    "payor": [{"display": payer}]}  # fmt: skip
        entries += [patient, coverage]
        for e in range(rng.randint(1, 5)):
            eid = f"e{p}-{e}"
            klass = rng.choices(("AMB", "EMER", "IMP"), weights=(80, 12, 8))[0]
            day = f"{rng.randint(2023, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            day = min(max(day, born), "2026-06-30")  # not before the patient is born
            age = _age(born, day)
            entries.append({
                "resourceType": "Encounter", "id": eid, "status": "finished",
                "class": {"code": klass}, "subject": {"reference": f"Patient/p{p}"},
                "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T10:00:00Z"},
            })  # fmt: skip
            enc = {"reference": f"Encounter/{eid}"}
            gate = "F" if sex == "female" else "M"
            allowed = [c for c in conditions if c.admits(gate, age)]
            drawn = _weighted_sample(rng, allowed, weights["condition"], rng.randint(1, 4))
            for n, concept in enumerate(drawn):
                entries.append({
                    "resourceType": "Condition", "id": f"{eid}-c{n}", "encounter": enc,
                    "subject": {"reference": f"Patient/p{p}"},
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "verificationStatus": {"coding": [{"code": "confirmed"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct",
                                         "code": concept.code, "display": concept.display}]},
                })  # fmt: skip
            allowed = [c for c in procedures if c.admits(gate, age)]
            drawn = _weighted_sample(rng, allowed, weights["procedure"], rng.randint(0, 4))
            for n, concept in enumerate(drawn):
                entries.append({
                    "resourceType": "Procedure", "id": f"{eid}-p{n}", "encounter": enc,
                    "subject": {"reference": f"Patient/p{p}"}, "status": "completed",
                    "code": {"coding": [{"system": "http://snomed.info/sct",
                                         "code": concept.code, "display": concept.display}]},
                    "performedPeriod": {"start": f"{day}T09:10:00Z"},
                })  # fmt: skip
            if klass == "AMB":
                # At a visit, the vaccines Synthea's schedule gives at the patient's age.
                due = [cvx for cvx, bands in schedule if any(lo <= age < hi for lo, hi in bands)]
                for n, cvx in enumerate(rng.sample(due, min(len(due), rng.randint(0, 2)))):
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


Changed = set[tuple[str, str, str]]


def changed_concepts(since: str) -> Changed:
    """(source system, concept, target system) of every curated row added or changed since
    ``since``.

    Read from ``git`` against the files in ``codesets/data``: a table row's first cell is its
    concept (the table's head names the systems); a ConceptMap's changed element is found by
    comparing the two versions' elements.
    """
    changed: Changed = set()
    for path in sorted(CURATED.rglob("*")):
        if path.suffix not in (".tsv", ".json"):
            continue
        rel = path.relative_to(ROOT).as_posix()
        old = subprocess.run(
            ["git", "show", f"{since}:{rel}"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout
        new = path.read_text(encoding="utf-8")
        if old == new:
            continue
        if path.suffix == ".tsv":
            head = {
                key.strip(): canonical_system(value.strip())
                for key, _, value in (t[1:].partition(":") for t in new.splitlines()
                                      if t.startswith("# "))
            }  # fmt: skip
            before = set(old.splitlines())
            changed |= {
                (head.get("source", SNOMED), t.split("\t", 1)[0], head.get("target", ""))
                for t in new.splitlines()
                if t and not t.startswith("#") and t not in before
            }
        else:

            def elements(text: str) -> dict[tuple[str, str, str], str]:
                if not text:
                    return {}
                return {
                    (
                        canonical_system(g.get("source")),
                        str(e.get("code")),
                        canonical_system(g.get("target")),
                    ): orjson.dumps(e).decode()
                    for g in orjson.loads(text).get("group", [])
                    for e in g.get("element", [])
                }

            was, now = elements(old), elements(new)
            changed |= {key for key, value in now.items() if was.get(key) != value}
    return changed


def is_changed(answer: Answer, changed: Changed) -> bool:
    """Whether a row that answers this instance (its concept, its target) changed."""
    return any((answer.concept_system, answer.concept, t) in changed for t in answer.targets)


def draw(pool: list[Answer], size: int, seed: int, changed: Changed, share: float) -> list[Answer]:
    """``size`` answers at random (``seed``), at least ``share`` of them from ``changed``."""
    rng = random.Random(seed)
    fresh = [a for a in pool if is_changed(a, changed)]
    rest = [a for a in pool if not is_changed(a, changed)]
    want = min(len(fresh), math.ceil(size * share)) if changed else 0
    picked = rng.sample(fresh, want) + rng.sample(rest, min(size - want, len(rest)))
    rng.shuffle(picked)
    return picked


def basis_of(crosswalks: CrosswalkRegistry, answer: Answer, line: CodedLine) -> str:
    """The curated row's basis (its Index entry, note or assumption) for a line."""
    curated = crosswalks.curated
    if curated is None or not answer.concept:
        return ""
    key = (answer.concept_system, answer.concept, canonical_system(line.system))
    return "; ".join(
        t.comment for t in curated.entries().get(key, []) if t.code == line.code and t.comment
    )


def review_rows(answers_: list[Answer], crosswalks: CrosswalkRegistry) -> list[dict[str, str]]:
    """The worksheet: one row per answer, verdict and finding left for the reviewer."""
    registry = default_registry("nearest")
    rows = []
    for n, answer in enumerate(answers_, start=1):
        codes, described, rules, bases = [], [], [], []
        for line in answer.lines:
            system = SHORT.get(canonical_system(line.system), line.system)
            flag = " review" if line.needs_review else ""
            codes.append(f"{system} {line.code} ({line.method.value}{flag})")
            if canonical_system(line.system) == ICD10CM:
                # Public-domain descriptions only: CPT descriptors are the AMA's.
                found = registry.describe(line.code)
                described.append(f"{line.code} {found.description if found else line.display}")
            elif canonical_system(line.system) == ICD10PCS:
                described.append(f"{line.code} {line.display}")
            rules.append(line.rule + "".join(f" [{c.rule} {c.citation}]" for c in line.changes))
            if basis := basis_of(crosswalks, answer, line):
                bases.append(basis)
        rows.append({
            "n": str(n), "corpus": answer.corpus, "kind": answer.kind, "context": answer.context,
            "concept_system": SHORT.get(answer.concept_system, answer.concept_system),
            "concept": answer.concept, "term": answer.term, "box": answer.box,
            "codes": "; ".join(codes), "descriptions": "; ".join(described),
            "rule": "; ".join(rules), "basis": "; ".join(dict.fromkeys(bases)),
            "note": _REFERENCE.sub(r"\1", answer.note), "verdict": "", "finding": "",
        })  # fmt: skip
    return rows


def _head() -> str:
    """The commit the sample is drawn on (``+ changes`` when the tree differs from it)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "an unknown commit"
    return commit + (" + changes" if git("status", "--porcelain", "--", ".") else "")


def write_review(path: Path, rows: list[dict[str, str]], header: str) -> None:
    """A tab-separated worksheet; tabs and newlines inside cells become spaces."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("".join(f"# {line}\n" for line in header.splitlines()))
        handle.write("\t".join(REVIEW_COLUMNS) + "\n")
        for row in rows:
            cells = (" ".join(row[c].split()) for c in REVIEW_COLUMNS)
            handle.write("\t".join(cells) + "\n")


def main() -> None:
    """Print the figures for both corpora, and a sample for a hand review."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--sample", type=int, default=0, help="answers to print for review")
    parser.add_argument("--sample-seed", type=int, help="the sample's seed (default: --seed)")
    parser.add_argument(
        "--sample-kind", choices=KINDS, help="draw the sample from one kind of instance only"
    )
    parser.add_argument("--review-file", type=Path, help="write the sample as a worksheet (TSV)")
    parser.add_argument("--changed-since", help="a git revision: draw from rows changed since")
    parser.add_argument("--changed-share", type=float, default=1 / 3)
    parser.add_argument(
        "--export", type=Path, action="append", default=[], help="Bundles or NDJSON to measure"
    )
    parser.add_argument(
        "--sandbox-seed",
        type=int,
        default=0,
        metavar="PATIENTS",
        help="also measure the sandbox's seed of PATIENTS patients as an NDJSON export, as "
        "Synthea writes procedures and with its cath-lab and OR records' facts",
    )
    args = parser.parse_args()
    crosswalks = CrosswalkRegistry(snomed_map="", conceptmaps=[])
    both: list[Answer] = []
    if BUNDLES.is_dir():
        found = measure(bundle_encounters(), crosswalks, "synthea-bundles")
        report(f"six Synthea sample bundles ({BUNDLES})", found)
        both += found
    for path in args.export:
        found = measure(export_encounters(path), crosswalks, f"export:{path.name}")
        report(f"export {path}", found)
        both += found
    for name, encounters in sandbox_seeds(args.sandbox_seed):
        found = measure(encounters, crosswalks, f"sandbox-seed:{name}")
        report(f"the sandbox's seed ({args.sandbox_seed} patients), {name}", found)
        both += found
    found = measure(population(args.patients, args.seed), crosswalks, "generated")
    report(f"generated population, concept-weighted ({args.patients} patients, seed {args.seed})",
           found)  # fmt: skip
    both += found
    emitted = measure(population(args.patients, args.seed, "emitted"), crosswalks, "emitted")
    report(f"generated population, weighted as Synthea emits ({args.patients} patients, seed "
           f"{args.seed})", emitted)  # fmt: skip
    silent_emitted = sum(item.box == "silent" for item in emitted)
    silent = [item for item in both if item.box == "silent"]
    print(f"\nsilent instances: {len(silent) + silent_emitted}")
    if args.sample:
        seed = args.seed if args.sample_seed is None else args.sample_seed
        changed = changed_concepts(args.changed_since) if args.changed_since else set()
        answered = [
            item
            for item in both
            if item.box in ("coded", "not reported") and args.sample_kind in (None, item.kind)
        ]
        picked = draw(answered, args.sample, seed, changed, args.changed_share)
        fresh = sum(is_changed(a, changed) for a in picked)
        how = f"sample: {len(picked)} of {len(answered)} coded or not-reported answers, seed {seed}"
        if args.changed_since:
            how += f", {fresh} from the {len(changed)} rows changed since {args.changed_since}"
        print(f"\n{how}")
        for answer in picked:
            print(f"{answer.kind:<12} {answer.box:<13} {answer.what[:150]}")
        if args.review_file:
            header = (
                f"benchmarks/coverage.py --patients {args.patients} --seed {args.seed} "
                + (f"--sandbox-seed {args.sandbox_seed} " if args.sandbox_seed else "")
                + "".join(f"--export {path} " for path in args.export)
                + f"--sample {args.sample} --sample-seed {seed}"
                + (f" --sample-kind {args.sample_kind}" if args.sample_kind else "")
                + (f" --changed-since {args.changed_since}" if args.changed_since else "")
                + (
                    f" --changed-share {args.changed_share:g}"
                    if args.changed_since and args.changed_share != 1 / 3
                    else ""
                )
                + f"\ndrawn on {_head()}"
                + f"\n{how}\nverdict: right | wrong (and the finding says why)"
            )
            write_review(args.review_file, review_rows(picked, crosswalks), header)
            print(f"worksheet: {args.review_file}")


if __name__ == "__main__":
    main()
