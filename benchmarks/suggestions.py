"""Text suggestions against the phrase lists: top-1, top-5 and milliseconds a query.

Run: ``.venv/bin/python benchmarks/suggestions.py [--misses]``. Each list of ``tests/data``
is searched through ``CodeSetRegistry.suggest`` as the tests search it (coding date
2026-01-15, five suggestions, the patient's age and sex where the list gives them), on one
core, after one query has built the word index (its cost is printed apart); the time a
query takes is CPU time (best of ``--rounds`` passes), which other work on a shared
machine does not inflate as it does wall-clock time. ``--misses``
lists each phrase whose code was not first, with what was offered.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

from startup import ROOT, _print  # the sibling script: python puts this folder on sys.path

from codesets import CodeSetRegistry
from codesets.suggest_eval import read_phrases, score

ON = date(2026, 1, 15)
LISTS = (
    "held_out_phrases_8.tsv",
    "held_out_phrases_7.tsv",
    "held_out_phrases_6.tsv",
    "held_out_phrases_5.tsv",
    "held_out_phrases_4.tsv",
    "held_out_phrases_3.tsv",
    "held_out_phrases_2.tsv",
    "held_out_phrases.tsv",
    "coder_phrases.tsv",
    "common_diagnoses.tsv",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the phrases not first")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes; the best is printed")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows: list[tuple[str, str]] = []
    with CodeSetRegistry() as registry:
        started = time.perf_counter()
        registry.suggest("warm up", on=ON)
        built = time.perf_counter() - started
        rows.append(("first query (builds the word index)", f"{built:.2f} s"))
        for name in LISTS:
            phrases = read_phrases(Path(ROOT) / "tests" / "data" / name)
            runs = [score(registry, phrases, on=ON) for _ in range(max(1, args.rounds))]
            best = min(runs, key=lambda run: run.seconds)
            n = best.total
            rows.append((f"{name}: top-1", f"{best.first}/{n} {best.first / n:.1%}"))
            rows.append((f"{name}: top-5", f"{best.five}/{n} {best.five / n:.1%}"))
            rows.append((f"{name}: CPU ms a query", f"{best.ms_per_query:.2f}"))
            if args.misses:
                for phrase, offered in best.missed:
                    mark = "top-5" if phrase.code in offered else "MISS "
                    print(f"{name} {mark} {phrase.words!r} {phrase.code} -> {' '.join(offered)}")
    _print(rows)


if __name__ == "__main__":
    main()
