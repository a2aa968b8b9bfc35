"""Serialising x12sdk's models fast: the same segments, without re-reading type hints each time.

x12sdk's ``X12SegmentGroup.x12()`` and its model validators look up each field's type hint
(``typing.get_args``) for every loop instance they touch: for an 837 of 10,000 claims that
is most of the time spent. The hints do not change, so here they are read once per class:
:func:`segments_of` walks a transaction in field order exactly as ``x12()`` does, and each
segment is still written by its own ``X12Segment.x12()``; :func:`count_segments` gives
SE01 from the same walk. :func:`cache_type_hints` memoises x12sdk's two pure hint helpers
(the annotation is their only input), which its validators call for every loop built.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from x12sdk import models as x12_models
from x12sdk import parsing as x12_parsing
from x12sdk.models import X12Segment, X12SegmentGroup

__all__ = ["cache_type_hints", "count_segments", "segments_of"]


_PARTS: dict[type, tuple[str, ...]] = {}


def _parts(cls: type) -> tuple[str, ...]:
    """The fields of a loop class that hold segments or loops, in declaration order."""
    found = _PARTS.get(cls)
    if found is None:
        fields: dict[str, Any] = getattr(cls, "model_fields", {})
        found = _PARTS[cls] = tuple(
            name
            for name, field in fields.items()
            if hasattr(x12_models._field_type(field.annotation), "x12")  # noqa: SLF001 - its own test
        )
    return found


def segments_of(group: X12SegmentGroup) -> Iterator[X12Segment]:
    """Every segment of ``group``, in the order ``group.x12()`` writes them."""
    for name in _parts(type(group)):
        value = getattr(group, name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, X12Segment):
                yield item
            elif item is not None:
                yield from segments_of(item)


def count_segments(*groups: X12SegmentGroup) -> int:
    """How many segments ``groups`` hold (SE01 counts ST through SE)."""
    return sum(1 for group in groups for _ in segments_of(group))


def cache_type_hints() -> None:
    """Memoise x12sdk's pure type-hint helpers, which its validators call for every loop.

    Idempotent; a no-op when the helpers are not where x12sdk 2.2 keeps them.
    """
    for name in ("_field_type", "_is_list_field"):
        helper = getattr(x12_models, name, None)
        if not callable(helper) or hasattr(helper, "cache_info"):
            continue
        cached = functools.cache(helper)
        for module in (x12_models, x12_parsing):  # parsing imported the helper by name
            if getattr(module, name, None) is helper:
                setattr(module, name, cached)
