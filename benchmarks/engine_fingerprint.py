"""A digest of everything the engine answers for the benchmark's corpus: the guard of speed work.

``benchmarks/engine.py`` measures how fast the engine codes its corpus; this script says
*what* it answered, so an optimisation can be shown to change nothing. For every encounter
of the corpus (the same documents, seed 11 and ``--patients``, plus a second corpus of
another seed) it takes the Claim as built (its JSON with ``created`` left out), every
finding, and the coded diagnoses, procedures and charges (their ``repr``: code, source,
method, rule, confidence, release), and prints one SHA-256 per corpus. The same digest
before and after a change means the same answers. ``--dump FILE`` writes the lines the
digest is made of, one encounter a line, to compare where two runs differ.

Run: ``.venv/bin/python benchmarks/engine_fingerprint.py [--patients 1500] [--dump out.txt]``.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import orjson
from engine import CREATED, documents  # the sibling script: python puts this folder on sys.path

from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.processing import code_and_build


def _without_created(value: object) -> object:
    """``value`` with every ``created`` member left out, at any depth."""
    if isinstance(value, dict):
        return {k: _without_created(v) for k, v in value.items() if k != "created"}
    if isinstance(value, list):
        return [_without_created(v) for v in value]
    return value


def answers(docs: list[bytes]) -> list[bytes]:
    """One line per encounter: its Claim, findings and coded lines, in a stable form."""
    coding = default_coding()
    out = []
    for doc in docs:
        (encounter,) = encounters_in_bundle(orjson.loads(doc), source_id="bench")
        processed = code_and_build(encounter, coding, created=CREATED)
        coded = processed.coded
        claim = _without_created(processed.claim) if processed.claim is not None else None
        record = {
            "encounter": encounter.id,
            "claim": claim,
            "issues": [repr(issue) for issue in processed.issues],
            "diagnoses": [repr(line) for line in coded.diagnoses],
            "procedures": [repr(line) for line in coded.procedures],
            "charges": [repr(line) for line in coded.charges],
        }
        out.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1500)
    parser.add_argument("--dump", type=Path, help="write the digested lines here")
    args = parser.parse_args()
    lines: list[bytes] = []
    for seed, patients in ((11, args.patients), (23, max(args.patients // 3, 1))):
        corpus = answers(documents(patients, seed=seed))
        digest = hashlib.sha256(b"\n".join(corpus)).hexdigest()
        claims = sum(1 for line in corpus if b'"claim":null' not in line)
        print(f"seed {seed}, {patients} patients: {len(corpus)} encounters, {claims} claims")
        print(f"  sha256 {digest}")
        lines += corpus
    if args.dump is not None:
        args.dump.write_bytes(b"\n".join(lines) + b"\n")


if __name__ == "__main__":
    main()
