"""The envelope checks every X12 file we read passes first, with the place of each fault.

x12sdk's reader discards the ISA/GS/GE/IEA envelopes and stops at the first model that
does not validate; a payer's file can be wrong in ways neither reports with a position.
So before any transaction is read into models, the interchange is split into segments
and checked as a translator would: the ISA's fixed length and delimiters, the version,
IEA/GE/SE counts and control numbers, every ST closed by its SE, and the interchange
acknowledgments (TA1) that may follow the ISA before any group, each with its five
elements well formed. A fault is one :class:`~fhir_coder.errors.X12Error` naming the
segment and its position (segments counted from 1 at the ISA), and nothing of the file
is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from fhir_coder.errors import X12Error

__all__ = ["MAX_X12_BYTES", "Interchange", "Segment", "TransactionSet", "read_interchange"]

MAX_X12_BYTES: Final = 256 * 1024 * 1024  # a payer's largest 835s are tens of MB
_ISA_LENGTH: Final = 106
_SEGMENT_ID: Final = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_TA1_CODES: Final = frozenset({"A", "E", "R"})  # TA104: accepted, with errors, rejected
_TA1_NOTES: Final = frozenset(f"{n:03d}" for n in range(32))  # TA105: X12's 000 to 031
KNOWN_VERSIONS: Final = {
    "835": frozenset({"005010X221A1", "005010X221"}),
    "837": frozenset({"005010X222A1", "005010X223A2"}),
    "999": frozenset({"005010X231A1", "005010X231"}),
    "277": frozenset({"005010X214", "005010X212"}),
}


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its id, its elements (element 0 is the id) and its position."""

    id: str
    elements: tuple[str, ...]
    position: int

    def element(self, index: int) -> str:
        """Element ``index`` (1-based, as X12 numbers them), "" when absent."""
        return self.elements[index] if index < len(self.elements) else ""


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """One ST..SE transaction set with the version its group declared."""

    code: str  # ST01: 835, 999, 277...
    version: str  # GS08
    control_number: str  # ST02
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Interchange:
    """A whole interchange, checked: its delimiters, its segments, its transaction sets."""

    element_separator: str
    component_separator: str
    segment_terminator: str
    repetition_separator: str
    control_number: str
    segments: tuple[Segment, ...]
    transactions: tuple[TransactionSet, ...]
    acknowledgments: tuple[Segment, ...] = ()  # TA1s: interchange acknowledgments, checked


def _fail(source: str, segment: str, position: int, message: str) -> X12Error:
    return X12Error(message, source=source, segment=segment, position=position)


def _split(text: str, source: str) -> tuple[list[Segment], tuple[str, str, str, str]]:
    if not text.startswith("ISA"):
        raise _fail(source, text[:3] or "(none)", 1, "an interchange starts with ISA")
    if len(text) < _ISA_LENGTH:
        raise _fail(
            source, "ISA", 1, f"the ISA is {_ISA_LENGTH} characters; the file has {len(text)}"
        )
    element, repetition = text[3], text[82]
    component, terminator = text[104], text[105]
    if len({element, component, terminator}) < 3 or terminator.isalnum() or element.isalnum():
        raise _fail(source, "ISA", 1, "the ISA's delimiters are not distinct non-alphanumerics")
    segments: list[Segment] = []
    for raw in text.split(terminator):
        stripped = raw.strip("\r\n ")
        if not stripped:
            continue
        parts = tuple(stripped.split(element))
        position = len(segments) + 1
        if not _SEGMENT_ID.fullmatch(parts[0]):
            raise _fail(source, parts[0][:3] or "(empty)", position, "not a segment id")
        segments.append(Segment(parts[0], parts, position))
    return segments, (element, component, terminator, repetition)


def _count(source: str, segment: Segment, index: int, actual: int, what: str) -> None:
    declared = segment.element(index)
    if not declared.isdigit() or int(declared) != actual:
        raise _fail(
            source,
            segment.id,
            segment.position,
            f"{segment.id}{index:02d} says {declared or 'nothing'} {what}; there are {actual}",
        )


def _check_ta1(source: str, segment: Segment) -> None:
    """A TA1 as the standard shapes it: ISA13 acknowledged, date, time, code, note."""

    def fail(index: int, what: str) -> X12Error:
        value = segment.element(index)
        return _fail(source, "TA1", segment.position, f"TA1{index:02d} {value!r} {what}")

    if len(segment.elements) != 6:
        raise _fail(
            source,
            "TA1",
            segment.position,
            f"the TA1 has {len(segment.elements) - 1} elements, not 5",
        )
    control, day, hour = segment.element(1), segment.element(2), segment.element(3)
    if not (control.isdigit() and len(control) == 9):
        raise fail(1, "is not an interchange control number (nine digits)")
    if not (
        day.isdigit() and len(day) == 6 and 1 <= int(day[2:4]) <= 12 and 1 <= int(day[4:]) <= 31
    ):
        raise fail(2, "is not a date (YYMMDD)")
    if not (hour.isdigit() and len(hour) == 4 and int(hour[:2]) < 24 and int(hour[2:]) < 60):
        raise fail(3, "is not a time (HHMM)")
    if segment.element(4) not in _TA1_CODES:
        raise fail(4, "is not an acknowledgment code (A, E or R)")
    if segment.element(5) not in _TA1_NOTES:
        raise fail(5, "is not an interchange note code (000 to 031)")


def read_interchange(text: str, source: str) -> Interchange:  # noqa: C901, PLR0912, PLR0915
    """``text`` split and checked; :class:`X12Error` at the first fault, with its place."""
    if len(text) > MAX_X12_BYTES:
        raise _fail(source, "ISA", 1, f"the file is larger than {MAX_X12_BYTES} bytes")
    segments, (element, component, terminator, repetition) = _split(text, source)
    isa = segments[0]
    if len(isa.elements) != 17:
        raise _fail(source, "ISA", 1, f"the ISA has {len(isa.elements) - 1} elements, not 16")
    if isa.element(12) != "00501":
        raise _fail(source, "ISA", 1, f"unknown interchange version {isa.element(12)!r} (ISA12)")
    transactions: list[TransactionSet] = []
    acknowledgments: list[Segment] = []
    groups = 0
    group: Segment | None = None
    in_group = 0
    start: int | None = None
    end_seen = False
    for index, segment in enumerate(segments[1:], start=1):
        if end_seen:
            raise _fail(source, segment.id, segment.position, "a segment after the IEA")
        if segment.id == "TA1":
            if groups or start is not None:
                raise _fail(
                    source,
                    "TA1",
                    segment.position,
                    "a TA1 after a functional group (TA1s follow the ISA)",
                )
            _check_ta1(source, segment)
            acknowledgments.append(segment)
        elif segment.id == "GS":
            if group is not None:
                raise _fail(source, "GS", segment.position, "a GS inside an open group (no GE)")
            group, in_group = segment, 0
            groups += 1
        elif segment.id == "ST":
            if group is None:
                raise _fail(source, "ST", segment.position, "an ST outside a functional group")
            if start is not None:
                raise _fail(source, "ST", segment.position, "an ST before the SE of the last one")
            code = segment.element(1)
            version = group.element(8)
            known = KNOWN_VERSIONS.get(code)
            if known is None:
                raise _fail(
                    source, "ST", segment.position, f"transaction set {code!r} is not read here"
                )
            if version not in known:
                raise _fail(
                    source,
                    "GS",
                    group.position,
                    f"unknown version {version!r} for the {code} (GS08)",
                )
            start = index
        elif segment.id == "SE":
            if start is None:
                raise _fail(source, "SE", segment.position, "an SE without its ST")
            st = segments[start]
            _count(source, segment, 1, index - start + 1, "segments")
            if segment.element(2) != st.element(2):
                raise _fail(
                    source,
                    "SE",
                    segment.position,
                    f"SE02 {segment.element(2)!r} does not match ST02 {st.element(2)!r}",
                )
            assert group is not None  # noqa: S101 - an ST needs an open group
            transactions.append(
                TransactionSet(
                    st.element(1),
                    group.element(8),
                    st.element(2),
                    tuple(segments[start : index + 1]),
                )
            )
            start = None
            in_group += 1
        elif segment.id == "GE":
            if group is None or start is not None:
                raise _fail(source, "GE", segment.position, "a GE without its GS, or inside an ST")
            _count(source, segment, 1, in_group, "transaction sets")
            if segment.element(2) != group.element(6):
                raise _fail(source, "GE", segment.position, "GE02 does not match GS06")
            group = None
        elif segment.id == "IEA":
            if group is not None or start is not None:
                raise _fail(source, "IEA", segment.position, "the IEA closes an open group")
            _count(source, segment, 1, groups, "functional groups")
            if segment.element(2) != isa.element(13):
                raise _fail(source, "IEA", segment.position, "IEA02 does not match ISA13")
            end_seen = True
        elif start is None:
            raise _fail(source, segment.id, segment.position, "a segment outside any ST..SE")
    if not end_seen:
        last = segments[-1]
        raise _fail(source, last.id, last.position, "the interchange has no IEA")
    return Interchange(
        element,
        component,
        terminator,
        repetition,
        isa.element(13),
        tuple(segments),
        tuple(transactions),
        tuple(acknowledgments),
    )
