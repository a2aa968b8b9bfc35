"""The organisation's NDC to HCPCS crosswalk: which drug code bills a National Drug Code.

CMS publishes one with its quarterly ASP pricing files (``NDC-HCPCS crosswalk``, CSV): one
row per NDC with the HCPCS code, its short description, the HCPCS dosage descriptor
(``10 MG``: one billing unit) and package facts. Columns are found by name, so the yearly
renames (``_2026_CODE``, ``NDC2``) need no change: the HCPCS code is the column named
``HCPCS`` or ``_YYYY_CODE``, the NDC the first whose name holds ``NDC``, the dosage the one
holding ``DOSAGE``. NDCs are compared as the 11 digits CMS writes
(:func:`fhir_coder.systems.normalise_ndc`). Configured with ``CrosswalkRegistry(ndc_hcpcs=)``
or ``$FHIR_CODER_NDC_HCPCS_FILE``; without it, drugs are not billed and the engine says so.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import NoTarget, Translation
from fhir_coder.systems import HCPCS, NDC, canonical_system, normalise_ndc

__all__ = ["NDC_HCPCS_ENV", "NdcHcpcsCrosswalk", "NdcRow"]

NDC_HCPCS_ENV: Final = "FHIR_CODER_NDC_HCPCS_FILE"
_CODE_COLUMN: Final = re.compile(r"(?:_?\d{4}_CODE|HCPCS(?:\s*CODE)?)", re.IGNORECASE)
_HCPCS_SHAPE: Final = re.compile(r"[A-Z]\d{4}")


@dataclass(frozen=True, slots=True)
class NdcRow:
    """One NDC's HCPCS code and the dosage one billing unit stands for."""

    hcpcs: str
    description: str
    dosage: str


class NdcHcpcsCrosswalk:
    """NDC -> HCPCS from the organisation's copy of CMS's crosswalk (CSV)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.rows: dict[str, NdcRow] = {}
        try:
            text = self.path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the NDC-HCPCS crosswalk {path}: {exc}") from exc
        lines = text.splitlines()
        start = next(
            (n for n, line in enumerate(lines) if "NDC" in line.upper() and "," in line), None
        )
        if start is None:
            raise ConfigurationError(f"{path}: no heading row naming an NDC column")
        reader = csv.DictReader(lines[start:])
        names = reader.fieldnames or []
        code = next((n for n in names if _CODE_COLUMN.fullmatch(n.strip())), None)
        ndc = next((n for n in names if "NDC" in n.upper()), None)
        if code is None or ndc is None:
            raise ConfigurationError(
                f"{path}: the heading row needs a HCPCS (or _YYYY_CODE) and an NDC column"
            )
        dosage = next((n for n in names if "DOSAGE" in n.upper()), None)
        short = next((n for n in names if "DESCRIPTION" in n.upper()), None)
        for row in reader:
            hcpcs = (row.get(code) or "").strip().upper()
            key = normalise_ndc(row.get(ndc) or "")
            if key is None or not _HCPCS_SHAPE.fullmatch(hcpcs):
                continue
            self.rows.setdefault(
                key,
                NdcRow(
                    hcpcs,
                    (row.get(short) or "").strip() if short else "",
                    (row.get(dosage) or "").strip() if dosage else "",
                ),
            )
        if not self.rows:
            raise ConfigurationError(f"{path}: no row with an NDC and a HCPCS code")

    def __len__(self) -> int:
        return len(self.rows)

    def translate(
        self,
        system: str,
        code: str,
        target: str,
        *,
        on: date,  # noqa: ARG002 - the port's signature
        age: int | None = None,  # noqa: ARG002
        sex: str | None = None,  # noqa: ARG002
    ) -> tuple[Translation, ...]:
        """The HCPCS code for an NDC, for review: the units depend on the dose given."""
        if canonical_system(system) != NDC or canonical_system(target) != HCPCS:
            return ()
        key = normalise_ndc(code)
        found = self.rows.get(key) if key else None
        if found is None:
            return ()
        return (
            Translation(
                system=HCPCS,
                code=found.hcpcs,
                display=found.description,
                rule=f"NDC {key} -> {found.hcpcs} (one unit: {found.dosage or 'not stated'})",
                source=f"NDC-HCPCS crosswalk {self.path.name}",
                needs_review=True,
                equivalence="equivalent",
            ),
        )

    def dosage(self, code: str) -> str:
        """The HCPCS dosage descriptor for an NDC ('' when unknown)."""
        key = normalise_ndc(code)
        found = self.rows.get(key) if key else None
        return found.dosage if found else ""

    def no_target(self, system: str, code: str, target: str) -> NoTarget | None:
        """An NDC the crosswalk does not list: a coder decides whether it is billed."""
        if canonical_system(system) != NDC or canonical_system(target) != HCPCS:
            return None
        key = normalise_ndc(code)
        if key is not None and key in self.rows:
            return None
        return NoTarget(
            reason=f"NDC {code} is not in the NDC-HCPCS crosswalk {self.path.name} (a drug "
            "without a separately payable HCPCS code, or a newer package)",
            reported=True,
            rule=f"ndc-hcpcs:{code}",
            source=self.path.name,
        )
