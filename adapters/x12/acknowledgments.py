"""TA1, 999 and 277CA acknowledgments: did our 837 arrive, was it accepted, which claims not.

Neither transaction has an x12sdk model (its 277 is the X212 status response, not the
X214 claim acknowledgment; there is no 999), so they are read from the checked segments
(:mod:`adapters.x12.syntax`), which is reading, not writing, X12. A rejection here is not
a denial: the payer never adjudicated the claim; it is fixed and sent again.

- 999: AK2 names our transaction set (ST02) and IK5/AK9 accept (A, E) or reject (R, M,
  W, X) it; a rejected transaction set rejects every claim of the interchange it was in.
- 277CA: each claim's TRN02 is our patient control number, STC01-1 its category
  (A1/A2 accepted, A3/A4/A6/A7/A8 rejected or returned) and status code, REF*1K the
  payer's claim control number.
- TA1: the envelope itself. TA101 names our interchange (ISA13), TA104 accepts (A),
  accepts with errors (E) or rejects (R) it whole, TA105 is the note code. A rejected
  interchange never reached the payer's translator: none of its claims was received.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from adapters.x12.syntax import Interchange, TransactionSet

__all__ = ["Acknowledgment", "InterchangeAck", "read_277ca", "read_999", "read_ta1"]

_ACCEPTED_277: Final = frozenset({"A0", "A1", "A2", "A5"})
_REJECTED_999: Final = frozenset({"R", "M", "W", "X"})


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """One claim's (277CA) or one transaction set's (999) acceptance or rejection."""

    kind: str  # "277CA" or "999"
    accepted: bool
    pcn: str = ""  # the claim (277CA)
    transaction: str = ""  # the transaction set control number acknowledged (999)
    interchange: str = ""  # the group control number (999 AK1-2)
    codes: tuple[str, ...] = ()  # STC category:status codes, or IK5/AK9 codes
    payer_claim_number: str = ""


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """One TA1: an interchange of ours accepted or rejected whole."""

    control: int  # TA101: the ISA13 acknowledged
    date: str  # TA102 YYMMDD
    time: str  # TA103 HHMM
    code: str  # TA104: A, E or R
    note: str  # TA105: 000 (no error) to 031
    position: int  # where the TA1 is in the file

    @property
    def accepted(self) -> bool:
        """Whether the interchange was taken (E: taken, with errors noted)."""
        return self.code in ("A", "E")


def read_ta1(checked: Interchange) -> list[InterchangeAck]:
    """Every TA1 of an interchange (already checked by :mod:`adapters.x12.syntax`)."""
    return [
        InterchangeAck(
            control=int(segment.element(1)),
            date=segment.element(2),
            time=segment.element(3),
            code=segment.element(4),
            note=segment.element(5),
            position=segment.position,
        )
        for segment in checked.acknowledgments
    ]


def read_999(checked: Interchange) -> list[Acknowledgment]:
    """One :class:`Acknowledgment` per transaction set a 999 speaks of."""
    out: list[Acknowledgment] = []
    for transaction in _of(checked, "999"):
        group = ""
        current = ""
        for segment in transaction.segments:
            if segment.id == "AK1":
                group = segment.element(2)
            elif segment.id == "AK2":
                current = segment.element(2)
            elif segment.id == "IK5" and current:
                code = segment.element(1)
                out.append(
                    Acknowledgment(
                        "999",
                        accepted=code not in _REJECTED_999,
                        transaction=current,
                        interchange=group,
                        codes=tuple(c for c in segment.elements[1:] if c),
                    )
                )
                current = ""
    return out


def read_277ca(checked: Interchange) -> list[Acknowledgment]:
    """One :class:`Acknowledgment` per claim (patient level, HL03 PT) a 277CA speaks of."""
    out: list[Acknowledgment] = []
    component = checked.component_separator
    for transaction in _of(checked, "277"):
        claims: list[dict[str, Any]] = []
        for segment in transaction.segments:
            if segment.id == "HL":
                claims.append(
                    {"claim": segment.element(3) == "PT", "pcn": "", "codes": [], "k": ""}
                )
            elif not claims or not claims[-1]["claim"]:
                continue
            elif segment.id == "TRN" and segment.element(1) == "2":
                claims[-1]["pcn"] = segment.element(2)
            elif segment.id == "STC":
                claims[-1]["codes"].append(segment.element(1))
            elif segment.id == "REF" and segment.element(1) == "1K":
                claims[-1]["k"] = segment.element(2)
        out.extend(
            Acknowledgment(
                "277CA",
                accepted={c.split(component)[0] for c in claim["codes"]} <= _ACCEPTED_277,
                pcn=claim["pcn"],
                codes=tuple(claim["codes"]),
                payer_claim_number=claim["k"],
            )
            for claim in claims
            if claim["claim"] and claim["pcn"] and claim["codes"]
        )
    return out


def _of(checked: Interchange, code: str) -> list[TransactionSet]:
    return [t for t in checked.transactions if t.code == code]
