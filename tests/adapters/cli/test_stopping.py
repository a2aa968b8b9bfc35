"""SIGTERM (a service manager's stop) to every long-running command: it ends, and nothing stays.

Each command runs as a real process; its process tree is read from ``/proc`` while it
works, then it gets SIGTERM, and every process of the tree must be gone within seconds.
Commands with workers hand the jobs they did not finish back to the queue, untried.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.cli.sandbox_process import read_ready_line, running_sandbox
from adapters.jobs import JobLedger, JobState

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="process trees are read from /proc (Linux)"
)

CLI = [sys.executable, "-m", "adapters.cli.main"]


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":  # a zombie has ended; its parent just has not reaped it
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stop_and_check(process: subprocess.Popen, tree: set[int], timeout: float = 40) -> int:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=timeout)
    wait_until(lambda: not [pid for pid in tree if alive(pid)], timeout=10)
    return code


@pytest.fixture(scope="module")
def slow_sandbox(tmp_path_factory):
    """A sandbox answering each request after 40 ms: runs are still at work when stopped."""
    folder = tmp_path_factory.mktemp("stop-sandbox")
    env_faults = '{"latency_ms": 40}'
    previous = os.environ.get("FHIR_CODER_SANDBOX_FAULTS")
    os.environ["FHIR_CODER_SANDBOX_FAULTS"] = env_faults
    try:
        with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--patients", "25")) as base:
            os.environ.pop("FHIR_CODER_SANDBOX_FAULTS", None)
            yield base
    finally:
        if previous is not None:
            os.environ["FHIR_CODER_SANDBOX_FAULTS"] = previous


def test_sigterm_to_the_sandbox_command_stops_its_server_too(tmp_path):
    process = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--db", str(tmp_path / "s.sqlite3"), "--no-seed"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: (tmp_path / "s.sqlite3").exists() and children_of(process.pid))
    tree = children_of(process.pid) | {process.pid}
    assert len(tree) >= 2  # the launcher and its server
    assert stop_and_check(process, tree) == 0


def test_sigkill_to_the_sandbox_command_still_ends_its_server(tmp_path):
    process = subprocess.Popen(
        [*CLI, "sandbox", "--port", "0", "--db", str(tmp_path / "s.sqlite3"), "--no-seed"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: (tmp_path / "s.sqlite3").exists() and children_of(process.pid))
    server = children_of(process.pid)
    process.kill()
    process.wait()
    wait_until(lambda: not [pid for pid in server if alive(pid)], timeout=10)


def test_sigterm_to_the_demo_stops_its_sandbox(tmp_path):
    process = subprocess.Popen(
        [*CLI, "demo", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: children_of(process.pid))
    tree = children_of(process.pid) | {process.pid}
    assert stop_and_check(process, tree) == 128 + signal.SIGTERM


def test_sigterm_to_run_hands_its_jobs_back_and_leaves_nothing_running(slow_sandbox, tmp_path):
    jobs_db = tmp_path / "jobs.sqlite3"
    process = subprocess.Popen(
        [*CLI, "run", "--server", slow_sandbox, "--jobs-db", str(jobs_db), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def some_done() -> bool:
        if not jobs_db.exists():
            return False
        with JobLedger(jobs_db) as ledger:
            return ledger.counts()[JobState.DONE] >= 2

    wait_until(some_done)
    assert stop_and_check(process, {process.pid}) == 128 + signal.SIGTERM
    with JobLedger(jobs_db) as ledger:
        counts = ledger.counts()
        waiting = ledger.jobs(state=JobState.QUEUED)
    assert counts[JobState.RUNNING] == 0  # finished or handed back: none left to its lease
    assert waiting, "the run was stopped mid-way"
    assert {job.attempts for job in waiting} == {0}


@pytest.mark.parametrize("command", ["serve", "watch"])
def test_sigterm_to_serve_and_watch_ends_them(slow_sandbox, tmp_path, command):
    extra = ["--port", "0"] if command == "serve" else ["--interval", "0.5"]
    process = subprocess.Popen(
        [*CLI, command, "--server", slow_sandbox, "--jobs-db", str(tmp_path / "j.sqlite3"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if command == "serve":
        assert read_ready_line(process, "FHIR_CODER_SERVICE_READY ", 60) is not None
    else:
        wait_until((tmp_path / "j.sqlite3").exists)
    code = stop_and_check(process, children_of(process.pid) | {process.pid})
    process.stdout.close()
    # uvicorn ends serve by raising the signal again once it has shut down gracefully
    assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
    with JobLedger(tmp_path / "j.sqlite3") as ledger:
        assert ledger.counts()[JobState.RUNNING] == 0
