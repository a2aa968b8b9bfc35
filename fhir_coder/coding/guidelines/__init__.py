"""The encounter-level stage: the ICD-10-CM Official Guidelines applied across diagnoses.

The rules are data (the ``*.toml`` tables beside this module, one per family, each row
with its Guidelines section and the Index or Tabular fact it rests on); :mod:`.engine`
applies them between coding each diagnosis and sequencing. ``docs/guidelines.md``
describes the families for coders and auditors.
"""

from __future__ import annotations

from fhir_coder.coding.guidelines.engine import apply_guidelines
from fhir_coder.coding.guidelines.rules import Rulebook, compile_rulebook, load_rulebook

__all__ = ["Rulebook", "apply_guidelines", "compile_rulebook", "load_rulebook"]
