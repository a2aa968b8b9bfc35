"""Sets of ICD-10-CM codes as the rule tables write them: ``E11``, ``E08-E13``, ``!Z00.6``.

A pattern is a code or category prefix (dots optional: ``N18.3`` covers ``N1830``), a range
of prefixes of one length (``I51.4-I51.7``, ``A00-B99``), or either preceded by ``!`` to
leave it out (``Z00``, ``!Z00.6``: every Z00 code but Z00.6). Matching is a few set
lookups; :attr:`CodeSet.categories` lists the 3-character categories a set can touch, so
the engine asks only the rules an encounter's codes can trigger.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CodeSet", "categories_between"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_REMEMBERED = 8192  # answers a code set keeps before starting afresh


def _dotless(text: str) -> str:
    return text.strip().replace(".", "").upper()


def categories_between(start: str, end: str) -> frozenset[str]:
    """The 3-character categories whose codes may fall between two prefixes."""
    first, last = start[:3].ljust(3, "0"), end[:3].ljust(3, "Z")
    found = {
        letter + second + third
        for letter in _ALPHABET[10:]
        if first[0] <= letter <= last[0]
        for second in _ALPHABET
        for third in _ALPHABET
    }
    return frozenset(c for c in found if first <= c <= last)


class _Part:
    """The prefixes and ranges of one side (kept or left out) of a pattern list."""

    __slots__ = ("lengths", "prefixes", "ranges")

    def __init__(self) -> None:
        self.prefixes: set[str] = set()
        self.ranges: list[tuple[int, str, str]] = []
        self.lengths: tuple[int, ...] = ()

    def add(self, pattern: str) -> frozenset[str]:
        if "-" in pattern:
            start, end = (_dotless(p) for p in pattern.split("-", 1))
            if len(start) != len(end) or start > end:
                raise ValueError(f"range {pattern!r}: both ends need the same length, in order")
            self.ranges.append((len(start), start, end))
            return categories_between(start, end)
        code = _dotless(pattern)
        if not code:
            raise ValueError("an empty code pattern")
        self.prefixes.add(code)
        self.lengths = tuple(sorted({*self.lengths, len(code)}))
        if len(code) >= 3:
            return frozenset({code[:3]})
        return categories_between(code, code)

    def matches(self, code: str) -> bool:
        prefixes = self.prefixes
        for length in self.lengths:
            if code[:length] in prefixes:
                return True
        return any(start <= code[:length] <= end for length, start, end in self.ranges)


class CodeSet:
    """A compiled list of code patterns; ``code in codes`` says whether a code belongs."""

    __slots__ = ("_kept", "_known", "_left_out", "categories", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._kept = _Part()
        self._left_out = _Part()
        touched: set[str] = set()
        for pattern in self.patterns:
            if pattern.startswith("!"):
                self._left_out.add(pattern[1:])
            else:
                touched |= self._kept.add(pattern)
        self.categories = frozenset(touched)
        # Answers already given: an encounter's codes are a few hundred distinct codes
        # asked again and again, so a dictionary answers most questions (bounded).
        self._known: dict[str, bool] = {}

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        known = self._known.get(code)
        if known is not None:
            return known
        found = self._kept.matches(code) and not (
            (self._left_out.lengths or self._left_out.ranges) and self._left_out.matches(code)
        )
        if len(self._known) >= _REMEMBERED:
            self._known.clear()
        self._known[code] = found
        return found

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"CodeSet({list(self.patterns)!r})"
