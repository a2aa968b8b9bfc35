"""``fhir-coder batch`` on Spark beside the single-process path, and the 10,000-encounter check.

Generates a Synthea-style export (``sandbox.synthetic_export``; above 9,999 patients the
population is copied with new ids), then codes it

- in one process: ``encounters_from_ndjson`` + ``code_and_build``, the path
  ``run --from-ndjson`` takes without its ledger and writer (code-set load timed apart);
- on Spark (``--master``, default ``local[2]``): the session start timed apart, then a
  small batch and the full one in the same session, so the per-encounter cost is the
  slope between them and the fixed cost what is left;

and prints what a cluster of N executors would give (the per-encounter cost divided over
N cores, plus the fixed cost). ``--check`` also runs ``fhir-coder run --from-ndjson`` over
the same files and compares Claims and findings (``tests/adapters/spark/batch_compare``).

    .venv/bin/python benchmarks/spark_batch.py --encounters 100000
    .venv/bin/python benchmarks/spark_batch.py --encounters 10000 --check --no-single
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.bulk import encounters_from_ndjson, ndjson_files  # noqa: E402
from adapters.claim_options import default_claim_options  # noqa: E402
from adapters.coding_setup import default_coding  # noqa: E402
from adapters.processing import code_and_build  # noqa: E402
from sandbox.seed import build_seed_bundle  # noqa: E402
from sandbox.synthetic_export import write_export  # noqa: E402

_COPIED = ("Patient", "Encounter", "Condition", "Procedure", "Coverage", "Observation",
           "DocumentReference")  # fmt: skip


def _renamed(value: Any, suffix: str) -> Any:  # noqa: ANN401 - any JSON
    if isinstance(value, dict):
        out = {k: _renamed(v, suffix) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref.split("/", 1)[0] in _COPIED and "?" not in ref:
            out["reference"] = ref + suffix
        if out.get("resourceType") in _COPIED and isinstance(out.get("id"), str):
            out["id"] += suffix
        return out
    if isinstance(value, list):
        return [_renamed(v, suffix) for v in value]
    return value


def make_export(folder: Path, encounters: int) -> int:
    """An export with at least ``encounters`` finished encounters; how many it holds."""
    patients = min(9999, max(1, int(encounters / 2.56) + 1))  # 2.56 finished a patient
    base = folder / "base"
    write_export(build_seed_bundle(patients=patients), base)
    finished = sum(
        1
        for line in (base / "Encounter.ndjson").read_bytes().splitlines()
        if b'"status":"finished"' in line
    )
    copies = max(1, -(-encounters // finished))
    out = folder / "export"
    out.mkdir()
    for path in sorted(base.glob("*.ndjson")):
        with (out / path.name).open("wb") as target:
            for copy in range(copies):
                for line in path.read_bytes().splitlines():
                    if not line.strip():
                        continue
                    if copy == 0 or path.stem not in _COPIED:
                        if copy == 0:
                            target.write(line + b"\n")
                        continue
                    target.write(orjson.dumps(_renamed(orjson.loads(line), f"-r{copy}")) + b"\n")
    shutil.rmtree(base)
    return finished * copies


def single_process(export: Path) -> dict[str, float]:
    started = time.perf_counter()
    coding = default_coding()
    options = default_claim_options()
    loaded = time.perf_counter()
    created = datetime.now(UTC)
    count = 0
    for item in encounters_from_ndjson([export], source_id="bench"):
        if item.encounter is not None:
            code_and_build(item.encounter, coding, created=created, options=options)
        count += 1
    done = time.perf_counter()
    return {"encounters": count, "load_s": loaded - started, "coding_s": done - loaded}


def spark_runs(export: Path, out: Path, master: str, small_files: list[str]) -> dict[str, Any]:
    from adapters.spark.executor import BatchOptions  # noqa: PLC0415
    from adapters.spark.job import run_batch  # noqa: PLC0415
    from adapters.spark.session import spark_session  # noqa: PLC0415

    began = time.perf_counter()
    # local mode runs the executors in the driver's JVM: give it more than the 1 GiB default
    conf = {"spark.sql.shuffle.partitions": "8", "spark.driver.memory": "3g"}
    spark = spark_session(master, conf=conf)
    session_s = time.perf_counter() - began
    options = BatchOptions(source_id="bench", base_url="", created=datetime.now(UTC).isoformat())
    inputs = [str(f) for f in ndjson_files([export])]
    try:
        # the first batch starts the Python workers and loads the code sets in each: timed
        # apart, as start-up; then a small and the full batch on warm workers
        t0 = time.perf_counter()
        first = run_batch(spark, small_files, str(out / "first"), options)
        t1 = time.perf_counter()
        small = run_batch(spark, small_files, str(out / "small"), options)
        t2 = time.perf_counter()
        full = run_batch(spark, inputs, str(out / "full"), options)
        t3 = time.perf_counter()
    finally:
        spark.stop()
    return {
        "session_s": session_s,
        "first_s": (t1 - t0) - (t2 - t1),  # what the first batch cost beyond a warm one
        "small": (small.encounters, t2 - t1),
        "full": (full.encounters, t3 - t2),
        "outcomes": full.outcomes,
        "coding_loads": first.coding_loads,
        "partitions": full.partitions,
    }


def check(export: Path, out: Path) -> list[str]:
    from tests.adapters.spark.batch_compare import differences  # noqa: PLC0415

    jobs_db, run_out = out / "jobs.sqlite3", out / "run-claims"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", "run", "--from-ndjson", str(export),
         "--source-id", "bench", "--jobs-db", str(jobs_db), "--claims-to", str(run_out),
         "--quiet", "--concurrency", "8"],
        check=False, cwd=ROOT,
    )  # fmt: skip
    print(f"run --from-ndjson: {time.perf_counter() - started:.1f} s")
    return differences(run_out, jobs_db, out / "full", "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--check", action="store_true", help="compare with run --from-ndjson")
    parser.add_argument("--no-single", action="store_true", help="skip the single-process path")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="spark-bench-"))
    os.environ.setdefault("FHIR_CODER_CACHE_DIR", str(Path.home() / ".cache" / "fhir-coder"))
    try:
        made = time.perf_counter()
        total = make_export(folder, args.encounters)
        export = folder / "export"
        print(f"export: {total:,} finished encounters in {time.perf_counter() - made:.1f} s")
        small_dir = folder / "small"
        small_dir.mkdir()
        wanted = max(1000, total // 10)
        _first_part(export, small_dir, wanted)
        small_files = [str(f) for f in ndjson_files([small_dir])]
        if not args.no_single:
            single = single_process(export)
            per = single["coding_s"] / single["encounters"]
            print(
                f"single process: {single['encounters']:,} encounters (all statuses) in "
                f"{single['coding_s']:.1f} s = {per * 1000:.2f} ms each "
                f"({1 / per:,.0f}/s); code sets loaded in {single['load_s']:.2f} s (fixed)"
            )
        spark = spark_runs(export, folder / "out", args.master, small_files)
        (n1, t1), (n2, t2) = spark["small"], spark["full"]
        slope = (t2 - t1) / (n2 - n1)
        fixed = t1 - slope * n1
        startup = spark["session_s"] + spark["first_s"]
        print(
            f"spark {args.master}: session start {spark['session_s']:.1f} s, first batch's "
            f"worker start and code-set loads {spark['first_s']:.1f} s "
            f"(loaded {spark['coding_loads']} times); warm: {n1:,} encounters in {t1:.1f} s, "
            f"{n2:,} in {t2:.1f} s ({n2 / t2:,.0f}/s); per encounter {slope * 1000:.2f} ms "
            f"of wall time, fixed per batch {fixed:.1f} s; outcomes {spark['outcomes']}"
        )
        cores = (
            int(args.master.removeprefix("local[").rstrip("]"))
            if args.master.startswith("local[") and args.master[6:-1].isdigit()
            else 2
        )
        core_cost = slope * cores
        print("projected for 100,000 encounters (coding divided over the cores, + fixed):")
        for executors in (2, 8, 32, 128):
            wall = startup + fixed + core_cost * 100_000 / executors
            print(f"  {executors:>4} executor cores: {wall:,.0f} s")
        if args.check:
            found = check(export, folder / "out")
            print(f"check against run --from-ndjson: {len(found)} differences")
            for line in found[:20]:
                print("  ", line)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first_part(export: Path, small: Path, encounters: int) -> None:
    """The first patients of ``export`` (about ``encounters`` finished encounters) in ``small``."""
    patients: set[str] = set()
    lines = (export / "Encounter.ndjson").read_bytes().splitlines()
    for line in lines:
        if len(patients) * 2.56 >= encounters:
            break
        patients.add(orjson.loads(line)["subject"]["reference"])
    for path in export.glob("*.ndjson"):
        kept = []
        for line in path.read_bytes().splitlines():
            resource = orjson.loads(line)
            kind = resource["resourceType"]
            owner = (resource.get("subject") or resource.get("beneficiary") or {}).get("reference")
            if kind == "Patient":
                owner = f"Patient/{resource['id']}"
            if kind not in _COPIED or owner in patients:
                kept.append(line)
        (small / path.name).write_bytes(b"\n".join(kept) + b"\n")


if __name__ == "__main__":
    main()
