"""The payload models' own ``__copy__`` (ledger/entries.py ``_Model``) copies exactly as
pydantic's ``BaseModel.__copy__`` does, so ``model_copy`` and ``copy.copy`` give the same
models, only cheaper."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from ledger.entries import Body, _Model
from tests.helpers import claim_payload, source_payload
from tests.property.test_entries_roundtrip import bodies, hexes


def all_models(cls: type[_Model]) -> list[type[_Model]]:
    return [cls, *(m for sub in cls.__subclasses__() for m in all_models(sub))]


def parts(model: BaseModel) -> dict[str, Any]:
    """Everything a copy carries over, values by identity (a shallow copy shares them)."""
    return {
        "type": type(model),
        "dict": [(k, id(v)) for k, v in model.__dict__.items()],
        "fields_set": model.__pydantic_fields_set__,
        "extra": model.__pydantic_extra__,
        "private": model.__pydantic_private__,
    }


def nested(model: BaseModel) -> list[BaseModel]:
    out = [model]
    for value in model.__dict__.values():
        items = value if isinstance(value, tuple) else (value,)
        out += [m for item in items if isinstance(item, BaseModel) for m in nested(item)]
    return out


def test_every_payload_model_has_what_the_fast_copy_assumes() -> None:
    for model in all_models(_Model):
        assert model.model_config.get("extra") == "forbid", model
        assert not model.__private_attributes__, model
        assert model.__copy__ is _Model.__copy__, model


def check_copies(model: BaseModel) -> None:
    ours = copy.copy(model)
    theirs = BaseModel.__copy__(model)
    assert ours is not model
    assert ours == model
    assert parts(ours) == parts(theirs)
    assert ours.__dict__ is not model.__dict__
    assert ours.__pydantic_fields_set__ is not model.__pydantic_fields_set__


@given(bodies)
def test_copy_is_pydantics_copy(body: Body) -> None:
    for model in nested(body.payload):
        check_copies(model)


@given(hexes, st.integers(0, 1000))
def test_model_copy_with_an_update_is_pydantics(source: str, n: int) -> None:
    for model in (claim_payload("0" * 64, "a" * 64, n), source_payload(n)):
        field = "source" if "source" in type(model).model_fields else "sha256"
        updated = model.model_copy(update={field: source})
        reference = BaseModel.__copy__(model)
        reference.__dict__[field] = source
        reference.__pydantic_fields_set__.add(field)
        assert parts(updated) == parts(reference)
        assert getattr(updated, field) == source
        assert getattr(model, field) != source or model.__dict__ == updated.__dict__
