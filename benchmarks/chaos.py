"""Chaos soak: exactly once across restarts, and no person's edit overwritten.

The sandbox runs with injected faults (a share of requests answered 429 or 503, or cut
off mid-response) and latency. Two ``fhir-coder serve`` processes share one job ledger and
one Claim ledger. The soak changes encounters (a diagnosis recoded, the Encounter saved
again: a new version) and notifies a serve chosen at random, with duplicated and
out-of-order notifications (an older version arriving after a newer one). Meanwhile
serve processes are SIGKILLed at random and started again, and a "biller" edits a share
of the written Claims before their encounter is recoded again.

Then it checks, against the server (or the NDJSON folder):

* every encounter changed has one Claim, and it says what coding its latest version says
  (built again, in process, from what the server holds now): 0 lost, 0 mismatched;
* no encounter has two Claims, no Claim two Provenances: 0 duplicates;
* every Claim the biller edited still says what the biller wrote: 0 overwritten, and each
  recode after the edit is reported (a job failed with the outcome ``conflict``);
* NDJSON: every line a whole JSON Bundle (0 torn) and no Claim appended twice with the
  same content (0 duplicate lines).

``tests/adapters/test_chaos_soak.py`` runs a small configuration in the suite; this script
runs any size and prints the figures (``docs/benchmarks.md``)::

    .venv/bin/python benchmarks/chaos.py --updates 1000 --kills 5 [--ndjson]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.cli.sandbox_process import read_ready_line, running_sandbox  # noqa: E402
from adapters.coding_setup import default_coding  # noqa: E402
from adapters.fhir.client import FhirClient  # noqa: E402
from adapters.fhir.retry import RetryPolicy  # noqa: E402
from adapters.jobs import JobLedger, JobState  # noqa: E402
from adapters.pipeline import Outcome, Pipeline  # noqa: E402
from adapters.writeback.ndjson import BUNDLE_FILE  # noqa: E402

SOURCE_ID = "chaos-ehr"
TOKEN = "chaos-notify-token"  # noqa: S105 - a test token for loopback
READY = "FHIR_CODER_SERVICE_READY "
CODES = ("E11.9", "I10", "J20.9", "E78.5", "K21.9", "N39.0")
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
STAT = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "stat"}]
}


@dataclass(frozen=True)
class SoakConfig:
    """How big and how rough the soak is."""

    patients: int = 25
    encounters: int = 20  # encounters changed
    updates: int = 60  # changes in all (the first of each encounter included)
    kills: int = 2
    fault_rate: float = 0.2
    latency_ms: float = 2.0
    biller_share: float = 0.05
    ndjson: bool = False
    seed: int | None = None
    timeout: float = 300.0


@dataclass
class SoakResult:
    """What the soak did and found."""

    seed: int
    encounters: int = 0
    updates: int = 0
    notifications: int = 0
    kills: int = 0
    biller_edits: int = 0
    claims: int = 0
    lost: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    conflicts_unreported: list[str] = field(default_factory=list)
    conflicts_reported: int = 0
    parked: int = 0
    torn_lines: int = 0
    duplicate_lines: int = 0
    seconds: float = 0.0
    drain_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every promise held."""
        return not (
            self.lost
            or self.mismatched
            or self.duplicates
            or self.overwritten
            or self.conflicts_unreported
            or self.torn_lines
            or self.duplicate_lines
        )


class Server:
    """A loopback FHIR server reached through faults: every request tried until answered."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:  # noqa: ANN401
        for _ in range(60):
            try:
                answer = self.http.request(method, f"{self.base}/{path}", **kwargs)
            except httpx.TransportError:
                time.sleep(0.01)
                continue
            if answer.status_code in (429, 503):
                time.sleep(0.01)
                continue
            return answer
        raise RuntimeError(f"{method} {path}: no answer through the faults")

    def all(self, query: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        answer = self.call("GET", query).json()
        while True:
            kind = query.split("?", 1)[0]
            found += [
                entry["resource"]
                for entry in answer.get("entry", [])
                if entry["resource"].get("resourceType") == kind
            ]
            after = [link["url"] for link in answer.get("link", []) if link["relation"] == "next"]
            if not after:
                return found
            answer = self.call("GET", after[0].removeprefix(self.base + "/")).json()


class Serve:
    """One ``fhir-coder serve`` process, killed and started again at will."""

    def __init__(self, base: str, jobs_db: Path, claims_to: Path | None, log: Path) -> None:
        self.command = [
            sys.executable, "-m", "adapters.cli.main", "serve", "--server", base,
            "--source-id", SOURCE_ID, "--jobs-db", str(jobs_db), "--port", "0",
            *(["--claims-to", str(claims_to)] if claims_to else []),
        ]  # fmt: skip
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.url: str | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "FHIR_CODER_NOTIFY_TOKEN": TOKEN,
            "FHIR_CODER_LEASE_SECONDS": "3",  # a killed serve's jobs come back soon
            "FHIR_CODER_RETRY_BASE_SECONDS": "0.2",
            "FHIR_CODER_MAX_ATTEMPTS": "8",
        }
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=log, text=True, env=env
            )
        self.url = None
        threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()

    def _watch(self, process: subprocess.Popen[str]) -> None:
        url = read_ready_line(process, READY, 120.0)
        if self.process is process:
            self.url = url

    def ready(self, timeout: float = 120.0) -> str:
        """Its URL, once it listens (waiting for it)."""
        deadline = time.monotonic() + timeout
        while self.url is None:
            if time.monotonic() > deadline or self.process is None:
                raise RuntimeError(f"serve did not start (see {self.log})")
            time.sleep(0.02)
        return self.url

    def ready_now(self) -> str | None:
        """Its URL if it already said it listens (never waits)."""
        return self.url

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
        self.process, self.url = None, None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process, self.url = None, None


def _condition(encounter: dict[str, Any], code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"soak-{encounter['id']}",
        "subject": encounter["subject"],
        "encounter": {"reference": f"Encounter/{encounter['id']}"},
        "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10CM, "code": code}]},
    }


class Soak:
    """One soak run; see the module docstring."""

    def __init__(self, config: SoakConfig, base: str, folder: Path) -> None:
        self.config = config
        seed = config.seed if config.seed is not None else random.randrange(1 << 30)  # noqa: S311
        self.rng = random.Random(seed)  # noqa: S311 - chaos, not secrets
        self.result = SoakResult(seed=seed)
        self.server = Server(base)
        self.jobs_db = folder / "jobs.sqlite3"
        self.claims_to = folder / "claims" if config.ndjson else None
        self.serves = [
            Serve(base, self.jobs_db, self.claims_to, folder / f"serve-{n}.log") for n in (0, 1)
        ]
        self.sent: dict[str, list[dict[str, Any]]] = {}  # each encounter's versions, in order
        self.codes: dict[str, str] = {}  # the code each encounter's soak diagnosis has now
        self.edited: dict[str, str] = {}  # encounter -> Claim id the biller edited
        self.unedited: dict[str, Any] = {}  # encounter -> the priority before the biller's edit
        self.billed_code: dict[str, str] = {}  # encounter -> its soak code when the biller edited

    # --- the EHR side -------------------------------------------------------------------
    def update(self, encounter_id: str) -> None:
        """Recode one diagnosis and save the Encounter again: a new version, notified."""
        encounter = self.server.call("GET", f"Encounter/{encounter_id}").json()
        # always another code than last time: every update recodes the encounter; and never
        # back to the code its Claim said when the biller edited it, so the latest coding
        # always differs from what was written before the edit and a conflict is owed (an
        # A -> B -> A recode whose B notification is coalesced into A's writes nothing)
        avoid = {self.codes.get(encounter_id), self.billed_code.get(encounter_id)}
        code = self.rng.choice([c for c in CODES if c not in avoid])
        self.codes[encounter_id] = code
        self.server.call("PUT", f"Condition/soak-{encounter_id}", json=_condition(encounter, code))
        touched = {**encounter, "language": self.rng.choice(["en", "en-US"])}
        saved = self.server.call("PUT", f"Encounter/{encounter_id}", json=touched)
        assert saved.status_code in (200, 201), saved.text  # noqa: S101
        versions = self.sent.setdefault(encounter_id, [])
        versions.append(saved.json())
        self.result.updates += 1
        self.notify(versions[-1])
        if self.rng.random() < 0.3:  # the same notification twice (each HAPI node sends one)
            self.notify(versions[-1])
        if len(versions) > 1 and self.rng.random() < 0.3:  # an older version arriving late
            self.notify(self.rng.choice(versions[:-1]))

    def notify(self, encounter: dict[str, Any]) -> None:
        """PUT the resource to a running serve's rest-hook endpoint (another when one is down)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for serve in self.rng.sample(self.serves, len(self.serves)):
                url = serve.ready_now()
                if url is None:  # starting again after a kill: the other one takes it
                    continue
                try:
                    answer = httpx.put(
                        f"{url}/notify/Encounter/{encounter['id']}",
                        json=encounter,
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=30,
                    )
                except httpx.TransportError:
                    continue
                if answer.status_code in (200, 202):
                    self.result.notifications += 1
                    return
            time.sleep(0.05)  # both starting again: the EHR retries its notification
        raise RuntimeError("no serve took the notification")

    def bill(self, encounter_id: str) -> bool:
        """The biller's edit of the encounter's Claim (priority stat); False if none yet."""
        with JobLedger(self.jobs_db) as ledger:
            done = [
                j.claim_id
                for j in ledger.jobs(state=JobState.DONE, limit=100_000)
                if j.encounter_id == encounter_id and j.claim_id
            ]
        if not done:
            return False
        claim_id = done[-1]
        if self.claims_to is not None:
            return False  # a folder has no biller
        for _ in range(20):
            answer = self.server.call("GET", f"Claim/{claim_id}")
            if answer.status_code != 200:
                return False
            claim = answer.json()
            version = claim["meta"]["versionId"]
            headers = {"If-Match": f'W/"{version}"'}
            put = self.server.call(
                "PUT", f"Claim/{claim_id}", json=claim | {"priority": STAT}, headers=headers
            )
            if put.status_code in (200, 201):
                self.edited[encounter_id] = claim_id
                self.billed_code[encounter_id] = self.codes[encounter_id]
                self.unedited[encounter_id] = claim.get("priority")
                self.result.biller_edits += 1
                return True
        return False

    # --- the chaos ----------------------------------------------------------------------
    def kill_one(self) -> None:
        """SIGKILL one serve (one that is up, so one serve is always taking notifications)."""
        up = [serve for serve in self.serves if serve.ready_now() is not None]
        serve = self.rng.choice(up or self.serves)
        serve.kill()
        serve.start()
        self.result.kills += 1

    def wait_for_quiet(self, timeout: float) -> None:
        """Until no job waits or runs (both serves up), for a second in a row."""
        for serve in self.serves:
            serve.ready()
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            with JobLedger(self.jobs_db) as ledger:
                pending = ledger.pending()
            if pending == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    return
            else:
                quiet_since = None
            time.sleep(0.1)
        raise RuntimeError(f"jobs still pending after {timeout:.0f} s")

    def mark(self, phase: str) -> None:
        """Note when a phase ended (seconds from the start), for the figures."""
        self.result.phases[phase] = round(time.monotonic() - self.started, 1)

    def run(self) -> SoakResult:
        started = self.started = time.monotonic()
        config = self.config
        finished = self.server.all("Encounter?status=finished&_count=200&_elements=id")
        chosen = self.rng.sample([e["id"] for e in finished], min(config.encounters, len(finished)))
        self.result.encounters = len(chosen)
        for serve in self.serves:
            serve.start()
        for serve in self.serves:
            serve.ready()
        self.mark("serves ready")
        # first round: every chosen encounter changed once, so it has a Claim to edit
        for encounter_id in chosen:
            self.update(encounter_id)
        self.wait_for_quiet(config.timeout)
        self.mark("first round written")
        billed = max(1, round(config.biller_share * len(chosen))) if not config.ndjson else 0
        for encounter_id in self.rng.sample(chosen, billed):
            self.bill(encounter_id)
        rest = [self.rng.choice(chosen) for _ in range(max(0, config.updates - len(chosen)))]
        for encounter_id in self.edited:  # each edited Claim's encounter is recoded after
            rest.insert(self.rng.randrange(len(rest) + 1), encounter_id)
        kill_at = set(self.rng.sample(range(len(rest)), min(config.kills, len(rest))))
        for number, encounter_id in enumerate(rest):
            if number in kill_at:
                self.kill_one()
            self.update(encounter_id)
        self.mark("updates sent")
        drain = time.monotonic()
        self.wait_for_quiet(config.timeout)
        self.mark("drained")
        self.result.drain_seconds = round(time.monotonic() - drain, 1)
        for serve in self.serves:
            serve.stop()
        self.mark("serves stopped")
        asyncio.run(self.check(chosen))
        self.mark("checked")
        self.result.seconds = round(time.monotonic() - started, 1)
        return self.result

    # --- the verdict --------------------------------------------------------------------
    async def check(self, chosen: list[str]) -> None:
        result = self.result
        with JobLedger(self.jobs_db) as ledger:
            jobs = ledger.jobs(limit=1_000_000)
        result.parked = sum(job.state is JobState.PARKED for job in jobs)
        conflicts = {j.encounter_id for j in jobs if j.outcome == "conflict"}
        result.conflicts_reported = sum(j.outcome == "conflict" for j in jobs)
        written = self._written() if self.claims_to is not None else {}
        retry = RetryPolicy(attempts=30, base_delay=0.01, max_delay=0.05, budget=60)
        async with FhirClient(self.server.base, retry=retry) as fhir:
            pipeline = Pipeline(fhir, default_coding(), source_id=SOURCE_ID, write=False)
            for encounter_id in chosen:
                expected = await pipeline.process(encounter_id)
                if expected.outcome is Outcome.FAILED:
                    raise RuntimeError(f"could not code {encounter_id} again: {expected.error}")
                if expected.claim is None:
                    continue  # held: no Claim is owed
                claim_id = str(expected.claim["id"])
                if self.claims_to is None:  # each Claim read by its id: no search to trust
                    answer = self.server.call("GET", f"Claim/{claim_id}")
                    if answer.status_code == 200:
                        written[claim_id] = answer.json()
                self._judge(encounter_id, expected.claim, written.get(claim_id), conflicts)
        result.claims = len(written)
        if self.claims_to is None:
            self._count_duplicates(len(written))

    def _judge(
        self,
        encounter_id: str,
        expected: dict[str, Any],
        found: dict[str, Any] | None,
        conflicts: set[str],
    ) -> None:
        """One encounter's verdict: lost, mismatched, overwritten, or its conflict unreported."""
        result = self.result
        if encounter_id in self.edited:
            if found is None or found.get("priority") != STAT:
                result.overwritten.append(encounter_id)
                return
            # a conflict is owed when the latest coding differs from what fhir-coder wrote
            # before the edit (a recode to the same codes writes nothing)
            before = {**found, "priority": self.unedited[encounter_id]}
            if _says(before) != _says(expected) and encounter_id not in conflicts:
                result.conflicts_unreported.append(encounter_id)
            return
        if found is None:
            result.lost.append(encounter_id)
        elif _says(found) != _says(expected):
            result.mismatched.append(encounter_id)

    def _count_duplicates(self, claims: int) -> None:
        """More Claims or Provenances on the server than encounters with a Claim: doubles."""
        for kind in ("Claim", "Provenance"):
            total = self.server.call("GET", f"{kind}?_summary=count").json()["total"]
            if total != claims:
                self.result.duplicates.append(f"{total} {kind} resources for {claims} Claims")

    def _written(self) -> dict[str, dict[str, Any]]:
        """The Claims in the NDJSON folder by id, the latest line winning.

        Torn lines and lines appending a Claim that says what its line before said are
        counted on the way.
        """
        result = self.result
        assert self.claims_to is not None  # noqa: S101 - the folder's check only
        latest: dict[str, dict[str, Any]] = {}
        data = (self.claims_to / BUNDLE_FILE).read_bytes()
        if data and not data.endswith(b"\n"):
            result.torn_lines += 1
        for raw in data.split(b"\n"):
            if not raw:
                continue
            try:
                bundle = json.loads(raw)
                claim = bundle["entry"][0]["resource"]
            except (ValueError, KeyError, IndexError):
                result.torn_lines += 1
                continue
            before = latest.get(claim["id"])
            if before is not None and _says(before) == _says(claim):
                result.duplicate_lines += 1
            latest[claim["id"]] = claim
        return latest


def _says(claim: dict[str, Any]) -> str:
    """What a Claim says: everything but when it was built and the server's meta."""
    stable = {k: v for k, v in claim.items() if k not in ("created", "meta")}
    return json.dumps(stable, sort_keys=True)


@contextmanager
def faulty_sandbox(config: SoakConfig, folder: Path) -> Iterator[str]:
    """The sandbox with ``config``'s faults (429, 503, dropped answers) and latency."""
    faults = {
        "rate": config.fault_rate,
        "kinds": ["429", "503", "drop"],
        "latency_ms": config.latency_ms,
        "retry_after_seconds": 0,
        "seed": config.seed,
    }
    previous = os.environ.get("FHIR_CODER_SANDBOX_FAULTS")
    os.environ["FHIR_CODER_SANDBOX_FAULTS"] = json.dumps(faults)
    try:
        with running_sandbox(
            folder / "sandbox.sqlite3", extra_args=("--patients", str(config.patients))
        ) as base:
            yield base
    finally:
        if previous is None:
            os.environ.pop("FHIR_CODER_SANDBOX_FAULTS", None)
        else:
            os.environ["FHIR_CODER_SANDBOX_FAULTS"] = previous


def soak(config: SoakConfig, folder: Path) -> SoakResult:
    """Run one soak in ``folder`` (the sandbox, the ledgers, the logs)."""
    with faulty_sandbox(config, folder) as base:
        run = Soak(config, base, folder)
        try:
            return run.run()
        finally:
            for serve in run.serves:
                serve.stop()
            run.server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--encounters", type=int, default=200)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--ndjson", action="store_true", help="write Claims to a folder")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    config = SoakConfig(
        patients=args.patients,
        encounters=args.encounters,
        updates=args.updates,
        kills=args.kills,
        fault_rate=args.fault_rate,
        latency_ms=args.latency_ms,
        ndjson=args.ndjson,
        seed=args.seed,
        timeout=1800,
    )
    with tempfile.TemporaryDirectory(prefix="fhir-coder-chaos-") as folder:
        result = soak(config, Path(folder))
    shown = asdict(result)
    for key in ("lost", "mismatched", "duplicates", "overwritten", "conflicts_unreported"):
        shown[key] = len(shown[key]) if not shown[key] else shown[key]
    print(json.dumps({"config": asdict(config), "result": shown, "ok": result.ok}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
