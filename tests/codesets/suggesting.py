"""Helpers the text-suggestion tests share: the first code offered, a term as the index reads it."""

from __future__ import annotations

from datetime import date
from typing import Any

ON = date(2026, 1, 15)


def first_code(registry: Any, text: str, age: int | None = None, sex: str | None = None) -> str:
    """The code ``registry.suggest`` offers first for ``text`` on :data:`ON` (one is offered)."""
    offered = registry.suggest(text, on=ON, age=age, sex=sex)
    assert offered, f"nothing offered for {text!r}"
    return str(offered[0].code)


def same_term(term: str) -> str:
    """``term`` lower-cased with its spacing made single: how two index terms are compared."""
    return " ".join(term.lower().split())
