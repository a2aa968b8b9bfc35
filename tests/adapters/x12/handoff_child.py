"""A run of ``submit_837`` that is SIGKILLed at a chosen step (for test_handoff.py).

``python -m tests.adapters.x12.handoff_child LEDGER CLAIMS OUTBOX STEP``: STEP is
``stage`` (killed as it starts writing the staged copy), ``publish`` (killed with the
staged copy written, before it is published) or ``published`` (killed right after the
rename into the outbox, before anything is recorded). The kill is a real SIGKILL of this
process: no ``finally`` runs, no buffer is flushed.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from adapters.storage import is_postgres_url
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12.handoff import OutboxHandoff
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.parties import X12Parties
from adapters.x12.submit import submit_837
from tests.adapters.x12.conftest import PARTIES, chargemaster
from tests.adapters.x12.golden_claims import golden_source


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KilledOutbox(OutboxHandoff):
    """The outbox, with this process killed at ``step``."""

    def __init__(self, folder: Path, sender_id: str, step: str) -> None:
        super().__init__(folder, sender_id)
        self.step = step

    def stage(self, control, text):  # type: ignore[no-untyped-def]
        if self.step == "stage":
            _die()
        return super().stage(control, text)

    def publish(self, staged):  # type: ignore[no-untyped-def]
        if self.step == "publish":
            _die()
        super().publish(staged)
        if self.step == "published":
            _die()


def main(argv: list[str]) -> None:
    """Submit the golden Claims to the outbox, dying at the step named."""
    ledger_target, claims_target, outbox, step = argv
    parties = X12Parties(**PARTIES)  # type: ignore[arg-type]
    target = ledger_target if is_postgres_url(ledger_target) else Path(ledger_target)
    claims = claims_target if is_postgres_url(claims_target) else Path(claims_target)
    with SubmissionLedger(target) as ledger, ClaimLedger(claims) as claim_ledger:
        submit_837(
            golden_source("emergency_visit", "inpatient_stay"),
            parties,
            ledger,
            KilledOutbox(Path(outbox), parties.sender_id, step),
            claim_ledger=claim_ledger,
            price=chargemaster,
        )
    sys.exit(3)  # not killed: the test fails on this code


if __name__ == "__main__":
    main(sys.argv[1:])
