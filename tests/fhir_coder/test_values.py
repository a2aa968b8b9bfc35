"""``fast_init`` keeps everything a frozen dataclass promises, with a faster ``__init__``."""

import copy
import dataclasses
import inspect
import pickle
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
    # a value of few fields writes its slots in __init__; a larger one is laid out in a
    # plain twin by __new__ and switched to its class
    assert Coding.__init__.__qualname__ == "Coding.__init__"
    assert any(name.startswith("_set_") for name in Coding.__init__.__code__.co_names)
    for cls in (CodedLine, Encounter, Issue):
        assert "__init__" not in cls.__dict__
        assert cls.__new__.__qualname__ == f"{cls.__qualname__}.__new__"
        assert "_Twin" in cls.__new__.__code__.co_names


@fast_init
@dataclass(frozen=True, slots=True)
class Wide:
    """Enough fields to be laid out by ``__new__``."""

    a: str
    b: int = 0
    c: tuple[str, ...] = ()
    d: str = ""
    e: str = ""
    seen: dict[str, int] = field(default_factory=dict, compare=False)
    note: str = field(default="", kw_only=True)


def test_a_value_laid_out_by_new_keeps_every_promise():
    value = Wide("x", 2, ("t",), note="n")
    assert type(value) is Wide
    assert isinstance(value, Wide)
    assert (value.a, value.b, value.c, value.d, value.e, value.seen, value.note) == (
        "x",
        2,
        ("t",),
        "",
        "",
        {},
        "n",
    )
    assert Wide("x").seen is not value.seen
    assert list(inspect.signature(Wide).parameters) == ["a", "b", "c", "d", "e", "seen", "note"]
    with pytest.raises(TypeError):
        Wide()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Wide("x", 2, (), "", "", {}, "positional note")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = "y"  # type: ignore[misc]
    assert value == Wide("x", 2, ("t",), note="n", seen={"ignored": 1})
    assert hash(value) == hash(Wide("x", 2, ("t",), note="n"))
    assert repr(value) == "Wide(a='x', b=2, c=('t',), d='', e='', seen={}, note='n')"
    assert dataclasses.replace(value, b=3) == Wide("x", 3, ("t",), note="n")
    copied = replace(value, d="y")
    assert type(copied) is Wide
    assert repr(copied) == repr(dataclasses.replace(value, d="y"))
    with pytest.raises(TypeError):
        replace(value, colour="red")
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.d = "z"  # type: ignore[misc]
    for made in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):  # noqa: S301
        assert type(made) is Wide
        assert repr(made) == repr(value)
    with pytest.raises(TypeError):

        class Narrower(Wide):  # a subclass would skip its own fields: refused at once
            pass


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
