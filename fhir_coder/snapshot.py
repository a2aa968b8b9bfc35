"""The core's values as plain JSON and back: an encounter kept for a coder, unchanged.

A work item keeps the encounter exactly as coding saw it (the gathered
:class:`~fhir_coder.model.Encounter`, its coded lines and findings), so that the
workbench re-scrubs a coder's changes against the same facts without asking the EHR
again, and after a restart. The conversion follows the dataclasses' own type hints, so a
field added to the model travels without a change here; an unknown key in stored JSON (a
field since removed) is left out rather than failing a whole worklist.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, cast

__all__ = ["from_plain", "to_plain"]

T = TypeVar("T")


def to_plain(value: object) -> Any:  # noqa: ANN401, PLR0911 - JSON of any shape; a branch per kind
    """``value`` (dataclasses, tuples, enums, dates) as JSON-ready lists, dicts and scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if getattr(value, field.name) != field.default  # defaults stay implicit: smaller
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple | list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(cls: type[T], data: Any) -> T:  # noqa: ANN401 - JSON of any shape
    """A ``cls`` value back from :func:`to_plain`'s output."""
    return cast("T", _read(cls, data))


def _read(kind: Any, data: Any) -> Any:  # noqa: ANN401, PLR0911 - one branch per kind of type
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(kind), data)
    if origin is tuple:
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(_read(item, one) for one in data)
    if origin is dict:
        _, item = typing.get_args(kind)
        return {k: _read(item, v) for k, v in data.items()}
    if kind is Any or data is None:
        return data
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        names = {field.name for field in dataclasses.fields(kind)}
        return kind(**{k: _read(hints[k], v) for k, v in data.items() if k in names})
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is datetime or kind is date:
        return _moment(data)
    if kind is float and isinstance(data, int):
        return float(data)
    return data


def _union(options: tuple[Any, ...], data: Any) -> Any:  # noqa: ANN401
    if data is None:
        return None
    if isinstance(data, dict) and ("datetime" in data or "date" in data):
        return _moment(data)
    for option in options:
        if option is not type(None):
            return _read(option, data)
    return data  # pragma: no cover - a union of None alone


def _moment(data: dict[str, str]) -> date | datetime:
    if "datetime" in data:
        return datetime.fromisoformat(data["datetime"])
    return date.fromisoformat(data["date"])
