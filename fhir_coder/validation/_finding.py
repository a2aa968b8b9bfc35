"""One way to write a finding of a catalogued edit, so every edit reads the same."""

from __future__ import annotations

from fhir_coder.edits import CATALOGUE
from fhir_coder.outcome import Issue

__all__ = ["finding"]


def finding(edit_id: str, message: str, *expression: str, fix: str = "", source: str = "") -> Issue:
    """An :class:`Issue` of ``edit_id`` at its catalogue severity (profiles adjust it later)."""
    entry = CATALOGUE[edit_id]
    return Issue(
        entry.severity,
        entry.code,
        message,
        rule=edit_id,
        expression=expression,
        fix=fix,
        source=source,
    )
