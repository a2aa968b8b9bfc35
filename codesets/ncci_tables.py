"""Everything read from a set of NCCI PTP and MUE files, and its form in the compiled cache.

:class:`NcciTables` is what :class:`codesets.ncci.NcciEdits` answers from, whether it was
just parsed (:mod:`codesets.ncci_files`) or read back from the cache
(:mod:`codesets.ncci_cache`): one :class:`~codesets.ptp_table.PtpTable` and the MUE
tables per setting, and the lines ``fhir-coder codes info`` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, cast, get_args

from codesets.ptp_table import PtpTable
from fhir_coder.ports import MueLimit, Setting

__all__ = ["CODE", "SETTINGS", "MueTable", "NcciTables"]

SETTINGS: Final[tuple[Setting, ...]] = get_args(Setting)
CODE: Final = re.compile(r"[0-9A-Z]{4}[0-9A-Z]")
"""A CPT or HCPCS code as the CMS files write it; rows without one are headings."""


@dataclass(frozen=True, slots=True)
class MueTable:
    """One MUE file: its effective date (None: always) and a limit per code."""

    effective: date | None
    limits: dict[str, MueLimit]


@dataclass(frozen=True, slots=True)
class NcciTables:
    """The PTP table and MUE tables (oldest first) of each setting, and where they came from."""

    ptp: dict[Setting, PtpTable]
    mue: dict[Setting, list[MueTable]]
    sources: list[str]

    def payload(self) -> dict[str, object]:
        """The tables as ``marshal``-able data."""
        return {
            "ptp": {setting: table.payload() for setting, table in self.ptp.items()},
            "mue": {
                setting: [
                    (
                        table.effective.toordinal() if table.effective else 0,
                        [
                            (code, limit.limit, limit.adjudication, limit.rationale)
                            for code, limit in table.limits.items()
                        ],
                    )
                    for table in tables
                ]
                for setting, tables in self.mue.items()
            },
            "sources": self.sources,
        }

    @classmethod
    def from_payload(cls, payload: object) -> NcciTables:
        """The tables :meth:`payload` wrote.

        ``ValueError``, ``TypeError`` or ``KeyError`` when ``payload`` is not such data (the
        caller then parses the files again).
        """
        if not isinstance(payload, dict):
            raise TypeError("the payload is not a dict")
        ptp = payload["ptp"]
        mue = payload["mue"]
        sources = payload["sources"]
        if not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
            raise TypeError("sources is not a list of strings")
        return cls(
            ptp={setting: PtpTable.from_payload(setting, ptp[setting]) for setting in SETTINGS},
            mue={setting: [_mue_table(setting, t) for t in mue[setting]] for setting in SETTINGS},
            sources=sources,
        )


def _mue_table(setting: Setting, stored: tuple[int, list[tuple[str, int, int, str]]]) -> MueTable:
    effective, rows = stored
    limits: dict[str, MueLimit] = {}
    for code, limit, adjudication, rationale in rows:
        if adjudication not in (1, 2, 3):
            raise ValueError(f"MUE adjudication indicator {adjudication!r}")
        limits[code] = MueLimit(
            code=code,
            limit=limit,
            adjudication=cast("Literal[1, 2, 3]", adjudication),
            rationale=rationale,
            setting=setting,
        )
    return MueTable(date.fromordinal(effective) if effective else None, limits)
