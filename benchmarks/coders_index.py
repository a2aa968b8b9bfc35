"""The coders' index: how long it takes to read, and how many rows offer their own code.

Run: ``.venv/bin/python benchmarks/coders_index.py [--misses]``. Reads every table of
``codesets/data/suggest/index`` (CPU time of the read and word index, printed apart from the
first query), then searches each row's own term through ``CodeSetRegistry.suggest`` as the
tests do (coding date 2026-01-15, five suggestions) and counts the rows whose code (or a code
of the subtree a header leads to) is offered first and among five. The test
(``tests/codesets/test_coders_index.py``) checks a quarter of the rows against a floor; this
script checks all of them. ``--misses`` lists each row not offered its code among five.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

from startup import _print  # the sibling script: python puts this folder on sys.path

from codesets import CodeSetRegistry
from codesets.coders_index import FOLDER, read_index

ON = date(2026, 1, 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the rows not among five")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.process_time()
    index = read_index(FOLDER)
    read = time.process_time() - started
    rows: list[tuple[str, str]] = [
        ("rows", str(len(index.rows))),
        ("distinct words", str(len(index.vocabulary))),
        ("read and word index (CPU)", f"{read * 1000:.0f} ms"),
    ]
    first = five = 0
    missed = []
    with CodeSetRegistry() as registry:
        registry.suggest("warm up", on=ON)
        started = time.process_time()
        for row in index.rows:
            codes = [s.code for s in registry.suggest(row.term, on=ON, limit=5)]
            hits = [c == row.code or (row.subtree and c.startswith(row.code)) for c in codes]
            first += bool(hits) and hits[0]
            five += any(hits)
            if not any(hits):
                missed.append(f"{row.where}: {row.term!r} -> {row.dotted}: {' '.join(codes)}")
        spent = time.process_time() - started
    n = len(index.rows) or 1
    rows.append(("own term offers its code first", f"{first}/{n} {first / n:.1%}"))
    rows.append(("own term offers its code among five", f"{five}/{n} {five / n:.1%}"))
    rows.append(("CPU ms a query", f"{spent * 1000 / n:.2f}"))
    if args.misses:
        print("\n".join(missed))
    _print(rows)


if __name__ == "__main__":
    main()
