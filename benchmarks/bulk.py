"""Populations from Bulk Data exports: coding speed from NDJSON, memory, and run --bulk end to end.

Issue 18's benchmark, three parts:

* **speed**: encounters coded per second from an NDJSON export on one core (read every
  file into the index, resolve conditional references, assemble each encounter, code,
  validate, build and scrub its Claim), against the in-process engine over the same
  encounters measured in the same run (``benchmarks/engine.py``'s loop: one JSON document
  per encounter). Goal: within 1.5x of the engine.
* **memory**: peak resident memory of a child process that reads and codes an export of
  about 10,000 and of about 100,000 encounters. Goal: flat in the population size.
* **end to end**: ``fhir-coder run --server`` and ``fhir-coder run --bulk`` against the
  sandbox on loopback over the same population (Claims to an NDJSON folder, so both
  measure getting the encounters, not writing them): wall seconds, encounters per second,
  and HTTP requests.

    .venv/bin/python benchmarks/bulk.py [--patients 3700] [--large 100000] [--e2e-patients 300]
    .venv/bin/python benchmarks/bulk.py --part memory --large 100000
    .venv/bin/python benchmarks/bulk.py --part digest  # the answers, to check a change keeps them
    .venv/bin/python benchmarks/bulk.py --part memory --small 10000 --large 100000,300000 \
        --before /tmp/before   # also measure a checkout of the code before, on the same exports
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
if "--code" in sys.argv:  # a memory child measuring another checkout's adapters/ (--before)
    sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])

from engine import CREATED, documents, engine  # noqa: E402

from adapters.bulk import ExportIndex, NdjsonEncounters, ndjson_files  # noqa: E402
from adapters.cli.sandbox_process import running_sandbox  # noqa: E402
from adapters.coding_setup import default_coding  # noqa: E402
from adapters.processing import code_and_build  # noqa: E402
from sandbox.seed import build_seed_bundle  # noqa: E402
from sandbox.synthetic_export import write_export  # noqa: E402

ENCOUNTERS_PER_PATIENT = 2.68  # finished encounters per patient in the sandbox's generator


def from_ndjson(
    folder: Path, sample: Callable[[], None] | None = None
) -> tuple[float, int, int, float]:
    """CPU seconds to read, assemble and code every finished encounter; encounters; Claims;
    and the CPU seconds of reading the files into the index, of the first. ``sample`` is
    called after reading and every 1,000 encounters (the memory part's breakdown)."""
    coding = default_coding()
    started = time.process_time()
    claims = encounters = 0
    with ExportIndex() as index:
        report = index.add(ndjson_files([folder]))
        index.finish(report)
        indexed = time.process_time() - started
        if sample is not None:
            sample()
        for item in NdjsonEncounters(index, source_id="bench").assembled():
            encounters += 1
            if sample is not None and encounters % 1000 == 0:
                sample()
            if item.encounter is None:
                continue
            processed = code_and_build(item.encounter, coding, created=CREATED)
            if processed.claim is not None:
                orjson.dumps(processed.claim)
                claims += 1
    return time.process_time() - started, encounters, claims, indexed


def speed(patients: int, repeat: int) -> None:
    """Each NDJSON run between two engine runs, its ratio to their mean; the median ratio.

    On a shared machine the load moves within seconds: a ratio of best figures taken
    minutes apart compares two loads (the same code measured 1.4x and 1.9x). Bracketed,
    each ratio compares one load, and the median of the repeats is reported beside them.
    """
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    docs = documents(patients)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        write_export(build_seed_bundle(seed=11, patients=patients), folder)
        engine(docs[:200])  # warm up: code sets, word index, MCE, crosswalks
        gc.collect()
        gc.freeze()
        engine_times, ndjson_times, coding_times, ratios, indexed_ratios = [], [], [], [], []
        counted = 0
        before = engine(docs)[0]
        for _ in range(repeat):
            seconds, counted, _, indexed = from_ndjson(folder)
            after = engine(docs)[0]
            per_engine = (before + after) / 2 / len(docs)
            ratios.append(seconds / counted / per_engine)
            indexed_ratios.append((seconds - indexed) / counted / per_engine)
            engine_times += [before, after]
            ndjson_times.append(seconds)
            coding_times.append(seconds - indexed)
            before = after
    best_engine, best_ndjson, best_coding = min(engine_times), min(ndjson_times), min(coding_times)
    print(f"speed: {len(docs)} finished encounters (seed 11, {patients} patients), one core")
    print(f"{'  engine (one document per encounter)':48} {len(docs) / best_engine:10,.0f} /s")
    print(f"{'  from NDJSON (index, assemble, code)':48} {counted / best_ndjson:10,.0f} /s")
    print(f"{'  ... of which assemble and code (indexed)':48} {counted / best_coding:10,.0f} /s")
    print(f"{'  reading the files into the index':48} "
          f"{(best_ndjson - best_coding) / counted * 1e6:10,.0f} us an encounter")  # fmt: skip
    print(f"{'  NDJSON / engine, each run bracketed':48} "
          + " ".join(f"{r:.2f}" for r in ratios))  # fmt: skip
    print(f"{'  NDJSON / engine (CPU per encounter), median':48} "
          f"{statistics.median(ratios):10.2f} x")  # fmt: skip
    print(f"{'  indexed NDJSON / engine, median':48} {statistics.median(indexed_ratios):10.2f} x")


def digest(patients: int) -> None:
    """One hash of every answer the NDJSON path gives for the speed part's export.

    Each encounter's id, version, patient, error, findings (every field) and Claim (all but
    ``created``, the moment of building), in encounter id order: a change made for speed
    must print the same hash before and after. A second hash covers the core's Encounters
    as assembled (a change to the core's model types changes it without changing answers).
    """
    coding = default_coding()
    answers: list[bytes] = []
    assembled: list[str] = []  # the core's Encounters themselves, stricter than the answers
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        write_export(build_seed_bundle(seed=11, patients=patients), folder)
        with ExportIndex() as index:
            index.finish(index.add(ndjson_files([folder])))
            for item in NdjsonEncounters(index, source_id="bench").assembled():
                answer: dict[str, Any] = {
                    "id": item.encounter_id,
                    "version": item.version,
                    "patient": item.patient_id,
                    "error": str(item.error) if item.error is not None else None,
                }
                if item.encounter is not None:
                    assembled.append(repr(item.encounter))
                    processed = code_and_build(item.encounter, coding, created=CREATED)
                    claim = dict(processed.claim or {})
                    claim.pop("created", None)
                    answer["claim"] = claim
                    answer["findings"] = [repr(issue) for issue in processed.issues]
                answers.append(orjson.dumps(answer, option=orjson.OPT_SORT_KEYS))
    answers.sort()
    whole = hashlib.sha256(b"\n".join(answers)).hexdigest()
    claims = sum(1 for a in answers if b'"claim":{}' not in a and b'"claim"' in a)
    print(f"digest: {len(answers)} encounters, {claims} Claims (seed 11, {patients} patients)")
    print(f"  Claims and findings: sha256 {whole}")
    read = hashlib.sha256("\n".join(sorted(assembled)).encode()).hexdigest()
    print(f"  Encounters as assembled: sha256 {read}")


def large_export(folder: Path, encounters: int) -> int:
    """An export of about ``encounters`` finished encounters, from several generator runs."""
    patients = round(encounters / ENCOUNTERS_PER_PATIENT)
    batches = []
    while patients > 0:
        batches.append(min(patients, 9000))
        patients -= batches[-1]
    folder.mkdir(parents=True)
    first: dict[str, bytes] = {}
    for number, size in enumerate(batches):
        part = folder.parent / f"part-{number}"
        write_export(build_seed_bundle(seed=100 + number, patients=size), part)
        identifiers = _party_identifiers(part)
        first = first or identifiers
        for path in sorted(part.glob("*.ndjson")):
            data = path.read_bytes()
            if path.stem not in ("Practitioner", "Organization", "Location"):
                data = _prefixed(data, number)  # ids of each run apart from the others
                data = _same_parties(data, identifiers, first)
            elif number:
                continue  # the first run's practitioners and organisations serve them all
            with (folder / path.name).open("ab") as out:
                out.write(data)
    return sum(batches)


def _party_identifiers(part: Path) -> dict[str, bytes]:
    """The identifier value of each practitioner and organisation of one generator run."""
    found = {}
    for kind in ("Practitioner", "Organization"):
        for line in (part / f"{kind}.ndjson").read_bytes().splitlines():
            resource = orjson.loads(line)
            found[f"{kind}/{resource['id']}"] = resource["identifier"][0]["value"].encode()
    return found


def _same_parties(data: bytes, identifiers: dict[str, bytes], first: dict[str, bytes]) -> bytes:
    """``data`` with conditional references to its run's parties pointing at the first run's.

    Each run draws its own NPIs for the same practitioners and hospital; only the first
    run's are in the export, so without this every later run's encounters named parties
    that match nothing (169,642 unresolved references at 100,000 encounters, each held in
    the report, and coded without their providers).
    """
    for key, value in identifiers.items():
        if value != first[key]:
            data = data.replace(b"|" + value + b'"', b"|" + first[key] + b'"')
    return data


def _prefixed(data: bytes, number: int) -> bytes:
    """``data`` with the generator's ids (and references to them) tagged with the run."""
    tag = f"b{number}-".encode()
    for word in (b"pat-", b"enc-", b"cond-", b"proc-", b"cov-", b"doc-enc-", b"obs-enc-"):
        data = data.replace(b'"' + word, b'"' + tag + word).replace(b"/" + word, b"/" + tag + word)
    return data


def _peak_mib() -> float:
    """This process's peak resident memory since it started (``VmHWM``).

    Not ``ru_maxrss``: Linux carries that over an ``execve`` from the process that forked,
    so a child would report the benchmark's own peak (the generated exports) as its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2``: ``arena`` is the heap's size (mapped chunks apart)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


class _Where:
    """Where this process's memory is, sampled while it reads and codes.

    The peak (``VmHWM``) is one number; beside it, the most seen of: anonymous memory
    (``RssAnon``: the heaps, SQLite's caches) and file pages mapped (``RssFile``: the
    interpreter, libraries, code-set files; reclaimable), SQLite's own allocations
    (``sqlite3_memory_highwater``, when the library exports it) and glibc's heap.
    """

    def __init__(self) -> None:
        import _sqlite3  # noqa: PLC0415 - the library the sqlite3 module uses

        self.most = {"anon": 0.0, "file": 0.0, "heap": 0.0}
        self._sqlite: Any = None
        self._libc: Any = None
        try:
            self._sqlite = ctypes.CDLL(_sqlite3.__file__)
            self._sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
            self._sqlite.sqlite3_memory_highwater(1)
        except (OSError, AttributeError):
            self._sqlite = None  # linked in without its symbols: not reported
        try:
            self._libc = ctypes.CDLL("libc.so.6")
            self._libc.mallinfo2.restype = _MallInfo2
        except (OSError, AttributeError):
            self._libc = None

    def sample(self) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                name = "anon" if key == "RssAnon" else "file"
                self.most[name] = max(self.most[name], int(value.split()[0]) / 1024)
        if self._libc is not None:
            self.most["heap"] = max(self.most["heap"], self._libc.mallinfo2().arena / 2**20)

    def figures(self) -> dict[str, float]:
        found = dict(self.most)
        if self._sqlite is not None:
            found["sqlite"] = self._sqlite.sqlite3_memory_highwater(0) / 2**20
        return found


def child_peak(folder: Path) -> None:
    """(In a child process) read and code ``folder``; print encounters and peak RSS in MiB."""
    where = _Where()
    seconds, encounters, claims, _ = from_ndjson(folder, where.sample)
    peak = _peak_mib()
    print(json.dumps({"encounters": encounters, "claims": claims, "seconds": seconds,
                      "peak_mib": peak, **where.figures()}))  # fmt: skip


def memory(sizes: list[int], before: Path | None = None) -> None:
    print("memory: peak RSS of a process reading and coding the export (code sets included);")
    print("  beside it the most seen of anonymous / file-mapped RSS, glibc's heap, SQLite's own")
    codes = {"": ROOT} | ({"before ": before} if before is not None else {})
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = Path(tmp) / f"n{size}" / "export"
            large_export(folder, size)
            mib = sum(p.stat().st_size for p in folder.glob("*.ndjson")) / 2**20
            for name, code in codes.items():
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(folder), "--code", str(code)],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                f = json.loads(done.stdout.strip().splitlines()[-1])
                sqlite = f"sqlite {f['sqlite']:,.0f}" if "sqlite" in f else "sqlite ?"
                print(f"  {name}{f['encounters']:>8,} encounters ({mib:,.0f} MiB of NDJSON): "
                      f"peak {f['peak_mib']:,.0f} MiB (anon {f['anon']:,.0f}, file "
                      f"{f['file']:,.0f}; heap {f['heap']:,.0f}, {sqlite}), "
                      f"{f['seconds']:,.0f} s CPU, {f['encounters'] / f['seconds']:,.0f} "
                      "encounters/s")  # fmt: skip
            shutil.rmtree(folder.parent)  # a 300,000-encounter export is 1.4 GiB


def _timed(command: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[3:5]} failed ({done.returncode}): {done.stderr[-800:]}")
    return seconds, json.loads(done.stdout)


def end_to_end(patients: int) -> None:
    print(f"end to end: the sandbox on loopback, {patients} patients, Claims to NDJSON")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extra = ("--patients", str(patients))
        with running_sandbox(folder / "sandbox.sqlite3", extra_args=extra) as base:
            common = ["--server", base, "--source-id", "sb", "--json", "--concurrency", "16"]
            cli = [sys.executable, "-m", "adapters.cli.main", "run"]
            runs = {
                "run --server": [*cli, *common, "--jobs-db", str(folder / "a.sqlite3"),
                                 "--claims-to", str(folder / "a")],
                "run --bulk": [*cli, "--bulk", *common, "--jobs-db", str(folder / "b.sqlite3"),
                               "--claims-to", str(folder / "b")],
            }  # fmt: skip
            for name, command in runs.items():
                seconds, summary = _timed(command)
                jobs = summary["jobs"]
                coded = int(jobs["done"]) + int(jobs["held"])
                bulk = summary.get("bulk")
                requests = (
                    f"{bulk['export_requests']} requests for the export"
                    if bulk
                    else "~2 requests per encounter (gathering)"
                )
                print(f"  {name:14} {coded:6,} encounters in {seconds:6.1f} s = "
                      f"{coded / seconds:7,.0f}/s; {requests}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("all", "speed", "memory", "e2e", "digest"), default="all"
    )
    parser.add_argument("--patients", type=int, default=3700)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", default="100000", help="one size or several: 100000,300000")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--e2e-patients", type=int, default=300)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)  # read before the imports
    args = parser.parse_args()
    if args.child is not None:
        child_peak(args.child)
        return
    print(f"nproc {os.cpu_count()} | Python {platform.python_version()} | "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC | load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if args.part == "digest":
        digest(args.patients)
        return
    if args.part in ("all", "speed"):
        speed(args.patients, args.repeat)
    if args.part in ("all", "memory"):
        memory([args.small, *(int(n) for n in args.large.split(","))], args.before)
    if args.part in ("all", "e2e"):
        end_to_end(args.e2e_patients)


if __name__ == "__main__":
    main()
