"""The crosswalk the coding engine asks: NLM's map when configured, else the curated one.

:class:`CrosswalkRegistry` implements :class:`fhir_coder.ports.CrosswalkPort`. For
SNOMED CT -> ICD-10-CM it answers from the NLM map when the organisation configured one
(``snomed_map=`` or ``$FHIR_CODER_SNOMED_MAP``) and the map knows the concept; otherwise
from the ConceptMaps: the extra ones configured (``conceptmaps=`` or
``$FHIR_CODER_CONCEPTMAPS``, paths separated by the OS path separator), then the curated
one shipped in ``codesets/data``. Loading is cheap (the curated map is ~50 kB of JSON);
an NLM map takes a second or two and is read once per registry.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from codesets.conceptmap import CURATED_PATHS, ConceptMapCrosswalk
from codesets.ndc_hcpcs import NDC_HCPCS_ENV, NdcHcpcsCrosswalk
from codesets.nlm_map import NlmMap
from fhir_coder.ports import NoTarget, Translation
from fhir_coder.systems import HCPCS, ICD10CM, NDC, SNOMED, canonical_system

__all__ = [
    "CONCEPTMAPS_ENV",
    "SNOMED_MAP_ENV",
    "CrosswalkInfo",
    "CrosswalkRegistry",
    "default_crosswalks",
]

_MEMO_LIMIT: Final = 20_000
"""Translations kept per registry before the memo starts again."""

SNOMED_MAP_ENV: Final = "FHIR_CODER_SNOMED_MAP"
CONCEPTMAPS_ENV: Final = "FHIR_CODER_CONCEPTMAPS"


@dataclass(frozen=True, slots=True)
class CrosswalkInfo:
    """One loaded crosswalk: what it is and how many source concepts it knows."""

    name: str
    source: str
    concepts: int


class CrosswalkRegistry:
    """Implements :class:`fhir_coder.ports.CrosswalkPort` over the configured crosswalks."""

    def __init__(
        self,
        *,
        snomed_map: Path | str | None = None,
        conceptmaps: Sequence[Path | str] | None = None,
        curated: bool = True,
        ndc_hcpcs: Path | str | None = None,
    ) -> None:
        if snomed_map is None:
            snomed_map = os.environ.get(SNOMED_MAP_ENV) or None
        if conceptmaps is None:
            configured = os.environ.get(CONCEPTMAPS_ENV, "")
            conceptmaps = [part for part in configured.split(os.pathsep) if part]
        self.nlm = NlmMap(snomed_map) if snomed_map else None
        if ndc_hcpcs is None:
            ndc_hcpcs = os.environ.get(NDC_HCPCS_ENV) or None
        self.ndc = NdcHcpcsCrosswalk(ndc_hcpcs) if ndc_hcpcs else None
        self.extra = ConceptMapCrosswalk(conceptmaps, rule_prefix="conceptmap")
        self.curated = (
            ConceptMapCrosswalk(CURATED_PATHS, rule_prefix="curated") if curated else None
        )
        # Answers as asked (before canonical systems are worked out and each map is asked
        # whether it knows the concept): no map's answer depends on the date, and a feed
        # asks for the same concepts, ages and sexes over and over.
        self._answers: dict[tuple[str, str, str, int | None, str | None], tuple[Translation, ...]]
        self._answers = {}
        self._no_targets: dict[tuple[str, str, str], NoTarget | None] = {}

    def translate(
        self,
        system: str,
        code: str,
        target: str,
        *,
        on: date,
        age: int | None = None,
        sex: str | None = None,
    ) -> tuple[Translation, ...]:
        """Targets in ``target`` for ``system|code``, best first; empty when unmapped."""
        asked = (system, code, target, age, sex)
        found = self._answers.get(asked)
        if found is None:
            found = self._translate(system, code, target, on=on, age=age, sex=sex)
            if len(self._answers) >= _MEMO_LIMIT:
                self._answers.clear()
            self._answers[asked] = found
        return found

    def _translate(
        self, system: str, code: str, target: str, *, on: date, age: int | None, sex: str | None
    ) -> tuple[Translation, ...]:
        system, target, code = canonical_system(system), canonical_system(target), code.strip()
        if self.nlm is not None and system == SNOMED and target == ICD10CM and self.nlm.knows(code):
            return self.nlm.translate(system, code, target, on=on, age=age, sex=sex)
        if system == NDC and target == HCPCS and self.ndc is not None:
            return self.ndc.translate(system, code, target, on=on, age=age, sex=sex)
        for crosswalk in self._conceptmaps():
            if crosswalk.knows(system, code, target):
                return crosswalk.translate(system, code, target, on=on, age=age, sex=sex)
        return ()

    def unmapped_reason(self, system: str, code: str, target: str) -> str | None:
        """Why a concept the crosswalks know has no target, or None."""
        found = self.no_target(system, code, target)
        return found.reason if found is not None else None

    def no_target(self, system: str, code: str, target: str) -> NoTarget | None:
        """The answer of the first crosswalk that knows the concept, when it has no target.

        Kept as asked, like :meth:`translate`'s answers (the maps do not change once loaded).
        """
        asked = (system, code, target)
        if asked in self._no_targets:
            return self._no_targets[asked]
        found = self._no_target(system, code, target)
        if len(self._no_targets) >= _MEMO_LIMIT:
            self._no_targets.clear()
        self._no_targets[asked] = found
        return found

    def _no_target(self, system: str, code: str, target: str) -> NoTarget | None:
        system, target, code = canonical_system(system), canonical_system(target), code.strip()
        if self.nlm is not None and system == SNOMED and target == ICD10CM and self.nlm.knows(code):
            return None
        if system == NDC and target == HCPCS and self.ndc is not None:
            return self.ndc.no_target(system, code, target)
        for crosswalk in self._conceptmaps():
            if crosswalk.knows(system, code, target):
                return crosswalk.no_target(system, code, target)
        return None

    def info(self) -> tuple[CrosswalkInfo, ...]:
        """One entry per loaded crosswalk, the one asked first first."""
        out: list[CrosswalkInfo] = []
        if self.nlm is not None:
            out.append(CrosswalkInfo("NLM SNOMED CT to ICD-10-CM", self.nlm.source, len(self.nlm)))
        if self.ndc is not None:
            out.append(CrosswalkInfo("NDC-HCPCS crosswalk", str(self.ndc.path), len(self.ndc)))
        if len(self.extra):
            out.append(
                CrosswalkInfo(
                    "configured ConceptMaps", ", ".join(self.extra.sources), len(self.extra)
                )
            )
        if self.curated is not None:
            out.append(
                CrosswalkInfo(
                    "fhir-coder curated crosswalk",
                    ", ".join(self.curated.sources),
                    len(self.curated),
                )
            )
        return tuple(out)

    def _conceptmaps(self) -> tuple[ConceptMapCrosswalk, ...]:
        return (self.extra,) if self.curated is None else (self.extra, self.curated)


_default: CrosswalkRegistry | None = None
_default_lock = threading.Lock()


def default_crosswalks() -> CrosswalkRegistry:
    """The process-wide crosswalk registry from the environment, built once."""
    global _default  # noqa: PLW0603 - one per process, like default_registry
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = CrosswalkRegistry()
    return _default
