"""Professional claims scrubbed per second, with NCCI and MUE tables of realistic size loaded.

Run from the repository root with the project's venv::

    .venv/bin/python benchmarks/validate.py [--pairs 1000000] [--claims 20000]

Writes synthetic CMS-format files to a temporary folder (a PTP file with ``--pairs``
column-1/column-2 pairs over 12,000 made-up CPT-shaped codes, and an MUE file for every
code), loads them as ``fhir-coder validate --ptp-dir --mue-dir`` does (through
:func:`adapters.scrubbing.default_scrubber`, with :class:`codesets.ncci.NcciEdits`), and reports
the load time and the memory the tables take (resident set growth). Then generates
``--claims`` professional Claims (R4 JSON: 1 to 4 ICD-10-CM diagnoses, 1 to 6 lines drawn
so that pairs and unit limits are hit, modifiers, pointers) and times reading and
scrubbing them on one core: ``orjson.loads`` of the bytes, :func:`read_claim` and the whole
edit catalogue (ICD-10-CM validity and notes from the real registry, the diagnosis age and
sex edits with each claim's Patient, pointers, modifiers, NCCI PTP, MUE, structure). Goal
(issue 7): at least 5,000 claims/s. Last, a second start in another process, which reads
the tables the first compiled into this run's cache folder: its load time and memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.claim_input import read_claim  # noqa: E402
from adapters.scrubbing import default_scrubber  # noqa: E402
from codesets import CACHE_DIR_ENV, default_registry  # noqa: E402
from codesets.ncci import NcciEdits  # noqa: E402
from fhir_coder.validation import Scrubber  # noqa: E402

CODES = 12_000
POOL = 400
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
DIAGNOSES = (
    "E11.9",
    "I10",
    "J20.9",
    "M54.50",
    "R05.9",
    "Z00.00",
    "E78.5",
    "K21.9",
    "E11",
    "S72.001",
)
MODIFIERS = ("", "", "", "25", "59", "XS", "RT", "LT", "GT")


def rss_kib() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpt(n: int) -> str:
    return f"{10000 + n * 7 % 89000:05d}"


def write_tables(folder: Path, pairs: int, rng: random.Random) -> tuple[list[str], Path, Path]:
    codes = sorted({cpt(n) for n in range(CODES)})
    ptp_dir, mue_dir = folder / "ptp", folder / "mue"
    ptp_dir.mkdir()
    mue_dir.mkdir()
    seen: set[tuple[int, int]] = set()
    lines = ["Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale"]
    while len(seen) < pairs:
        # One pair in twenty among the 400 codes the claims bill, so claims meet edits.
        span = POOL if rng.random() < 0.05 else len(codes)
        first, second = rng.randrange(span), rng.randrange(span)
        if first == second or (first, second) in seen:
            continue
        seen.add((first, second))
        indicator = rng.choice("0111119")
        lines.append(f"{codes[first]}\t{codes[second]}\t\t20200101\t*\t{indicator}\tSynthetic edit")
    (ptp_dir / "ccipra-v331r0-f1.txt").write_text("\n".join(lines) + "\n")
    mue = ["HCPCS/CPT Code,MUE Values,MUE Adjudication Indicator,MUE Rationale"]
    mue += [f"{code},{rng.choice((1, 1, 2, 3, 4))},{rng.choice('123')},Synthetic" for code in codes]
    (mue_dir / "MCR_MUE_PractitionerServices_Eff_2026-01-01.csv").write_text("\n".join(mue) + "\n")
    return codes, ptp_dir, mue_dir


PATIENTS = [
    {
        "resourceType": "Patient",
        "id": str(n),
        "gender": ("female", "male")[n % 2],
        "birthDate": f"{1930 + n % 90}-0{1 + n % 9}-1{n % 10}",
    }
    for n in range(997)
]
"""The claims' patients (``Patient/{n % 997}``): sex and age for the diagnosis edits."""


def patient_of(n: int) -> dict[str, object]:
    return PATIENTS[n % len(PATIENTS)]


def claim(n: int, codes: list[str], rng: random.Random) -> bytes:
    diagnoses = rng.sample(DIAGNOSES, rng.randint(1, 4))
    lines = [
        (code, rng.choice((1, 1, 1, 2, 3))) for code in rng.sample(codes[:POOL], rng.randint(1, 6))
    ]
    return orjson.dumps(
        {
            "resourceType": "Claim",
            "id": f"bench-{n}",
            "status": "active",
            "type": {"coding": [{"code": "professional"}]},
            "use": "claim",
            "patient": {"reference": f"Patient/{n % 997}"},
            "billablePeriod": {"start": "2026-03-02", "end": "2026-03-02"},
            "created": "2026-03-03",
            "provider": {"reference": "Organization/clinic"},
            "insurer": {"reference": "Organization/payer"},
            "priority": {"coding": [{"code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/1"}}],
            "diagnosis": [
                {
                    "sequence": i,
                    "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": code}]},
                }
                for i, code in enumerate(diagnoses, start=1)
            ],
            "item": [
                {
                    "sequence": i,
                    "productOrService": {"coding": [{"system": CPT, "code": code}]},
                    "modifier": [{"coding": [{"code": m}]} for m in (rng.choice(MODIFIERS),) if m],
                    "quantity": {"value": units},
                    "diagnosisSequence": list(range(1, len(diagnoses) + 1)),
                    "servicedDate": "2026-03-02",
                    "unitPrice": {"value": 100.0},
                    "net": {"value": 100.0 * units},
                }
                for i, (code, units) in enumerate(lines, start=1)
            ],
        }
    )


def second_start(ptp_dir: Path, mue_dir: Path) -> None:
    """Time and measure a load in a fresh process, where the first start left its cache."""
    gc.collect()
    before = rss_kib()
    started = time.perf_counter()
    tables = NcciEdits(ptp_dir=ptp_dir, mue_dir=mue_dir)
    seconds = time.perf_counter() - started
    gc.collect()
    sys.stdout.write(orjson.dumps([seconds, rss_kib() - before, tables.sources]).decode())


def first_start(ptp_dir: Path, mue_dir: Path) -> tuple[Scrubber, NcciEdits, float, float]:
    """The scrubber as ``fhir-coder validate`` builds it, load seconds and MiB of RSS growth."""
    gc.collect()
    before = rss_kib()
    started = time.perf_counter()
    scrubber = default_scrubber(ptp_dir=ptp_dir, mue_dir=mue_dir)
    seconds = time.perf_counter() - started
    tables = scrubber.procedure_edits
    if not isinstance(tables, NcciEdits):
        raise SystemExit("the scrubber did not load the NCCI/MUE files")
    gc.collect()
    return scrubber, tables, seconds, (rss_kib() - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument(
        "--second-start",
        nargs=2,
        metavar=("PTP_DIR", "MUE_DIR"),
        help="(used by the benchmark) load the tables compiled by a first start, print figures",
    )
    args = parser.parse_args()
    if args.second_start:
        second_start(*map(Path, args.second_start))
        return
    rng = random.Random(7)  # noqa: S311 - reproducible synthetic data
    default_registry()  # the ICD-10-CM index, loaded before the tables are measured
    with tempfile.TemporaryDirectory(prefix="fhir-coder-bench-") as folder:
        # The compiled NCCI tables go to a folder of this run, not the user's cache (the
        # ICD-10-CM index above has already been found in the user's).
        os.environ[CACHE_DIR_ENV] = str(Path(folder) / "cache")
        codes, ptp_dir, mue_dir = write_tables(Path(folder), args.pairs, rng)
        scrubber, tables, load_seconds, table_mib = first_start(ptp_dir, mue_dir)
        bodies = [claim(n, codes, rng) for n in range(args.claims)]
        for n, body in enumerate(bodies[:500]):  # warm the registry's per-date and notes caches
            scrubber.scrub(read_claim(orjson.loads(body), patient_of(n)))
        rules: Counter[str] = Counter()
        started, cpu = time.perf_counter(), time.process_time()
        for n, body in enumerate(bodies):
            issues = scrubber.scrub(read_claim(orjson.loads(body), patient_of(n)))
            rules.update(issue.rule for issue in issues)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        second = subprocess.run(
            [sys.executable, __file__, "--second-start", str(ptp_dir), str(mue_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        warm_seconds, warm_kib, sources = orjson.loads(second.stdout)
        if sources != tables.sources:
            raise SystemExit("the compiled tables differ from the parsed ones")
        compiled = sum(f.stat().st_size for f in Path(folder, "cache").glob("ncci-*"))
    today = dt.datetime.now(dt.UTC).date().isoformat()
    print(f"{today}, Python {platform.python_version()}, one process")
    print("| measure | figure |")
    print("|---|---|")
    print(f"| PTP pairs loaded / MUE codes | {tables.ptp_count:,} / {tables.mue_count:,} |")
    print(f"| loading them (`codesets.ncci.NcciEdits`), first start | {load_seconds:.2f} s |")
    print(f"| memory the tables take (RSS growth) | {table_mib:,.0f} MiB |")
    print(f"| loading them again, from the compiled cache | {warm_seconds:.2f} s |")
    print(f"| memory they take then (RSS growth) | {warm_kib / 1024:,.0f} MiB |")
    print(f"| compiled cache file | {compiled / 2**20:,.1f} MiB |")
    print(f"| professional claims scrubbed | {args.claims:,} |")
    rate, cpu_rate = args.claims / seconds, args.claims / cpu_seconds
    print(f"| **claims per second, one core** (parse + read + every edit) | **{rate:,.0f}** |")
    print(f"| claims per CPU second of this process (less noise from others) | {cpu_rate:,.0f} |")
    print(f"| per claim | {seconds / args.claims * 1e6:,.0f} us |")
    print(
        "| findings per claim, by edit | "
        + ", ".join(f"{rule} {count / args.claims:.2f}" for rule, count in rules.most_common(8))
        + " |"
    )


if __name__ == "__main__":
    main()
