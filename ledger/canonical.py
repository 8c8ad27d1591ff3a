"""Canonical JSON bytes (RFC 8785) for every body the ledger produces, and hashing helpers.

The ledger's bodies hold only objects with ASCII keys, arrays, strings, booleans,
null and integers within ±(2**53 - 1); floats are refused. For that domain orjson's
sorted-keys serializer emits exactly the RFC 8785 bytes (tests/property/test_canonical.py
proves it against an independent RFC 8785 implementation), at a fraction of the cost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, NewType

import orjson

from ledger.errors import FormatError

Sha256 = NewType("Sha256", bytes)
"""A raw 32-byte SHA-256 digest."""

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_DEPTH = 32

JsonValue = None | bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises ``FormatError`` naming the path of anything outside the ledger's JSON
    domain: floats, integers beyond ±(2**53-1), non-ASCII or non-string keys,
    lone surrogates, or nesting deeper than 32.
    """
    _check(value, "$", 0)
    return orjson.dumps(value, option=_OPTIONS)


def canonical_json_typed(value: Any) -> bytes:
    """Canonical bytes of a value built from the ledger's typed payload models.

    The models already confine every value to the canonical domain (ASCII field names,
    bounded integers, no floats), so the per-value walk of ``canonical_json`` is skipped;
    tests/property/test_canonical.py checks typed bodies against RFC 8785 too.
    """
    try:
        return orjson.dumps(value, default=_model_fields, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise FormatError(f"canonical JSON: {exc}") from exc


def _model_fields(value: Any) -> Any:
    """A payload model met inside a typed value: its fields (``__dict__`` of a pydantic model
    with extras forbidden holds exactly them), so models need not be dumped first."""
    omit = _OMIT.get(value.__class__)
    if omit is None:  # the first of its class: check it is a model, note what to omit
        omit = _model_class(value.__class__)
    fields = value.__dict__
    if omit:  # fields added to a payload later: absent means left out, as before they existed
        kept = fields
        for name in omit:
            if fields[name] is None:
                if kept is fields:
                    kept = dict(fields)
                del kept[name]
        return kept
    return fields


_OMIT: dict[type, frozenset[str]] = {}
"""Per payload model class, its ``__omit_when_none__`` fields (looked up once: the hot
path of every append serializes models, and a missing attribute on a pydantic model goes
through its slow ``__getattr__``)."""


def _model_class(model: type) -> frozenset[str]:
    if getattr(model, "__pydantic_fields__", None) is None:
        raise TypeError(f"{model.__name__} is not a JSON value")
    found = _OMIT[model] = frozenset(getattr(model, "__omit_when_none__", ()))
    return found


def _check(value: Any, path: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise FormatError(f"canonical JSON: nesting deeper than {_MAX_DEPTH} at {path}")
    # bool before int: bool is a subclass of int.
    if value is None or value is True or value is False:
        return
    kind = type(value)
    if kind is str:
        _check_str(value, path)
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise FormatError(f"canonical JSON: integer out of the safe range at {path}")
    elif kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise FormatError(f"canonical JSON: key {key!r} at {path} is not an ASCII string")
            _check(item, f"{path}.{key}", depth + 1)
    elif kind is list or kind is tuple:
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
    elif kind is float:
        raise FormatError(f"canonical JSON: floats are not allowed (at {path})")
    else:
        raise FormatError(f"canonical JSON: {kind.__name__} is not a JSON value (at {path})")


def _check_str(value: str, path: str) -> None:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FormatError(f"canonical JSON: lone surrogate in string at {path}") from exc


def parse_canonical(data: bytes, what: str) -> Any:
    """Parse ``data`` as JSON and require it to be canonical; ``what`` names it in errors."""
    try:
        value = json.loads(
            data.decode("utf-8"), parse_float=_refuse_float, parse_constant=_refuse_float
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{what}: not valid UTF-8 JSON: {exc}") from exc
    if canonical_json(value) != data:
        raise FormatError(f"{what}: JSON is not in canonical form (RFC 8785)")
    return value


def load_json(data: bytes, what: str) -> Any:
    """Parse JSON bytes (no canonical-form check; the caller re-encodes and compares)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{what}: not valid UTF-8 JSON: {exc}") from exc


def _refuse_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed ({text})")


def sha256(data: bytes) -> Sha256:
    """SHA-256 of ``data``."""
    return Sha256(hashlib.sha256(data).digest())
