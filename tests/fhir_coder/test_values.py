"""``fast_init`` keeps everything a frozen dataclass promises, with a faster ``__init__``."""

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from fhir_coder.model import CodedLine, Coding, Encounter
from fhir_coder.outcome import Issue
from fhir_coder.values import fast_init, replace


@fast_init
@dataclass(frozen=True, slots=True)
class Sample:
    code: str
    system: str = "urn:x"
    tags: tuple[str, ...] = ()
    seen: dict[str, int] = field(default_factory=dict, compare=False)
    note: str = field(default="", kw_only=True)


def test_signature_defaults_and_factories_are_those_of_the_dataclass():
    value = Sample("a")
    assert (value.code, value.system, value.tags, value.seen, value.note) == (
        "a",
        "urn:x",
        (),
        {},
        "",
    )
    assert Sample("a").seen is not value.seen  # a fresh dict each time, as default_factory gives
    assert Sample("a", "urn:y", ("t",), {"k": 1}, note="n") == Sample(
        code="a", system="urn:y", tags=("t",), note="n"
    )
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", "urn:y", (), {}, "positional note")  # type: ignore[misc]
    assert list(inspect.signature(Sample).parameters) == ["code", "system", "tags", "seen", "note"]


def test_values_stay_frozen_hashable_and_replaceable():
    value = Sample("a", tags=("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.code = "b"  # type: ignore[misc]
    assert hash(value) == hash(Sample("a", tags=("t",), seen={"ignored": 1}))
    assert dataclasses.replace(value, code="b") == Sample("b", tags=("t",))
    assert repr(value) == "Sample(code='a', system='urn:x', tags=('t',), seen={}, note='')"


def test_the_engine_values_use_it():
    for cls in (Coding, CodedLine, Encounter, Issue):
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
        assert any(name.startswith("_set_") for name in cls.__init__.__code__.co_names)


def test_what_it_cannot_honour_is_refused_at_import():
    @dataclass(frozen=True)
    class NoSlots:
        code: str

    @dataclass(slots=True)
    class NotFrozen:
        code: str

    @dataclass(frozen=True, slots=True)
    class PostInit:
        code: str

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class Derived:
        code: str
        size: int = field(init=False, default=0)

    for cls in (NoSlots, NotFrozen, PostInit, Derived):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_replace_is_dataclasses_replace():
    value = Sample("a", tags=("t",), seen={"k": 1}, note="n")
    for changes in ({}, {"code": "b"}, {"note": "m", "tags": ()}):
        assert repr(replace(value, **changes)) == repr(dataclasses.replace(value, **changes))
    assert replace(value).seen is value.seen  # fields are shared, as dataclasses.replace does
    with pytest.raises(TypeError):
        replace(value, colour="red")
    with pytest.raises(dataclasses.FrozenInstanceError):
        replace(value, code="b").code = "c"  # type: ignore[misc]

    @dataclass(frozen=True, slots=True)
    class Plain:
        code: str

    assert replace(Plain("a"), code="b") == Plain("b")  # not fast_init: dataclasses.replace
