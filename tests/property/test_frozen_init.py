"""``quick_init`` (ledger/frozen.py) builds the same instances as the dataclass's own
``__init__`` (kept as ``__dataclass_init__``): same signature, same field values, same
refusals of wrong calls; and the instances stay frozen."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.entries import Body, SignedEntry
from ledger.frozen import quick_init
from ledger.merkle import Node
from ledger.state import ClaimState, SourceState

CLASSES: list[Any] = [Body, SignedEntry, ClaimState, SourceState, Node]

values = st.one_of(st.none(), st.integers(), st.text(max_size=8), st.binary(max_size=8))


def reference(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """An instance built by the dataclass's own generated ``__init__``."""
    instance = object.__new__(cls)
    cls.__dataclass_init__(instance, *args, **kwargs)
    return instance


def fields_of(instance: Any) -> list[tuple[str, Any]]:
    return [(f.name, getattr(instance, f.name)) for f in dataclasses.fields(instance)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_signature_as_the_dataclass_init(cls: Any) -> None:
    assert cls.__init__ is not cls.__dataclass_init__
    assert inspect.signature(cls.__init__) == inspect.signature(cls.__dataclass_init__)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_same_instance_as_the_dataclass_init(cls: Any, data: st.DataObject) -> None:
    params = list(inspect.signature(cls.__dataclass_init__).parameters.values())[1:]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in params:
        if param.default is not inspect.Parameter.empty and data.draw(st.booleans()):
            continue  # left to its default
        value = data.draw(values)
        if param.kind is inspect.Parameter.KEYWORD_ONLY or data.draw(st.booleans()):
            kwargs[param.name] = value
        else:
            if kwargs:  # positional arguments cannot follow keyword ones
                kwargs[param.name] = value
                continue
            args.append(value)
    quick = cls(*args, **kwargs)
    plain = reference(cls, *args, **kwargs)
    assert type(quick) is cls
    assert quick == plain
    assert hash(quick) == hash(plain)
    assert repr(quick) == repr(plain)
    assert [(n, id(v)) for n, v in fields_of(quick)] == [(n, id(v)) for n, v in fields_of(plain)]
    name = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(quick, name, None)
    for other in (pickle.loads(pickle.dumps(quick)), copy.copy(quick)):
        assert type(other) is cls and other == plain
    assert dataclasses.replace(quick, **{name: "changed"}) == dataclasses.replace(
        plain, **{name: "changed"}
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_wrong_calls_are_refused_alike(cls: Any) -> None:
    params = list(inspect.signature(cls.__dataclass_init__).parameters.values())[1:]
    full = {p.name: None for p in params}
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),  # required fields missing
        ((), {**full, "not_a_field": 1}),
        ((None,) * (len(params) + 1), {}),  # too many positional arguments
    ]
    for args, kwargs in calls:
        with pytest.raises(TypeError):
            cls(*args, **kwargs)
        with pytest.raises(TypeError):
            reference(cls, *args, **kwargs)


def test_refuses_what_it_cannot_copy() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    for cls in (NoSlots, PostInit, Factory):
        with pytest.raises(TypeError):
            quick_init(cls)
