"""Synthetic CMS NCCI PTP and MUE files in every variant the loader accepts, and a reference.

The reference reads the same files the most direct way (the whole text, ``csv`` on every
line, one dataclass per row in a dict of lists, as fhir-coder did before the tables were
compacted), so the compact tables can be held to exactly its answers.
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, cast

from codesets.ncci import setting_of
from fhir_coder.ports import MueLimit, PtpEdit, Setting

CODE = re.compile(r"[0-9A-Z]{4}[0-9A-Z]")
EFFECTIVE = ("", "19960101", "20150101", "20200101", "20230401", "20250701", "20260101")
DELETED = ("*", "*", "*", "20171231", "20221231", "20250630", "20260331")
RATIONALES = (
    "Misuse of column two code with column one code",
    "Standards of medical / surgical services",
    "Mutually exclusive procedures",
    "CPT Manual or CMS manual coding instruction",
    "Synthetic rationale \x85 with a latin-1 next-line in it",
    "",
)
QUOTED = ("Quoted, with a comma", 'Said "twice", quoted')
HEADING = "CPT codes and descriptions only are copyright American Medical Association (synthetic)\n"
COLUMNS = ("Column 1", "Column 2", "*", "Effective Date", "Deletion Date", "Modifier", "Why")


def codes(rng: random.Random, count: int) -> list[str]:
    """CPT- and HCPCS-shaped codes."""
    found: set[str] = set()
    while len(found) < count:
        shape = rng.random()
        if shape < 0.7:
            found.add(f"{rng.randrange(10000, 99999)}")
        elif shape < 0.9:
            found.add(f"{rng.choice('AGJL')}{rng.randrange(1000, 9999)}")
        else:
            found.add(f"{rng.randrange(1, 999):04d}{rng.choice('UT')}")
    return sorted(found)


def _ptp_row(first: str, second: str, rng: random.Random, *, quoted: bool) -> list[str]:
    rationales = RATIONALES + QUOTED if quoted else RATIONALES
    row = [
        first,
        second,
        rng.choice(("", "", "*")),
        rng.choice(EFFECTIVE),
        rng.choice(DELETED),
        rng.choice("0111119"),
        rng.choice(rationales),
    ]
    if rng.random() < 0.05:
        row = [f" {cell} " for cell in row]  # cells padded with blanks
    if rng.random() < 0.05:
        row = row[:6]  # no rationale column
    return row


def write_ptp(folder: Path, rng: random.Random, pool: list[str], rows: int) -> None:
    """Four PTP files, two per setting (by name and by folder), TSV and quoted CSV.

    Pairs recur within and across the files of a setting, with other dates (some ranges
    overlap, so the order of the files decides), other modifier indicators and rationales.
    """
    pairs = [(a, b) for a, b in (rng.sample(pool, 2) for _ in range(rows // 2))]
    layout: list[tuple[Path, str, bool]] = [
        (folder / "ccipra-v321r0-f1.txt", "\n", False),
        (folder / "practitioner" / "edits-second.tsv", "\r\n", False),
        (folder / "ccioph-v321r0-f1.csv", "\r\n", True),
        (folder / "hospital" / "Edits.TXT", "\n", False),
    ]
    for path, newline, quoted in layout:
        path.parent.mkdir(parents=True, exist_ok=True)
        chosen = [rng.choice(pairs) for _ in range(rows // len(layout))]
        lines = [_ptp_row(a, b, rng, quoted=quoted) for a, b in chosen]
        lines.insert(rng.randrange(len(lines)), ["not a code", "99213", "", "", "*", "1", ""])
        lines.append(["", "", "", "", "", "", ""])
        if quoted:
            with path.open("w", encoding="latin-1", newline="") as out:
                out.write(HEADING)
                writer = csv.writer(out, lineterminator=newline)
                writer.writerow(COLUMNS)
                writer.writerows(lines)
        else:
            text = HEADING + "\t".join(COLUMNS) + newline
            text += "".join("\t".join(line) + newline for line in lines)
            path.write_bytes(text.encode("latin-1"))


def write_mue(folder: Path, rng: random.Random, pool: list[str]) -> None:
    """Dated MUE files of both settings, one undated, CSV and tab-separated."""
    indicators = (
        "1 Line Edit",
        "2 Date of Service Edit: Policy",
        "3 Date of Service Edit: Clinical",
    )
    layout = [
        (folder / "MCR_MUE_PractitionerServices_Eff_2025-01-01.csv", ","),
        (folder / "MCR_MUE_PractitionerServices_Eff_2026-01-01.txt", "\t"),
        (folder / "MCR_MUE_OutpatientHospitalServices_Eff_20250701.csv", ","),
        (folder / "hospital" / "undated-limits.csv", ","),
    ]
    for path, delimiter in layout:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            "Synthetic MUE table",
            delimiter.join(("HCPCS/CPT Code", "MUE Values", "MAI", "Why")),
        ]
        for code in rng.sample(pool, len(pool) // 2) + rng.sample(pool, 5):  # 5 repeated
            rationale = rng.choice(("Clinical: Data", "Nature of Service/Procedure", ""))
            lines.append(
                delimiter.join((code, str(rng.randrange(0, 40)), rng.choice(indicators), rationale))
            )
        path.write_text("\n".join(lines) + "\n", encoding="latin-1")


def write_files(root: Path, seed: int, *, rows: int = 4000) -> tuple[Path, Path, list[str]]:
    """The PTP and MUE folders under ``root``, and the codes they use."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic files
    pool = codes(rng, 300)
    write_ptp(root / "ptp", rng, pool, rows)
    write_mue(root / "mue", rng, pool)
    return root / "ptp", root / "mue", pool


def query_dates() -> list[date]:
    """Every date the files name, the days either side, and dates outside them all."""
    days = {date(1995, 6, 1), date(2030, 1, 1)}
    for text in EFFECTIVE[1:] + DELETED[3:] + ("20250101", "20250701"):
        day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        days.update((day - timedelta(days=1), day, day + timedelta(days=1)))
    return sorted(days)


@dataclass
class Reference:
    """The straightforward reading of the same files."""

    rows: dict[tuple[str, str, Setting], list[PtpEdit]] = field(default_factory=dict)
    files: dict[Setting, list[tuple[date | None, dict[str, MueLimit]]]] = field(
        default_factory=lambda: {"practitioner": [], "hospital": []}
    )

    def ptp_edit(self, column1: str, column2: str, on: date, setting: Setting) -> PtpEdit | None:
        key = (column1.strip().upper(), column2.strip().upper(), setting)
        for edit in self.rows.get(key, ()):
            if edit.effective <= on and (edit.deleted is None or on <= edit.deleted):
                return edit
        return None

    def mue(self, code: str, on: date, setting: Setting) -> MueLimit | None:
        in_force = [limits for day, limits in self.files[setting] if day is None or day <= on]
        return in_force[-1].get(code.strip().upper()) if in_force else None


def _lines(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="latin-1").splitlines()
    delimiter = "\t" if any("\t" in line for line in lines[:50]) else ","
    return [[cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter)]


def _day(text: str) -> date | None:
    return None if text in ("", "*") else date(int(text[:4]), int(text[4:6]), int(text[6:]))


def reference(ptp_dir: Path, mue_dir: Path) -> Reference:
    """Read both folders the direct way."""
    found = Reference()
    grouped: dict[tuple[str, str, Setting], list[PtpEdit]] = defaultdict(list)
    for path in sorted(p for p in ptp_dir.rglob("*") if p.is_file()):
        setting = setting_of(path)
        for cells in _lines(path):
            if len(cells) < 6 or not (CODE.fullmatch(cells[0]) and CODE.fullmatch(cells[1])):
                continue
            grouped[(cells[0], cells[1], setting)].append(
                PtpEdit(
                    column1=cells[0],
                    column2=cells[1],
                    modifier_indicator=cast("Literal['0', '1', '9']", cells[5]),
                    effective=_day(cells[3]) or date(1996, 1, 1),
                    deleted=_day(cells[4]),
                    rationale=cells[6] if len(cells) > 6 else "",
                    setting=setting,
                )
            )
    found.rows = dict(grouped)
    for path in sorted(p for p in mue_dir.rglob("*") if p.is_file()):
        setting = setting_of(path)
        named = re.search(r"(20\d\d)-?(\d\d)-?(\d\d)", path.name)
        limits: dict[str, MueLimit] = {}
        for cells in _lines(path):
            if len(cells) < 3 or not CODE.fullmatch(cells[0]) or not cells[1].isdigit():
                continue
            limits[cells[0]] = MueLimit(
                code=cells[0],
                limit=int(cells[1]),
                adjudication=cast("Literal[1, 2, 3]", int(cells[2][0])),
                rationale=cells[3] if len(cells) > 3 else "",
                setting=setting,
            )
        day = date(*(int(part) for part in named.groups())) if named else None
        found.files[setting].append((day, limits))
    for tables in found.files.values():
        tables.sort(key=lambda table: table[0] or date.min)
    return found
