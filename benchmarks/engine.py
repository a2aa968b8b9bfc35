"""Encounters coded, validated and built into a Claim per second, in process, on one core.

Issue 6's benchmark. A corpus of generated encounters (the sandbox's synthetic generator,
about 10,000 finished encounters) is cut into one JSON document per encounter (the
Encounter with its Conditions, Procedures, Patient and Coverage, as a gatherer would
hand them over). Two loops over the same documents:

* the floor: parse each document and serialise a Claim of the same size, nothing else;
* the engine: parse, read into the core's types, code (crosswalks, visit table), validate,
  build the Claim, scrub it (MCE, code edits), and serialise it.

A third loop runs the engine without the encounter-level Official Guidelines stage (an empty
rulebook), in the same run, to show what the stage costs (issue 16: within 15%).

Goal: at least 2,000 encounters/s and within 5x of the floor. Run:
``.venv/bin/python benchmarks/engine.py [--patients 3700]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.coding_setup import CodingSetup, default_coding
from adapters.fhir.reading import reference_of
from adapters.gathering.bundle_source import BundleIndex, encounters_in_bundle
from adapters.processing import code_and_build
from fhir_coder.coding.guidelines import Rulebook
from sandbox.seed import build_seed_bundle

CREATED = datetime(2026, 11, 22, tzinfo=UTC)


def documents(patients: int, seed: int = 11) -> list[bytes]:
    """One JSON Bundle per finished encounter, with the resources coding needs."""
    bundle = build_seed_bundle(seed=seed, patients=patients)
    index = BundleIndex(bundle)
    by_encounter: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for kind in ("Condition", "Procedure"):
        for resource in index.by_type[kind]:
            target = index.resolve(reference_of(resource.get("encounter")))
            if target is not None:
                by_encounter[id(target)].append(resource)
    coverage_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for coverage in index.by_type["Coverage"]:
        patient = index.resolve(reference_of(coverage.get("beneficiary")))
        if patient is not None:
            coverage_of[id(patient)].append(coverage)
    out = []
    for encounter in index.by_type["Encounter"]:
        if encounter.get("status") != "finished":
            continue
        patient = index.resolve(reference_of(encounter.get("subject")))
        if patient is None:
            continue
        resources = [encounter, patient, *by_encounter[id(encounter)], *coverage_of[id(patient)]]
        out.append(
            orjson.dumps(
                {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in resources],
                }
            )
        )
    return out


def engine(docs: list[bytes], coding: CodingSetup | None = None) -> tuple[float, list[bytes]]:
    coding = coding or default_coding()
    claims: list[bytes] = []
    started = time.process_time()
    for doc in docs:
        (encounter,) = encounters_in_bundle(orjson.loads(doc), source_id="bench")
        processed = code_and_build(encounter, coding, created=CREATED)
        claims.append(orjson.dumps(processed.claim) if processed.claim else b"")
    return time.process_time() - started, claims


def floor(docs: list[bytes], claims: list[bytes]) -> float:
    shaped = [orjson.loads(c) if c else None for c in claims]
    started = time.process_time()
    for doc, claim in zip(docs, shaped, strict=True):
        orjson.loads(doc)
        if claim is not None:
            orjson.dumps(claim)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3700)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    docs = documents(args.patients)
    engine(docs[:200])  # warm up: code-set index, word index, MCE, crosswalks
    gc.collect()
    gc.freeze()
    without_rules = dataclasses.replace(default_coding(), rules=Rulebook())
    engine(docs[:200], without_rules)
    engine_times, floor_times, bare_times, claims = [], [], [], []
    for turn in range(args.repeat):
        # The two engines take turns going first, so neither always meets the other's caches.
        if turn % 2:
            bare_times.append(engine(docs, without_rules)[0])
        seconds, claims = engine(docs)
        engine_times.append(seconds)
        floor_times.append(floor(docs, claims))
        if not turn % 2:
            bare_times.append(engine(docs, without_rules)[0])
    best_bare = min(bare_times)
    best_engine, best_floor = min(engine_times), min(floor_times)
    written = sum(1 for c in claims if c)
    print(
        f"nproc {os.cpu_count()} | Python {platform.python_version()} | "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC | pinned to one core"
    )
    print(f"encounters: {len(docs)}; claims built: {written} (the rest held back, with findings)")
    print(
        f"{'floor (parse input + serialise claim)':45} {len(docs) / best_floor:12,.0f} encounters/s"
    )
    label = "engine (read, code, validate, build, scrub)"
    print(f"{label:45} {len(docs) / best_engine:12,.0f} encounters/s")
    print(f"{'engine per encounter':45} {best_engine / len(docs) * 1e6:12,.0f} us (CPU)")
    print(f"{'engine / floor':45} {best_engine / best_floor:12.1f} x")
    print(f"{'spread of engine runs':45} {statistics.pstdev(engine_times) / best_engine:12.1%}")
    label = "engine without the Guidelines stage"
    print(f"{label:45} {len(docs) / best_bare:12,.0f} encounters/s")
    print(f"{'the stage costs':45} {1 - best_bare / best_engine:12.1%} of encounters/s")


if __name__ == "__main__":
    main()
