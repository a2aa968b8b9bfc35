"""A faster ``__init__`` for the frozen, slotted dataclasses the engine makes by the thousand.

A frozen dataclass sets each field through ``object.__setattr__`` (the generated
``__init__`` cannot assign, since assignment raises); that makes one value of seven fields
cost about 1.4 us, seven times a plain class. Coding one encounter makes some sixty such
values (codings, lines, findings, the scrubber's form). :func:`fast_init` replaces the
generated ``__init__`` with one that writes each slot through its descriptor directly:
the same signature, defaults and immutability, about twice as fast. A value of six fields
or more goes further: ``__new__`` writes its fields into a plain twin of the class (the
same slots, no frozen ``__setattr__``, so each write is the interpreter's own store, not
a call) and switches it to the class once (``__class__``, which checks the layouts are
the same); a 13-field Diagnosis costs 4.7 k instructions instead of 11.7 k, and the
engine's loop 8% fewer. :func:`replace` is
``dataclasses.replace`` for such values at a third of its cost (it copies the slots
instead of calling ``__init__`` through keyword arguments): sequencing, merging and payer
profiles change one field of a line or finding per encounter.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["fast_init", "replace"]

T = TypeVar("T")

_MEMBER = type(inspect.getattr_static(dataclasses.Field, "name"))
"""The type of a slot's descriptor (``member_descriptor``)."""


def fast_init(cls: type[T]) -> type[T]:
    """``cls`` (a ``@dataclass(frozen=True, slots=True)``) with a faster ``__init__``.

    Apply it above the dataclass decorator. Only plain fields are supported (no
    ``init=False`` and no ``__post_init__``): anything else is a TypeError at import.
    A value of :data:`_LAID_OUT` fields or more is made by ``__new__`` (the class then
    has object's ``__init__`` and cannot be subclassed).
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init is for frozen, slotted dataclasses")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not run __post_init__")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    # From _LAID_OUT fields on, the value is laid out in a plain twin of the class (the
    # same slots) and switched to the class at the end: plain slot writes, one switch.
    laid_out = len(fields) >= _LAID_OUT and cls.__bases__ == (object,)
    namespace: dict[str, Any] = {
        "_MISSING": dataclasses.MISSING,
        "_new": object.__new__,
        "_cls": cls,
    }
    signature, body, copied = _parts(cls, fields, namespace, laid_out=laid_out)
    if laid_out:
        namespace["_Twin"] = type(
            f"{cls.__name__}Layout", (), {"__slots__": cls.__dict__["__slots__"]}
        )
        _define(cls, "__new__", f"cls, {signature}", _NEW_START + body + _NEW_END, namespace)
        cls.__new__ = staticmethod(namespace["__new__"])  # type: ignore[method-assign]
        del cls.__init__  # object's: the value is complete when __new__ returns it
        cls.__init_subclass__ = classmethod(_not_subclassed)  # type: ignore[assignment]
        # pickle and copy make the value through __new__ too, with every field
        names = tuple(field.name for field in fields)
        cls.__getnewargs_ex__ = lambda value: ((), {n: getattr(value, n) for n in names})  # type: ignore[attr-defined]
        start, end = " new = _new(_Twin)\n", _NEW_END
    else:
        _define(cls, "__init__", f"self, {signature}", body or " pass\n", namespace)
        cls.__init__ = namespace["__init__"]  # type: ignore[method-assign]
        start, end = " new = _new(_cls)\n", " return new\n"
    exec(  # noqa: S102 - built from field names only, as dataclasses does
        "def _replace(value, changes):\n"
        + start
        + copied
        + " if changes:\n  raise TypeError(f'unknown fields {sorted(changes)}')\n"
        + end,
        namespace,
    )
    setattr(cls, _REPLACE, namespace["_replace"])
    return cls


_LAID_OUT = 6
"""Fields from which :func:`fast_init` lays a value out in a plain twin of its class.

Writing a slot of a frozen class is a call (its descriptor's ``__set__``: about 0.7 k
instructions); a plain twin's slot is written by the interpreter's own store, and the
switch to the class (``__class__``, which checks the two layouts) costs about 3 k: worth
it from six fields on.
"""

_NEW_START = (
    " if cls is not _cls:\n"
    "  raise TypeError(f'{cls.__name__}: a fast_init value is not subclassed')\n"
    " new = _new(_Twin)\n"
)
_NEW_END = " new.__class__ = _cls\n return new\n"


def _parts(
    cls: type,
    fields: tuple[dataclasses.Field[Any], ...],
    namespace: dict[str, Any],
    *,
    laid_out: bool,
) -> tuple[str, str, str]:
    """The signature, the body that sets every field, and the body that copies them."""
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    copied: list[str] = []
    for field in fields:
        name = field.name
        if not field.init:
            raise TypeError(f"{cls.__name__}.{name}: fast_init needs every field in __init__")
        slot = inspect.getattr_static(cls, name)
        if type(slot) is not _MEMBER:
            raise TypeError(f"{cls.__name__}.{name} is not a slot")
        namespace[f"_set_{name}"] = slot.__set__
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            param = f"{name}=_default_{name}"
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            param = f"{name}=_MISSING"
            body.append(f" if {name} is _MISSING: {name} = _factory_{name}()")
        else:
            param = name
        (keyword if field.kw_only else positional).append(param)
        value = f"changes.pop({name!r}, value.{name})"
        if laid_out:
            body.append(f" new.{name} = {name}")
            copied.append(f" new.{name} = {value}")
        else:
            body.append(f" _set_{name}(self, {name})")
            copied.append(f" _set_{name}(new, {value})")
    signature = ", ".join([*positional, *(["*", *keyword] if keyword else [])])
    return signature, "".join(f"{line}\n" for line in body), "".join(f"{c}\n" for c in copied)


def _define(cls: type, name: str, signature: str, body: str, namespace: dict[str, Any]) -> None:
    """``def name(signature): body`` into ``namespace``, named as a method of ``cls``."""
    exec(f"def {name}({signature}):\n{body}", namespace)  # noqa: S102 - as above
    made = namespace[name]
    made.__qualname__ = f"{cls.__qualname__}.{name}"
    made.__module__ = cls.__module__
    made.__doc__ = cls.__dict__["__init__"].__doc__


def _not_subclassed(cls: type, /, **_: object) -> None:
    raise TypeError(f"{cls.__name__}: a fast_init value is not subclassed")


_REPLACE = "_fast_init_replace"


def replace(value: T, /, **changes: object) -> T:
    """``dataclasses.replace(value, **changes)`` for a :func:`fast_init` value, faster.

    Fields are copied slot by slot (no ``__init__``, whose checks the fields already
    passed); a field name the class lacks is a TypeError, as with ``dataclasses.replace``.
    Any other dataclass (a subclass the decorator did not see included) goes to
    ``dataclasses.replace``.
    """
    copy: Callable[[T, dict[str, object]], T] | None = type(value).__dict__.get(_REPLACE)
    if copy is None:
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    return copy(value, changes)
