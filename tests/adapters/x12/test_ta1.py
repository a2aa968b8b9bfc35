"""TA1 interchange acknowledgments, hand-made: accepted, rejected whole, and malformed.

A TA1 is about our interchange (ISA13), not a claim: it is kept apart from 999s and
277CAs; a rejection puts every Claim of the interchange back to ``not-submitted`` with the
note code, so the next ``x12 837`` sends them again; a malformed TA1 is one line naming the
segment and its position, and nothing of its file is recorded.
"""

from __future__ import annotations

import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12.intake import record_x12_text
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.submit import write_837
from fhir_coder.errors import X12Error
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.test_handoff import SOURCE, _written

ISA = (
    "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*RIVERBEND      *261208*1200*^*00501*"
    "{control:09d}*0*P*:~"
)


def ta1_file(*ta1s: str, control: int = 900, groups: str = "", iea_groups: int = 0) -> str:
    """An interchange of the clearinghouse's holding ``ta1s`` (and ``groups``, if any)."""
    isa = ISA.format(control=control)
    assert len(isa) == 106
    body = "".join(f"{segment}~\n" for segment in ta1s)
    return f"{isa}\n{body}{groups}IEA*{iea_groups}*{control:09d}~\n"


def ta1(control: int, code: str = "A", note: str = "000") -> str:
    return f"TA1*{control:09d}*261208*1159*{code}*{note}"


@pytest.fixture
def sent(parties, ledger, tmp_path):
    """The golden visit and stay, submitted in one interchange (marked in the Claim ledger)."""
    claims = ClaimLedger(tmp_path / "claims.sqlite3")
    source = golden_source("emergency_visit", "inpatient_stay")
    _written(claims, [c["id"] for c in source.claims])
    report = write_837(
        source, parties, ledger, out=tmp_path / "sent.837", claim_ledger=claims, price=chargemaster
    )
    yield report, claims
    claims.close()


def counts(ledger):
    return {t: ledger.count(t) for t in ("interchange_acks", "intakes", "events")}


def test_an_accepted_interchange_is_a_step_of_each_claim_not_a_status(sent, ledger):
    report, _ = sent
    answer = record_x12_text(ta1_file(ta1(report.interchange)), ledger, source="ta1.x12")
    assert answer.kind == "TA1"
    assert answer.interchanges == {str(report.interchange): "accepted"}
    for facts in report.sent:
        steps = ledger.history(facts.claim_id)
        assert [e.status for e in steps] == ["submitted", "interchange-accepted"]
        assert steps[-1].source == "TA1"
        assert steps[-1].detail == {"interchange": report.interchange, "ta1": "A", "note": "000"}
        assert ledger.submission(facts.claim_id).status == "submitted"
    assert ledger.count("interchange_acks") == 1
    assert ledger.remit_lines(report.sent[0].claim_id) == []


def test_a_rejected_interchange_puts_its_claims_back_and_they_go_again(
    sent, ledger, parties, tmp_path
):
    report, claims = sent
    text = ta1_file(ta1(report.interchange, "R", "006"))
    answer = record_x12_text(text, ledger, source="ta1.x12", claim_ledger=claims)
    ids = sorted(f.claim_id for f in report.sent)
    assert answer.interchanges == {str(report.interchange): "rejected"}
    assert answer.statuses == dict.fromkeys(ids, "not-submitted")
    for claim_id in ids:
        last = ledger.history(claim_id)[-1]
        assert (last.status, last.source, last.detail["note"]) == ("not-submitted", "TA1", "006")
        assert str(report.interchange) in last.detail["reason"]
        # the payer never had it: no longer submitted in the Claim ledger either (an update,
        # not a replacement, if the encounter is recoded)
        assert not claims.entry(SOURCE, claim_id).submitted
    assert answer.rejections == {}  # not a claim's rejection: no work item per claim
    # the same file again records nothing
    again = record_x12_text(text, ledger, source="ta1.x12", claim_ledger=claims)
    assert again.already_recorded
    assert ledger.count("interchange_acks") == 1
    # the next 837 sends them again, in a new interchange, and marks them submitted
    resent = write_837(
        golden_source("emergency_visit", "inpatient_stay"),
        parties,
        ledger,
        out=tmp_path / "resent.837",
        claim_ledger=claims,
        price=chargemaster,
    )
    assert sorted(f.claim_id for f in resent.sent) == ids
    assert resent.interchange != report.interchange
    for claim_id in ids:
        assert [e.status for e in ledger.history(claim_id)] == [
            "submitted",
            "not-submitted",
            "submitted",
        ]
        assert claims.entry(SOURCE, claim_id).submitted
    # a late TA1 about the first interchange touches none of them now
    late = record_x12_text(
        ta1_file(ta1(report.interchange, "R", "024"), control=901), ledger, source="late.x12"
    )
    assert late.statuses == {}
    assert {ledger.submission(i).status for i in ids} == {"submitted"}


def test_a_ta1_beside_a_999_is_kept_apart_from_it(sent, ledger):
    report, _ = sent
    visit = next(f for f in report.sent if f.kind == "professional")
    group, transaction = ledger.submission(visit.claim_id).batch.split(":")
    groups = (
        "GS*FA*CLEARHOUSE*RIVERBEND*20261208*1200*902*X*005010X231A1~\n"
        "ST*999*0001*005010X231A1~\n"
        f"AK1*HC*{group}*005010X222A1~\n"
        f"AK2*837*{transaction}*005010X222A1~\n"
        "IK5*A~\n"
        "AK9*A*1*1*1~\n"
        "SE*6*0001~\n"
        "GE*1*902~\n"
    )
    text = ta1_file(ta1(report.interchange), control=902, groups=groups, iea_groups=1)
    answer = record_x12_text(text, ledger, source="ack.x12")
    assert answer.kind == "999"
    assert answer.interchanges == {str(report.interchange): "accepted"}
    steps = [(e.status, e.source) for e in ledger.history(visit.claim_id)]
    assert steps == [("submitted", "837"), ("interchange-accepted", "TA1"), ("acknowledged", "999")]
    assert ledger.count("interchange_acks") == 1


def test_a_ta1_for_an_interchange_not_ours_is_reported_and_kept(sent, ledger):
    answer = record_x12_text(ta1_file(ta1(777_777)), ledger, source="ta1.x12")
    assert answer.unknown_interchanges == [777_777]
    assert answer.interchanges == {}
    assert ledger.count("interchange_acks") == 1


MALFORMED = [
    pytest.param(
        lambda n: ta1_file(f"TA1*{n:09d}*261208*1159*A"),
        "TA1",
        2,
        "has 4 elements, not 5",
        id="four-elements",
    ),
    pytest.param(
        lambda n: ta1_file(f"TA1*{n}*261208*1159*A*000"),
        "TA1",
        2,
        "TA101",
        id="control-not-nine-digits",
    ),
    pytest.param(
        lambda n: ta1_file(f"TA1*{n:09d}*261399*1159*A*000"), "TA1", 2, "TA102", id="bad-date"
    ),
    pytest.param(
        lambda n: ta1_file(f"TA1*{n:09d}*261208*2575*A*000"), "TA1", 2, "TA103", id="bad-time"
    ),
    pytest.param(
        lambda n: ta1_file(f"TA1*{n:09d}*261208*1159*X*000"),
        "TA1",
        2,
        "TA104 'X' is not an acknowledgment code",
        id="bad-code",
    ),
    pytest.param(
        lambda n: ta1_file(f"TA1*{n:09d}*261208*1159*R*099"),
        "TA1",
        2,
        "TA105 '099' is not an interchange note code",
        id="bad-note",
    ),
    pytest.param(  # a good TA1 then a bad one: neither is recorded
        lambda n: ta1_file(ta1(n), f"TA1*{n:09d}*261208*1159*R*1"),
        "TA1",
        3,
        "TA105",
        id="second-bad",
    ),
    pytest.param(
        lambda n: ta1_file(ta1(n), iea_groups=1),
        "IEA",
        3,
        "IEA01 says 1 functional groups; there are 0",
        id="iea-count",
    ),
    pytest.param(
        lambda n: ta1_file(ta1(n)).replace(f"IEA*0*{900:09d}", "IEA*0*000000901"),
        "IEA",
        3,
        "IEA02 does not match ISA13",
        id="iea-control",
    ),
    pytest.param(
        lambda n: ta1_file(
            groups=(
                "GS*FA*CLEARHOUSE*RIVERBEND*20261208*1200*903*X*005010X231A1~\n"
                "ST*999*0001*005010X231A1~\nAK1*HC*1*005010X222A1~\nAK9*A*0*0*0~\n"
                "SE*4*0001~\nGE*1*903~\n"
                f"{ta1(n)}~\n"
            ),
            iea_groups=1,
        ),
        "TA1",
        8,
        "a TA1 after a functional group",
        id="after-a-group",
    ),
    pytest.param(lambda _n: ta1_file(), "IEA", 2, "no transaction set and no TA1", id="empty"),
]


@pytest.mark.parametrize(("make", "segment", "position", "words"), MALFORMED)
def test_a_malformed_ta1_is_one_error_naming_its_place_and_nothing_is_recorded(
    sent, ledger, make, segment, position, words
):
    report, claims = sent
    before = counts(ledger)
    with pytest.raises(X12Error) as caught:
        record_x12_text(make(report.interchange), ledger, source="bad.ta1", claim_ledger=claims)
    message = str(caught.value)
    assert (caught.value.segment, caught.value.position) == (segment, position), message
    assert words in message
    assert "\n" not in message
    assert counts(ledger) == before
    assert {ledger.submission(f.claim_id).status for f in report.sent} == {"submitted"}
    assert all(claims.entry(SOURCE, f.claim_id).submitted for f in report.sent)


def test_the_cli_reads_a_ta1_and_says_what_it_rejected(parties, tmp_path, capsys):
    target, claims_file = tmp_path / "x12.sqlite3", tmp_path / "claims.sqlite3"
    with SubmissionLedger(target) as ledger:
        report = write_837(
            golden_source("emergency_visit"),
            parties,
            ledger,
            out=tmp_path / "sent.837",
            price=chargemaster,
        )
    good = tmp_path / "ta1.x12"
    good.write_text(ta1_file(ta1(report.interchange, "R", "025")))
    common = ["--ledger", str(target), "--claim-ledger", str(claims_file), "--no-work"]
    code = main(["x12", "835", str(good), *common])
    printed = capsys.readouterr().out
    assert code == ExitCode.FINDINGS
    assert f"interchange {report.interchange} rejected (TA1)" in printed
    bad = tmp_path / "bad.x12"
    bad.write_text(ta1_file(f"TA1*{report.interchange:09d}*261208*1159*Q*000"))
    code = main(["x12", "835", str(bad), *common])
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.X12_INVALID
    assert len(err.splitlines()) == 1
    assert "segment TA1 at position 2" in err
