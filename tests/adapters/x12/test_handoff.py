"""Handing interchanges to a clearinghouse: an outbox folder, an HTTP endpoint, exactly once.

The outbox gets ``<sender>_<ISA13>.837`` whole (renamed from a dot-file), never overwritten;
an HTTP endpoint gets a POST with a timeout; Claims are marked submitted only when the
hand-off succeeded. A run SIGKILLed at each step is finished by the next run: the
interchange goes once, under one number, and each Claim is marked submitted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from adapters.fhir.plain_http import InsecureUrlError
from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry
from adapters.x12.handoff import HandoffRefusedError, HttpHandoff, OutboxHandoff
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.submit import submit_837
from adapters.x12.syntax import read_interchange
from tests.adapters.cli.test_x12_cli import export_folder, settings_file
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.test_ledger_backends import CountingClaimLedger

ROOT = Path(__file__).resolve().parents[3]
SOURCE = "ndjson:/golden"


def _written(claims: ClaimLedger, claim_ids) -> None:
    """The Claim ledger knows each Claim as written (so mark_submitted has a row to mark)."""
    for claim_id in claim_ids:
        held = claims.reserve(SOURCE, claim_id)
        claims.record(
            SOURCE, LedgerEntry(claim_id, claim_id=claim_id, server_id=claim_id), held.fence
        )


def _ids():
    return sorted(c["id"] for c in golden_source("emergency_visit", "inpatient_stay").claims)


def _outbox_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_outbox_gets_whole_files_named_by_interchange_and_never_overwritten(
    ledger, parties, tmp_path
):
    outbox = tmp_path / "outbox"
    first = submit_837(
        golden_source("emergency_visit"),
        parties,
        ledger,
        OutboxHandoff(outbox, parties.sender_id),
        price=chargemaster,
    )
    name = f"RIVERBEND_{first.interchange:09d}.837"
    assert _outbox_files(outbox) == [name]  # no staged dot-file left behind
    assert first.path == outbox / name
    checked = read_interchange((outbox / name).read_text(), name)
    assert int(checked.control_number) == first.interchange
    # the next interchange's name is taken by a file that is not ours: not overwritten
    squatter = outbox / f"RIVERBEND_{first.interchange + 1:09d}.837"
    squatter.write_text("someone else's file")
    with pytest.raises(HandoffRefusedError, match="never overwritten"):
        submit_837(
            golden_source("inpatient_stay"),
            parties,
            ledger,
            OutboxHandoff(outbox, parties.sender_id),
            price=chargemaster,
        )
    assert squatter.read_text() == "someone else's file"
    assert _outbox_files(outbox) == sorted([name, squatter.name])
    stay = golden_source("inpatient_stay").claims[0]["id"]
    assert ledger.submission(stay).status == "not-submitted"
    (event,) = ledger.history(stay)
    assert "never overwritten" in event.detail["reason"]
    # it goes with the next number once the folder is clear of it
    again = submit_837(
        golden_source("inpatient_stay"),
        parties,
        ledger,
        OutboxHandoff(outbox, parties.sender_id),
        price=chargemaster,
    )
    assert [f.claim_id for f in again.sent] == [stay]
    assert again.interchange == first.interchange + 2
    assert [e.status for e in ledger.history(stay)] == ["not-submitted", "submitted"]


@pytest.mark.parametrize(
    ("backend", "step"),
    [
        ("sqlite", "stage"),
        ("sqlite", "publish"),
        ("sqlite", "published"),
        ("postgresql", "publish"),
        ("postgresql", "published"),
    ],
)
def test_a_run_killed_at_each_step_is_finished_once_by_the_next(
    request, parties, tmp_path, backend, step
):
    ledger_db = (
        tmp_path / "x12.sqlite3" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    claims_target = ledger_db if isinstance(ledger_db, str) else tmp_path / "claims.sqlite3"
    outbox = tmp_path / "outbox"
    with ClaimLedger(claims_target) as claims:
        _written(claims, _ids())
    child = subprocess.run(  # a real process, really killed
        [
            sys.executable,
            "-m",
            "tests.adapters.x12.handoff_child",
            str(ledger_db),
            str(claims_target),
            str(outbox),
            step,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    with SubmissionLedger(ledger_db) as ledger:
        (left,) = ledger.handoffs()
        assert left.state == ("reserved" if step == "stage" else "staged")
        assert {s.status for s in ledger.submissions()} == {"sending"}
        published_by_child = _outbox_files(outbox) if outbox.exists() else []
        counting = CountingClaimLedger(claims_target)
        report = submit_837(
            golden_source("emergency_visit", "inpatient_stay"),
            parties,
            ledger,
            OutboxHandoff(outbox, parties.sender_id),
            claim_ledger=counting,
            price=chargemaster,
        )
        files = _outbox_files(outbox)
        assert len(files) == 1  # one interchange in the outbox, whatever the step
        if step == "stage":  # nothing went: undone, then sent afresh under a new number
            assert report.released == [left.control]
            assert sorted(f.claim_id for f in report.sent) == _ids()
            assert files == [f"RIVERBEND_{report.interchange:09d}.837"]
        else:  # the same interchange, same number, published (again) or found published
            assert report.finished == [left.control]
            assert report.sent == []
            assert files == [f"RIVERBEND_{left.control:09d}.837"]
            if step == "published":
                assert published_by_child == files
        assert sorted(counting.marked) == _ids()  # marked submitted once each
        assert all(counting.entry(SOURCE, claim_id).submitted for claim_id in _ids())
        for claim_id in _ids():
            statuses = [e.status for e in ledger.history(claim_id)]
            assert statuses == (
                ["not-submitted", "submitted"] if step == "stage" else ["submitted"]
            )
        assert {s.status for s in ledger.submissions()} == {"submitted"}
        # and never again
        after = submit_837(
            golden_source("emergency_visit", "inpatient_stay"),
            parties,
            ledger,
            OutboxHandoff(outbox, parties.sender_id),
            claim_ledger=counting,
            price=chargemaster,
        )
        assert after.sent == []
        assert after.finished == []
        assert len(_outbox_files(outbox)) == 1
        assert sorted(counting.marked) == _ids()
        counting.close()


class Clearinghouse(BaseHTTPRequestHandler):
    """A clearinghouse endpoint on loopback whose answers the test scripts."""

    script: ClassVar[list[str]] = []
    received: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers.get("Idempotency-Key", "")))
        action = type(self).script.pop(0) if type(self).script else "ok"
        if action == "slow":
            time.sleep(1.5)  # longer than the client waits
        status = 400 if action == "refuse" else 200
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the client gave up

    def log_message(self, *args):
        pass


@pytest.fixture
def clearinghouse():
    Clearinghouse.script, Clearinghouse.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Clearinghouse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/x12/inbound"
    server.shutdown()
    server.server_close()


def test_a_post_that_times_out_is_sent_again_the_same_and_marked_once(
    ledger, parties, tmp_path, clearinghouse
):
    staging = tmp_path / "outgoing"
    post = HttpHandoff(clearinghouse, staging, sender_id=parties.sender_id, timeout=0.5)
    Clearinghouse.script = ["slow"]
    claims = CountingClaimLedger(tmp_path / "claims.sqlite3")
    _written(claims, _ids())
    first = submit_837(
        golden_source("emergency_visit", "inpatient_stay"),
        parties,
        ledger,
        post,
        claim_ledger=claims,
        price=chargemaster,
    )
    assert first.sent == []
    assert "goes again" in first.uncertain
    assert claims.marked == []  # not known to have gone: not marked
    assert {s.status for s in ledger.submissions()} == {"sending"}
    (pending,) = ledger.handoffs("staged")
    assert Path(pending.staged).exists()
    # the next run (here the same process: its lease is its own) sends the same body again
    second = submit_837(
        golden_source("emergency_visit", "inpatient_stay"),
        parties,
        ledger,
        post,
        claim_ledger=claims,
        price=chargemaster,
    )
    assert second.finished == [pending.control]
    assert second.sent == []
    (body1, key1), (body2, key2) = Clearinghouse.received
    assert body1 == body2
    assert key1 == key2  # one interchange, one number, sent twice
    assert int(read_interchange(body2.decode(), "post").control_number) == pending.control
    assert sorted(claims.marked) == _ids()
    assert {s.status for s in ledger.submissions()} == {"submitted"}
    assert not Path(pending.staged).exists()
    claims.close()


def test_a_refused_post_puts_the_claims_back_and_the_cli_says_so_in_one_line(
    tmp_path, clearinghouse, capsys
):
    Clearinghouse.script = ["refuse"]
    folder, config = export_folder(tmp_path), settings_file(tmp_path)
    fees = tmp_path / "fees.csv"
    fees.write_text("code,modifier,price\n99223,,900.00\n")
    args = [
        "x12",
        "837",
        "--from-ndjson",
        str(folder),
        "--post",
        clearinghouse,
        "--x12-config",
        str(config),
        "--fee-schedule",
        str(fees),
        "--ledger",
        str(tmp_path / "x12.sqlite3"),
        "--claim-ledger",
        str(tmp_path / "claims.sqlite3"),
    ]
    code = main(args)
    err = capsys.readouterr().err
    assert code != ExitCode.OK
    assert len(err.strip().splitlines()) == 1
    assert "refused the interchange: 400" in err
    with SubmissionLedger(tmp_path / "x12.sqlite3") as ledger:
        assert {s.status for s in ledger.submissions()} == {"not-submitted"}
    assert main(args) == ExitCode.OK  # the next POST is taken: they go, under a new number
    assert "claims sent to" in capsys.readouterr().out
    assert len(Clearinghouse.received) == 2


def test_plain_http_to_another_machine_is_refused(tmp_path):
    with pytest.raises(InsecureUrlError):
        HttpHandoff("http://clearinghouse.example/in", tmp_path, sender_id="S")
    assert HttpHandoff("https://clearinghouse.example/in", tmp_path).timeout.read == 60.0


def test_a_hand_off_in_flight_is_left_to_the_run_making_it(ledger, parties, tmp_path):
    outbox = tmp_path / "outbox"
    seen = []

    class Paused(OutboxHandoff):
        def publish(self, staged):
            # another run of this process starts between this one's staging and publishing
            seen.append(
                submit_837(
                    golden_source("emergency_visit"),
                    parties,
                    ledger,
                    OutboxHandoff(outbox, parties.sender_id),
                    price=chargemaster,
                )
            )
            super().publish(staged)

    mine = submit_837(
        golden_source("emergency_visit"),
        parties,
        ledger,
        Paused(outbox, parties.sender_id),
        price=chargemaster,
    )
    (claim_id,) = [c["id"] for c in golden_source("emergency_visit").claims]
    assert [f.claim_id for f in mine.sent] == [claim_id]
    (other,) = seen
    assert other.pending_elsewhere == [mine.interchange]  # not taken over, not undone
    assert other.sent == []
    assert other.already_sent == [claim_id]
    assert [e.status for e in ledger.history(claim_id)] == ["submitted"]
    assert len(_outbox_files(outbox)) == 1


def test_a_hand_off_left_for_another_destination_is_named_not_forgotten(ledger, parties, tmp_path):
    class Crashing(OutboxHandoff):
        def publish(self, staged):
            raise RuntimeError("the machine lost power")  # neither sent nor refused: staged

    first, second = tmp_path / "outbox-a", tmp_path / "outbox-b"
    with pytest.raises(RuntimeError):
        submit_837(
            golden_source("emergency_visit"),
            parties,
            ledger,
            Crashing(first, parties.sender_id),
            price=chargemaster,
        )
    (left,) = ledger.handoffs("staged")
    other = submit_837(
        golden_source("emergency_visit"),
        parties,
        ledger,
        OutboxHandoff(second, parties.sender_id),
        price=chargemaster,
    )
    assert other.other_destinations == [(left.control, str(first))]
    assert other.sent == []  # its Claim waits for that hand-off: never sent twice
    assert not second.exists() or _outbox_files(second) == []
    done = submit_837(
        golden_source("emergency_visit"),
        parties,
        ledger,
        OutboxHandoff(first, parties.sender_id),
        price=chargemaster,
    )
    assert done.finished == [left.control]
    assert _outbox_files(first) == [f"RIVERBEND_{left.control:09d}.837"]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed, and its key."""
    import datetime as dt  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_is_verified_a_self_signed_endpoint_gets_nothing(ledger, parties, tmp_path):
    import ssl  # noqa: PLC0415

    Clearinghouse.script, Clearinghouse.received = [], []
    cert_file, key_file = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Clearinghouse)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/x12/inbound"
        post = HttpHandoff(url, tmp_path / "outgoing", sender_id=parties.sender_id, timeout=5)
        report = submit_837(
            golden_source("emergency_visit"), parties, ledger, post, price=chargemaster
        )
    finally:
        server.shutdown()
        server.server_close()
    assert report.sent == []
    assert "ConnectError" in report.uncertain  # the handshake failed: certificate not trusted
    assert Clearinghouse.received == []  # not one byte of the claim went
    assert {s.status for s in ledger.submissions()} == {"sending"}  # the same goes once fixed
