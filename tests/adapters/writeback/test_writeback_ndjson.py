"""The NDJSON destination: one complete, fsynced line per Claim, exactly once across restarts."""

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter, WriteAction
from adapters.writeback.destinations import NdjsonDestination
from adapters.writeback.ndjson import BUNDLE_FILE, NdjsonFile, read_claims
from fhir_coder.outcome import Issue, IssueCode, Severity
from tests.adapters.writeback_claims import CREATED, claim_of, coded_visit


def lines(folder):
    return [json.loads(line) for line in (folder / BUNDLE_FILE).read_bytes().split(b"\n") if line]


async def test_a_claim_goes_with_its_provenance_and_task_in_one_line(tmp_path):
    coded = coded_visit("nd", 1)
    issues = (Issue(Severity.ERROR, IssueCode.CODE_INVALID, "header", rule="ICD10CM-NOT-BILLABLE"),)
    writer = ClaimWriter(NdjsonDestination(tmp_path))
    receipt = await writer.write(claim_of(coded, issues), coded, issues, created=CREATED)
    assert (receipt.action, receipt.task) == (WriteAction.CREATED, True)
    [bundle] = lines(tmp_path)
    assert bundle["type"] == "transaction"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["Claim", "Provenance", "Task"]
    assert [entry["request"]["method"] for entry in bundle["entry"]] == ["PUT"] * 3


async def test_a_restart_with_a_new_ledger_appends_nothing_for_an_unchanged_claim(tmp_path):
    coded = coded_visit("nd", 2)
    folder = tmp_path / "claims"
    first = ClaimWriter(NdjsonDestination(folder), ledger=ClaimLedger(tmp_path / "a.sqlite3"))
    assert (await first.write(claim_of(coded), coded, (), created=CREATED)).action is (
        WriteAction.CREATED
    )
    # a new process whose ledger was lost: the file itself says the Claim is there
    second = ClaimWriter(NdjsonDestination(folder), ledger=ClaimLedger(tmp_path / "b.sqlite3"))
    again = await second.write(claim_of(coded), coded, (), created=CREATED)
    assert again.action is WriteAction.UNCHANGED
    assert len(lines(folder)) == 1
    recoded = coded_visit("nd", 2, code="I10")
    update = await second.write(claim_of(recoded), recoded, (), created=CREATED)
    assert update.action is WriteAction.UPDATED
    assert len(lines(folder)) == 2
    [claim] = read_claims(folder).values()  # the later line supersedes
    assert "I10" in json.dumps(claim["diagnosis"])


async def test_an_append_whose_record_was_lost_is_not_appended_again(tmp_path):
    """Killed between the fsync and the ledger's record: the next attempt finds the line."""
    ledger = ClaimLedger(tmp_path / "ledger.sqlite3")
    writer = ClaimWriter(NdjsonDestination(tmp_path / "claims"), ledger=ledger)
    coded = coded_visit("nd", 3)
    await writer.write(claim_of(coded), coded, (), created=CREATED)
    where, key = writer.destination.name, claim_of(coded)["id"]
    as_first_written = ledger.entry(where, key)
    recoded = coded_visit("nd", 3, code="I10")
    await writer.write(claim_of(recoded), recoded, (), created=CREATED)
    held = ledger.reserve(where, key)  # the crash: the second line is there, its record not
    ledger.record(where, as_first_written, held.fence)

    again = await writer.write(claim_of(recoded), recoded, (), created=CREATED)

    assert again.action is WriteAction.UNCHANGED
    assert len(lines(tmp_path / "claims")) == 2
    assert ledger.entry(where, key).version == again.version


def test_a_line_torn_by_a_crash_is_cut_before_the_next_append(tmp_path):
    ndjson = NdjsonFile(tmp_path)
    ndjson.append([{"resourceType": "Claim", "id": "fc-1"}])
    with (tmp_path / BUNDLE_FILE).open("ab") as file:
        file.write(b'{"resourceType":"Bundle","type":"transac')  # the crash, mid-line
    assert NdjsonFile(tmp_path).latest("fc-1") is not None  # a reader skips the torn tail
    NdjsonFile(tmp_path).append([{"resourceType": "Claim", "id": "fc-2"}])
    assert [b["entry"][0]["resource"]["id"] for b in lines(tmp_path)] == ["fc-1", "fc-2"]


def test_two_writers_of_one_folder_see_each_others_lines(tmp_path):
    one, two = NdjsonFile(tmp_path), NdjsonFile(tmp_path)
    one.append([{"resourceType": "Claim", "id": "fc-1", "n": 1}])
    two.append([{"resourceType": "Claim", "id": "fc-2"}])
    one.append([{"resourceType": "Claim", "id": "fc-1", "n": 2}])
    offset, claim = two.latest("fc-1")
    assert claim["n"] == 2
    assert offset > 0
    assert one.latest("fc-2")[1]["id"] == "fc-2"


@pytest.mark.parametrize("room", [0, 300])
def test_a_write_the_disk_cannot_take_leaves_the_file_as_it_was(tmp_path, room):
    """A real file-size limit (RLIMIT_FSIZE): a short write, then EFBIG; the file is cut back.

    ``room`` 0 refuses the first byte; 300 takes part of the line first (a short write).
    """
    ndjson = NdjsonFile(tmp_path)
    ndjson.append([{"resourceType": "Claim", "id": "fc-1"}])
    before = (tmp_path / BUNDLE_FILE).read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        from adapters.writeback.ndjson import NdjsonFile, NdjsonWriteError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = {len(before) + room}
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            NdjsonFile(Path(sys.argv[1])).append(
                [{{"resourceType": "Claim", "id": "fc-2", "text": "x" * 5000}}]
            )
        except NdjsonWriteError as exc:
            print(exc.code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "EFBIG", done.stderr
    assert (tmp_path / BUNDLE_FILE).read_bytes() == before


async def test_a_claim_coded_from_an_older_version_than_the_one_written_is_not_sent(tmp_path):
    """Two jobs of one encounter out of order: the one that read version 2 comes last."""
    writer = ClaimWriter(NdjsonDestination(tmp_path))
    newer = coded_visit("nd", 4, code="I10")
    newer = replace(newer, encounter=replace(newer.encounter, version_id="3"))
    older = coded_visit("nd", 4, code="E119")
    older = replace(older, encounter=replace(older.encounter, version_id="2"))
    assert (await writer.write(claim_of(newer), newer, (), created=CREATED)).action is (
        WriteAction.CREATED
    )
    late = await writer.write(claim_of(older), older, (), created=CREATED)
    assert late.action is WriteAction.STALE
    [claim] = read_claims(tmp_path).values()
    assert "I10" in json.dumps(claim["diagnosis"])
    assert len(lines(tmp_path)) == 1
