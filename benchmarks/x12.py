"""837 claims written per second and 835 claims matched per second, on one core.

Run from the repository root with the project's venv::

    .venv/bin/python benchmarks/x12.py [--claims 10000]

837: ``--claims`` professional Claims (the golden emergency visit's shape: three priced
lines, two diagnoses, distinct ids and patients, some dependents) with their Patients,
Coverages and payer in memory, through :func:`adapters.x12.submit.write_837`: facts read
and checked, the 837P built with x12sdk's models (one transaction of 5,000 claims at most),
serialised, staged, published as a file, and every submission recorded in a SQLite ledger
file.
835: an 835 answering all of them (made by x12sdk's 835 builder, not timed: a CO-45 on
every line and a CO-11 denial on every tenth claim's second line), then timed through
:func:`adapters.x12.intake.record_x12_text`: envelope checks, x12sdk's models, matching each
CLP to its submission and recording every line in one transaction. Prints claims/s.

``--memo on`` measures only as shipped (x12sdk's type-hint memo on); ``--ledger-url
postgresql://...`` keeps the submission ledger in that (empty) PostgreSQL database instead
of a SQLite file (the script migrates it).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import hashlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from x12sdk.generate import generate_835  # noqa: E402
from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec, ServiceLineSpec  # noqa: E402

from adapters.x12.intake import record_x12_text  # noqa: E402
from adapters.x12.ledger import SubmissionLedger  # noqa: E402
from adapters.x12.parties import X12Parties  # noqa: E402
from adapters.x12.sources import ClaimSource  # noqa: E402
from adapters.x12.submit import write_837  # noqa: E402

PARTIES = X12Parties(
    sender_id="RIVERBEND", receiver_id="CLEARHOUSE", submitter_name="RIVERBEND HOSPITAL",
    submitter_id="RIVERBEND01", contact_name="BILLING", contact_phone="5555550100",
    receiver_name="CLEARINGHOUSE", receiver_etin="CLEARHOUSE", billing_name="RIVERBEND HOSPITAL",
    billing_npi="1526018159", billing_tax_id="123456789", billing_address="1 RIVER RD",
    billing_city="RIVERTON", billing_state="OH", billing_postal_code="432150001",
)  # fmt: skip


def source_of(count: int) -> ClaimSource:
    golden = orjson.loads((ROOT / "tests/fhir_coder/golden/emergency_visit.json").read_bytes())
    source = ClaimSource(name="bench")
    source.resources["Organization/payer"] = {
        "resourceType": "Organization", "id": "payer", "name": "Acme Health",
        "identifier": [{"system": "urn:payer-id", "value": "ACME1"}],
    }  # fmt: skip
    for n in range(count):
        claim = copy.deepcopy(golden)
        claim["id"] = "fc-" + hashlib.sha256(str(n).encode()).hexdigest()[:40]
        claim["patient"] = {"reference": f"Patient/p{n}"}
        claim["insurance"][0]["coverage"] = {"reference": f"Coverage/c{n}"}
        source.claims.append(claim)
        dependent = n % 5 == 0
        source.resources[f"Patient/p{n}"] = {
            "resourceType": "Patient", "id": f"p{n}", "gender": "female",
            "birthDate": "1970-01-01", "name": [{"family": f"Doe{n}", "given": ["Jane"]}],
            "address": [{"line": ["2 Elm St"], "city": "Columbus", "state": "OH",
                         "postalCode": "43215"}],
        }  # fmt: skip
        source.resources[f"Patient/s{n}"] = source.resources[f"Patient/p{n}"] | {"id": f"s{n}"}
        source.resources[f"Coverage/c{n}"] = {
            "resourceType": "Coverage", "id": f"c{n}", "status": "active",
            "subscriberId": f"M{n:09d}", "payor": [{"reference": "Organization/payer"}],
            "relationship": {"coding": [{"code": "child" if dependent else "self"}]},
            "subscriber": {"reference": f"Patient/{'s' if dependent else 'p'}{n}"},
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "5"}]},
        }  # fmt: skip
    return source


def remittance_for(ledger: SubmissionLedger) -> str:
    specs = []
    for n, submission in enumerate(ledger.submissions()):
        lines = []
        for i, line in enumerate(submission.detail["lines"]):
            charge = Decimal(line["charge"])
            if n % 10 == 0 and i == 1:
                adjustments = [AdjustmentSpec("CO", "11", charge)]
            else:
                adjustments = [
                    AdjustmentSpec("CO", "45", (charge * Decimal("0.2")).quantize(Decimal("0.01")))
                ]
            lines.append(
                ServiceLineSpec(charge=charge, procedure=line["code"], adjustments=adjustments)
            )
        specs.append(
            ClaimSpec(
                charge=Decimal(submission.charge),
                patient_control_number=submission.pcn,
                lines=lines,
            )
        )
    return str(generate_835(claims=specs))


def _hint_cache(on: bool) -> None:
    """Turn x12sdk's type-hint memo (adapters.x12.serialise.cache_type_hints) on or off."""
    from x12sdk import models, parsing  # noqa: PLC0415

    for name in ("_field_type", "_is_list_field"):
        current = getattr(models, name)
        plain = getattr(current, "__wrapped__", current)
        chosen = functools.cache(plain) if on else plain
        for module in (models, parsing):
            if hasattr(module, name):
                setattr(module, name, chosen)


def timed(label: str, count: int, work: Callable[[], object]) -> object:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{label}: {count} claims in {seconds:.2f} s wall = {count / seconds:,.0f}/s;"
        f" {cpu:.2f} s CPU = {count / cpu:,.0f} claims/s"
    )
    return result


def run(
    count: int, source: ClaimSource, folder: Path, *, cached: bool, url: str | None = None
) -> None:
    _hint_cache(cached)
    label = "hint memo on" if cached else "hint memo off"
    if url:
        SubmissionLedger.migrate(url)
        label += ", PostgreSQL ledger"
    ledger = SubmissionLedger(url or folder / f"x12-{cached}.sqlite3")
    out = folder / f"claims-{cached}.837"
    report = timed(
        f"837P written ({label})", count, lambda: write_837(source, PARTIES, ledger, out=out)
    )
    if len(report.sent) != count:  # type: ignore[attr-defined]
        raise SystemExit(f"not every claim was sent: {report.not_ready[:3]}")  # type: ignore[attr-defined]
    era = remittance_for(ledger)
    intake = timed(
        f"835 matched and recorded ({label})",
        count,
        lambda: record_x12_text(era, ledger, source="bench.835"),
    )
    if intake.claims_matched != count:  # type: ignore[attr-defined]
        raise SystemExit(f"only {intake.claims_matched} claims matched")  # type: ignore[attr-defined]
    print(
        f"  837 file {out.stat().st_size / 1e6:.1f} MB; 835 {len(era) / 1e6:.1f} MB,"
        f" {intake.lines_recorded} line rows, {len(intake.denials)} claims with a denial"  # type: ignore[attr-defined]
    )
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--memo", choices=("both", "on", "off"), default="both")
    parser.add_argument("--ledger-url", metavar="URL", help="an empty PostgreSQL database")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(
        f"{platform.node()} {platform.machine()} Python {platform.python_version()}, "
        f"{os.cpu_count()} cores (pinned to one), load {os.getloadavg()[0]:.1f},"
        f" {dt.datetime.now(dt.UTC).date()}"
    )
    source = source_of(args.claims)
    with tempfile.TemporaryDirectory() as folder:
        for cached in {"both": (False, True), "on": (True,), "off": (False,)}[args.memo]:
            run(args.claims, source, Path(folder), cached=cached, url=args.ledger_url)


if __name__ == "__main__":
    main()
