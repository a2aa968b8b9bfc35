"""Start-up and lookup figures for the code sets, beside simple_icd_10_cm's own.

Run from the repository root with the project's venv::

    .venv/bin/python benchmarks/startup.py [--runs 10]

Prints one table: the CLI's cold start, process start -> first ICD-10-CM lookup with a
warm cache, compiling the index into an empty cache folder, validity lookups per second
on one core, and, measured the same way in the same run, ``import simple_icd_10_cm`` and
its ``is_valid_item`` lookups per second. Every subprocess is a fresh interpreter; the
cache folder is a temporary one, so the user's cache is neither used nor touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

FIRST_LOOKUP = """
import time
from datetime import date
import codesets
from fhir_coder.systems import ICD10CM
info = codesets.default_registry().lookup(ICD10CM, "E119", date(2026, 1, 15))
assert info.valid and info.billable
print(time.monotonic_ns())
"""

COMPILE = """
import sys, time
from pathlib import Path
start = time.perf_counter()
from codesets.icd10cm_index import load_index
index = load_index(Path(sys.argv[1]))
assert index.compiled
print(time.perf_counter() - start)
"""

SIMPLE_ICD = """
import sys, time
codes = sys.argv[1].split(",")
start = time.perf_counter()
import simple_icd_10_cm as cm
imported = time.perf_counter() - start
assert all(cm.is_valid_item(code) for code in codes)
rounds = 0
start = time.perf_counter()
while time.perf_counter() - start < 1.0:
    for code in codes:
        cm.is_valid_item(code)
    rounds += 1
rate = rounds * len(codes) / (time.perf_counter() - start)
print(imported, rate)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per start-up figure")
    args = parser.parse_args()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="fhir-coder-bench-") as folder:
        env["FHIR_CODER_CACHE_DIR"] = folder
        rows.append(
            (
                "python -c pass (interpreter alone)",
                _ms(_median_wall([PYTHON, "-c", "pass"], env, args.runs)),
            )
        )
        rows.append(("fhir-coder --help, cold start", _cli_help(env, args.runs)))
        compile_s = float(_run([PYTHON, "-c", COMPILE, folder], env))
        rows.append(("compile ICD-10-CM index, empty cache", f"{compile_s:.2f} s"))
        rows.append(
            (
                f"process start -> first lookup, warm cache (median of {args.runs})",
                _ms(_first_lookup(env, args.runs)),
            )
        )
        codes, rate = _our_rate(Path(folder))
        rows.append((f"validity lookups/s, one core ({len(codes)} codes, 3 dates)", f"{rate:,.0f}"))
        imported, theirs = _simple_icd(codes, env)
        rows.append(("import simple_icd_10_cm", _ms(imported)))
        rows.append(("simple_icd_10_cm.is_valid_item lookups/s (no dates)", f"{theirs:,.0f}"))
    _print(rows)


def _cli_help(env: dict[str, str], runs: int) -> str:
    script = Path(PYTHON).parent / "fhir-coder"
    if script.exists():
        command = [str(script), "--help"]
    elif (ROOT / "adapters" / "cli.py").exists():
        command = [PYTHON, "-m", "adapters.cli.main", "--help"]
    else:
        return "n/a (no fhir-coder script and no adapters/cli/main.py yet)"
    try:
        return _ms(_median_wall(command, env, runs))
    except subprocess.CalledProcessError as exc:
        return f"failed (exit {exc.returncode})"


def _first_lookup(env: dict[str, str], runs: int) -> float:
    """Median seconds from spawning the interpreter to its first answered lookup.

    The child prints ``time.monotonic_ns()`` after the lookup; on Linux that clock is
    shared by all processes, so the difference with the parent's reading before the
    spawn is the whole start-up: interpreter, imports, cache load and the lookup.
    """
    _run([PYTHON, "-c", FIRST_LOOKUP], env)  # the first run writes .pyc files
    times = []
    for _ in range(runs):
        start = time.monotonic_ns()
        end = int(_run([PYTHON, "-c", FIRST_LOOKUP], env))
        times.append((end - start) / 1e9)
    return statistics.median(times)


def _our_rate(folder: Path) -> tuple[list[str], float]:
    """Lookups per second of the compiled index over a spread of billable codes and dates."""
    sys.path.insert(0, str(ROOT))
    from codesets import CodeSetRegistry  # noqa: PLC0415 - after the path is set
    from fhir_coder.systems import ICD10CM  # noqa: PLC0415

    with CodeSetRegistry(cache_dir=folder) as registry:
        index = registry.index
        codes = [
            index.code(row)
            for row in range(0, len(index), 97)
            if index.info[row] & 1  # billable
        ][:1000]
        days = [dt.date(2024, 3, 1), dt.date(2025, 6, 1), dt.date(2026, 1, 15)]
        lookup = registry.lookup
        for day in days:  # load the categories, resolve the dates
            for code in codes:
                lookup(ICD10CM, code, day)
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < 1.0:
            for day in days:
                for code in codes:
                    lookup(ICD10CM, code, day)
            done += len(days) * len(codes)
        return codes, done / (time.perf_counter() - start)


def _simple_icd(codes: list[str], env: dict[str, str]) -> tuple[float, float]:
    imported, rate = _run([PYTHON, "-c", SIMPLE_ICD, ",".join(codes)], env).split()
    return float(imported), float(rate)


def _median_wall(command: list[str], env: dict[str, str], runs: int) -> float:
    subprocess.run(command, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr}")
    return done.stdout.strip()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _print(rows: list[tuple[str, str]]) -> None:
    machine = (
        f"{platform.node()} | nproc {len(os.sched_getaffinity(0))} | "
        f"Python {platform.python_version()} | {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )
    width = max(len(name) for name, _ in rows)
    print(machine)
    print("-" * (width + 16))
    for name, value in rows:
        print(f"{name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
