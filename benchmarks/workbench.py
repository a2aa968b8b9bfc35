"""The workbench's server time: a worklist of 10,000 work items, and an action with its re-scrub.

Issue 19's goals: the worklist answers in under 200 ms of server time with 10,000 items;
an action (accept a suggestion, and the scrubber run again) under 100 ms at p95.

The items are real: the sandbox's synthetic encounters are coded in process, and every
one that needs a person becomes a work item through the workers' own capture
(``adapters.jobs.work_capture.draft_for``); their drafts are repeated under new encounter
ids (spread over classes, payers and dates) up to the count asked. Requests go through
the workbench's ASGI app in process (``httpx.ASGITransport``): server time, template
rendering and the ledger's SQLite included, no network. Run:
``.venv/bin/python benchmarks/workbench.py [--items 10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.jobs.ledger import JobLedger
from adapters.jobs.work_capture import draft_for
from adapters.pipeline import EncounterResult, Outcome
from adapters.processing import code_and_build
from adapters.workbench import Workbench, create_workbench
from adapters.workbench.accounts import Accounts, add_user
from codesets import default_registry
from sandbox.seed import build_seed_bundle

CREATED = datetime(2026, 11, 22, tzinfo=UTC)


def real_drafts(patients: int) -> list:
    coding = default_coding()
    drafts = []
    bundle = build_seed_bundle(seed=19, patients=patients)
    for n, encounter in enumerate(encounters_in_bundle(bundle, source_id="sb")):
        processed = code_and_build(encounter, coding, created=CREATED)
        outcome = Outcome.HELD if processed.claim is None else Outcome.WRITTEN
        result = EncounterResult(
            encounter.id, outcome, coded=processed.coded, issues=processed.issues,
            claim=processed.claim,
        )  # fmt: skip
        draft = draft_for("sb", result, coding, job_id=n + 1, version="1")
        if draft is not None:
            drafts.append(draft)
    return drafts


def fill(ledger: JobLedger, drafts: list, count: int) -> list[int]:
    classes = ("AMB", "EMER", "IMP", "AMB", "VR")
    payers = ("Medicare", "Lakeshore Health Plan", "Blue Valley", "Medicaid")
    first = date(2025, 10, 1)
    with_suggestions = []
    for n in range(count):
        draft = drafts[n % len(drafts)]
        made = replace(
            draft,
            encounter_id=f"bench-{n:05d}",
            encounter_class=classes[n % len(classes)] if n % 7 else draft.encounter_class,
            payer=payers[n % len(payers)],
            patient=f"Patient/bench-{n % 3000:04d}",
            service_date=(first + timedelta(days=n % 365)).isoformat(),
            job_id=n + 1,
        )
        item = ledger.work.record(made)
        if made.payload.get("suggestions"):
            with_suggestions.append(item.id)
    return with_suggestions


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: object
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, response


async def measure(
    bench: Workbench, with_suggestions: list[int], rounds: int
) -> dict[str, list[float]]:
    app = create_workbench(bench)
    transport = httpx.ASGITransport(app=app)
    figures: dict[str, list[float]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await client.post("/login", data={"user": "bench", "password": "bench-password-1"})
        pages = {
            "worklist, first page (50 of all open)": "/",
            "worklist, filtered by reason": "/?reason=header-code",
            "worklist, class + payer + age + dates": (
                "/?class=AMB&payer=Medicare&age=0&from=2025-11-01&to=2026-03-01"
            ),
            "worklist, page 100, sorted by date of service": "/?sort=service&page=100",
            "worklist, search by patient": "/?q=Patient/bench-0042",
        }
        for name, url in pages.items():
            await client.get(url)  # warm
            figures[name] = [(await timed(client, "GET", url))[0] for _ in range(rounds)]
        opened = []
        firsts = []
        for item_id in with_suggestions[: rounds * 2]:
            elapsed, page = await timed(client, "GET", f"/items/{item_id}")
            opened.append(elapsed)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            revision = re.search(r'name="revision" value="(\d+)"', page.text)
            accept = re.search(
                r'value="accept"><input type="hidden" name="source" value="([^"]+)">'
                r'<input type="hidden" name="code" value="([^"]+)"',
                page.text,
            )
            if not (csrf and revision and accept):
                continue
            form = {
                "csrf": csrf.group(1), "revision": revision.group(1), "action": "accept",
                "source": accept.group(1), "code": accept.group(2),
            }  # fmt: skip
            elapsed, answer = await timed(
                client, "POST", f"/items/{item_id}/act", data=form, headers={"HX-Request": "true"}
            )
            if answer.status_code != 200:
                raise SystemExit(f"the action failed: {answer.text[:300]}")
            firsts.append(elapsed)
        figures["open an encounter (page, lock, re-scrub)"] = opened
        figures["action: accept a suggestion + re-scrub"] = firsts
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        users = Path(folder) / "users.toml"
        add_user(users, "bench", "bench-password-1")
        started = time.perf_counter()
        drafts = real_drafts(args.patients)
        coded = time.perf_counter() - started
        with JobLedger(Path(folder) / "jobs.sqlite3") as ledger:
            started = time.perf_counter()
            with_suggestions = fill(ledger, drafts, args.items)
            filled = time.perf_counter() - started
            bench = Workbench(
                ledger=ledger, accounts=Accounts.from_file(users), coding=default_coding(),
                registry=default_registry(), audit_every=3600,
            )  # fmt: skip
            figures = asyncio.run(measure(bench, with_suggestions, args.rounds))
            size = (Path(folder) / "jobs.sqlite3").stat().st_size
    print(f"{platform.python_version()} on {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
    print(f"{len(drafts)} real items from {args.patients} patients coded in {coded:.1f} s; "
          f"{args.items} items recorded in {filled:.1f} s ({args.items / filled:,.0f}/s); "
          f"ledger {size / 1e6:.0f} MB")  # fmt: skip
    print(f"{'measure':<52} {'n':>4} {'median ms':>10} {'p95 ms':>8}")
    for name, values in figures.items():
        print(
            f"{name:<52} {len(values):>4} {statistics.median(values):>10.1f} "
            f"{percentile(values, 0.95):>8.1f}"
        )


if __name__ == "__main__":
    main()
