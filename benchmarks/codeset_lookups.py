"""Code sets: start-up to the first lookup, lookups per second, beside simple-icd-10-cm.

Run: ``.venv/bin/python benchmarks/codesets.py [--runs N]``. Issue 5's goals: under 100 ms
from process start to the first ICD-10-CM lookup on a warm cache, and at least 200,000
validity lookups per second on one core. The same codes are then asked of
``simple_icd_10_cm`` in the same run, and the other paths (ICD-10-PCS through the MCE,
the curated crosswalk, the word search, resident memory) are timed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from startup import (  # the sibling script: python puts this folder on sys.path
    COMPILE,
    PYTHON,
    ROOT,
    _first_lookup,
    _ms,
    _our_rate,
    _print,
    _run,
    _simple_icd,
)

RESIDENT = """
import sys
from datetime import date
from pathlib import Path
from codesets import CodeSetRegistry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.systems import ICD10CM
registry = CodeSetRegistry(cache_dir=Path(sys.argv[1]))
crosswalks = CrosswalkRegistry()
index = registry.index
for row in range(len(index)):
    registry.lookup(ICD10CM, index.code(row), date(2026, 1, 15))
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per start-up figure")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core for the rates
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="fhir-coder-bench-") as folder:
        env["FHIR_CODER_CACHE_DIR"] = folder
        compile_s = float(_run([PYTHON, "-c", COMPILE, folder], env))
        rows.append(("compile ICD-10-CM index, empty cache", f"{compile_s:.2f} s"))
        rows.append(
            (
                f"process start -> first lookup, warm cache (median of {args.runs})",
                _ms(_first_lookup(env, args.runs)),
            )
        )
        codes, rate = _our_rate(Path(folder))
        rows.append(
            (f"ICD-10-CM validity lookups/s, one core ({len(codes)} codes)", f"{rate:,.0f}")
        )
        imported, theirs = _simple_icd(codes, env)
        rows.append(("  same codes, simple_icd_10_cm.is_valid_item/s (no date)", f"{theirs:,.0f}"))
        rows.append(("  import simple_icd_10_cm", _ms(imported)))
        rows.extend(_other_paths(Path(folder)))
        resident = float(_run([PYTHON, "-c", RESIDENT, folder], env))
        rows.append(("resident memory, every code looked up + crosswalks", f"{resident:.0f} MB"))
    _print(rows)


def _other_paths(folder: Path) -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from codesets import CodeSetRegistry  # noqa: PLC0415 - after the path is set
    from codesets.crosswalks import CrosswalkRegistry  # noqa: PLC0415
    from fhir_coder.systems import ICD10CM, ICD10PCS, SNOMED  # noqa: PLC0415

    day = dt.date(2026, 1, 15)
    out: list[tuple[str, str]] = []
    with CodeSetRegistry(cache_dir=folder) as registry:
        pcs = registry.procedures.pcs_text.codes_starting("0D", 2000)
        start = time.perf_counter()
        for code in pcs:
            registry.lookup(ICD10PCS, code, day)
        first = len(pcs) / (time.perf_counter() - start)
        start = time.perf_counter()
        for code in pcs:
            registry.lookup(ICD10PCS, code, day)
        again = len(pcs) / (time.perf_counter() - start)
        out.append((f"ICD-10-PCS lookups/s, first time (MCE, {len(pcs)} codes)", f"{first:,.0f}"))
        out.append(("ICD-10-PCS lookups/s, remembered", f"{again:,.0f}"))
        start = time.perf_counter()
        registry.search("diabetes")
        out.append(
            ("word search: build the index (first search)", _ms(time.perf_counter() - start))
        )
        start = time.perf_counter()
        for _ in range(100):
            registry.search("type 2 diabetes mellitus kidney")
        each = (time.perf_counter() - start) / 100
        out.append(("word search: one query after that", f"{each * 1000:.2f} ms"))
    start = time.perf_counter()
    crosswalks = CrosswalkRegistry()
    out.append(("load the curated crosswalk", _ms(time.perf_counter() - start)))
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < 0.5:
        crosswalks.translate(SNOMED, "44054006", ICD10CM, on=day, age=60, sex="female")
        count += 1
    out.append(("crosswalk translations/s", f"{count / (time.perf_counter() - start):,.0f}"))
    return out


if __name__ == "__main__":
    main()
