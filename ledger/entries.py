"""Entry kinds, their payloads, and the exact bytes of a signed entry (build and parse).

An entry's bytes are ``{"body":<canonical body>,"sig":"<base64 Ed25519 signature>"}``,
itself canonical JSON; docs/formats/entries.md specifies every byte.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NewType, TypeVar, Union, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from ledger.canonical import canonical_json_typed, load_json
from ledger.errors import FormatError, InvalidInput
from ledger.inputs import SHORT_LIMIT, TEXT_LIMIT, string_problem
from ledger.merkle import leaf_hash
from ledger.signing import KeyId, SigningKey, verify_entry_signature

EntryHash = NewType("EntryHash", bytes)
"""RFC 9162 leaf hash of an entry's bytes: SHA-256(0x00 ‖ bytes); also its Merkle leaf."""

FORMAT_VERSION = 1
MAX_ENTRY_BYTES = 1 << 20

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


@functools.lru_cache(maxsize=1024)
def _real_day(value: str) -> str:
    """A day is ``YYYY-MM-DD`` and a real calendar date (years 0001 to 9999)."""
    if not _DAY.fullmatch(value):
        raise ValueError(f"{value!r} is not a date of the form YYYY-MM-DD")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real calendar date") from None
    return value


@functools.lru_cache(maxsize=1024)
def _real_instant(value: str) -> str:
    """A timestamp is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` and a real instant (UTC)."""
    if not _TS.fullmatch(value):
        raise ValueError(f"{value!r} is not a timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        dt.datetime.fromisoformat(value[:-1])
    except ValueError:
        raise ValueError(f"{value!r} is not a real time") from None
    return value


HexHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Timestamp = Annotated[str, AfterValidator(_real_instant)]
Day = Annotated[str, AfterValidator(_real_day)]


def _storable(value: str) -> str:
    """Strings both databases store alike: no U+0000 (pydantic already refuses lone
    surrogates); ``ledger.inputs`` is the one place that says what is storable."""
    problem = string_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Text = Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT), AfterValidator(_storable)]
ShortText = Annotated[str, Field(min_length=1, max_length=SHORT_LIMIT), AfterValidator(_storable)]
Affix = Annotated[str, Field(max_length=32), AfterValidator(_storable)]
SafeInt = Annotated[int, Field(ge=-(2**53 - 1), le=2**53 - 1)]

EntryKind = Literal[
    "key.registered",
    "key.revoked",
    "source.registered",
    "claim.extracted",
    "claim.revised",
    "claim.retracted",
    "claim.reviewed",
    "claimant.linked",
    "claimant.unlinked",
]
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)
Role = Literal["admin", "writer", "reviewer"]
Reporting = Literal["direct_quote", "reported_speech", "assertion"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, /, **data: Any) -> None:
        """Build from Python values (input to be signed); a value outside the entry format
        raises ``InvalidInput`` naming the field (parsing bytes raises ``FormatError``)."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            kind = next((k for t, k in KIND_OF.items() if t is type(self)), None)
            what = kind or type(self).__name__
            raise InvalidInput(f"{what}: {_first_error(exc)}") from exc

    # Only calls of the class run this; validation (strict parsing of entry bytes, nested
    # models) keeps pydantic's own path, as with a model without an __init__ of its own.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class KeyRegistered(_Model):
    key_id: HexHash
    name: ShortText
    algorithm: Literal["ed25519"] = "ed25519"
    public_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    roles: tuple[Role, ...]


class KeyRevoked(_Model):
    key_id: HexHash
    reason: ShortText


class SourceRegistered(_Model):
    sha256: HexHash
    text_sha256: HexHash
    size: Annotated[int, Field(ge=1, le=2**53 - 1)]
    media_type: ShortText
    uri: ShortText | None
    title: ShortText | None
    publisher: ShortText | None
    published: Day | None
    retrieved_at: Timestamp | None


class Selector(_Model):
    exact: Text
    prefix: Affix
    suffix: Affix
    start: Annotated[int, Field(ge=0, le=2**53 - 1)]
    end: Annotated[int, Field(ge=1, le=2**53 - 1)]


class Claimant(_Model):
    name: ShortText | None
    role: ShortText | None
    affiliation: ShortText | None


class Quantity(_Model):
    value: Annotated[str, Field(pattern=r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")]
    unit: ShortText | None
    approximate: bool
    text: ShortText


class ExtractorInfo(_Model):
    name: ShortText
    version: ShortText
    rules_sha256: HexHash


class ClaimExtracted(_Model):
    source: HexHash  # entry hash of the source.registered entry
    source_sha256: HexHash
    statement: Text
    selector: Selector
    claimant: Claimant
    reporting: Reporting
    made_on: Day | None
    quantities: tuple[Quantity, ...]
    score: Annotated[int, Field(ge=0, le=1000)]
    extractor: ExtractorInfo


class ClaimChanges(_Model):
    """The fields a revision may set; ``None`` means unchanged."""

    statement: Text | None = None
    claimant: Claimant | None = None
    reporting: Reporting | None = None
    made_on: Day | None = None
    quantities: tuple[Quantity, ...] | None = None


class ClaimRevised(_Model):
    claim: HexHash
    follows: HexHash
    changes: ClaimChanges
    reason: ShortText


class ClaimRetracted(_Model):
    claim: HexHash
    follows: HexHash
    reason: ShortText


class Rating(_Model):
    """A verdict in schema.org ClaimReview terms (``alternateName`` and ``reviewRating``)."""

    textual: ShortText
    value: SafeInt | None = None
    best: SafeInt | None = None
    worst: SafeInt | None = None


class ClaimReviewed(_Model):
    claim: HexHash
    follows: HexHash
    rating: Rating
    note: Text | None = None
    url: ShortText | None = None


class ClaimantOverride(_Model):
    """A reviewer's correction of the claimant identities: ``a`` and ``b`` are claim ids
    (an identity's id is the claim id of its first attribution, so either names it)."""

    a: HexHash
    b: HexHash
    reason: ShortText


class ClaimantLinked(ClaimantOverride):
    """The claimants of claims ``a`` and ``b`` are one person or organisation."""


class ClaimantUnlinked(ClaimantOverride):
    """The claimants of claims ``a`` and ``b`` are not the same, whatever the rules say."""


Payload = (
    KeyRegistered
    | KeyRevoked
    | SourceRegistered
    | ClaimExtracted
    | ClaimRevised
    | ClaimRetracted
    | ClaimReviewed
    | ClaimantLinked
    | ClaimantUnlinked
)
PAYLOAD_TYPES: dict[EntryKind, type[Payload]] = {
    "key.registered": KeyRegistered,
    "key.revoked": KeyRevoked,
    "source.registered": SourceRegistered,
    "claim.extracted": ClaimExtracted,
    "claim.revised": ClaimRevised,
    "claim.retracted": ClaimRetracted,
    "claim.reviewed": ClaimReviewed,
    "claimant.linked": ClaimantLinked,
    "claimant.unlinked": ClaimantUnlinked,
}
KIND_OF: dict[type[Payload], EntryKind] = {t: k for k, t in PAYLOAD_TYPES.items()}


def payload_json(payload: Payload) -> dict[str, Any]:
    """The JSON object of a payload, every field present (absent optionals are null)."""
    return payload.model_dump(mode="json")


def parse_payload(kind: EntryKind, value: Any, *, where: str) -> Payload:
    try:
        return PAYLOAD_TYPES[kind].model_validate(value)
    except ValidationError as exc:
        raise FormatError(f"{where}: {kind} payload is invalid: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"]) or "(payload)"
    return f"{loc}: {err['msg'].removeprefix('Value error, ')}"


M = TypeVar("M", bound=BaseModel)


def build(model: type[M], *, where: str, **fields: Any) -> M:
    """A payload (or part of one) from given values; ``InvalidInput`` naming the first field
    that breaks the entry format (a date that is not a real calendar date, a bad hash)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidInput(f"{where}: {_first_error(exc)}") from exc


def format_timestamp(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, the only timestamp form entries use."""
    if moment.tzinfo is None:
        raise FormatError("timestamps must be timezone-aware")
    m = moment.astimezone(dt.UTC)
    # Spelled out: strftime's %Y does not zero-pad years before 1000 on every platform.
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T"
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"
    )


def parse_timestamp(text: str) -> dt.datetime:
    """Parse the entry timestamp form (the caller has matched its pattern); ValueError if unreal."""
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Body:
    """What the signer signs: position in the log, time, kind, signer and payload."""

    log: str
    seq: int
    prev: EntryHash | None
    ts: str
    kind: EntryKind
    signer: KeyId
    payload: Payload

    def to_json(self) -> dict[str, Any]:
        return {**self.to_json_head(), "payload": payload_json(self.payload)}

    def to_bytes(self) -> bytes:
        # The payload model goes in as is: its fields are serialized directly (the same
        # bytes as payload_json, without building that dict first).
        return canonical_json_typed({**self.to_json_head(), "payload": self.payload})

    def to_json_head(self) -> dict[str, Any]:
        """Every body field but the payload, as JSON values."""
        return {
            "v": FORMAT_VERSION,
            "log": self.log,
            "seq": self.seq,
            "prev": self.prev.hex() if self.prev is not None else None,
            "ts": self.ts,
            "kind": self.kind,
            "signer": self.signer,
        }


@dataclass(frozen=True, slots=True)
class SignedEntry:
    """An entry as stored and logged: its body, signature, exact bytes and hash."""

    body: Body
    body_bytes: bytes
    signature: bytes
    data: bytes
    hash: EntryHash

    @property
    def seq(self) -> int:
        return self.body.seq

    @property
    def kind(self) -> EntryKind:
        return self.body.kind


_PREFIX = b'{"body":'
_SIG_SEP = b',"sig":"'
_SUFFIX = b'"}'
_SIG_B64_LEN = 88  # 64 bytes of Ed25519 signature in padded standard base64


def entry_hash(data: bytes) -> EntryHash:
    """RFC 9162 leaf hash of entry bytes."""
    return EntryHash(leaf_hash(data))


def frame(body_bytes: bytes, signature: bytes) -> bytes:
    """The entry bytes for a canonical body and its signature."""
    if len(signature) != 64:
        raise FormatError(f"Ed25519 signature must be 64 bytes, got {len(signature)}")
    return _PREFIX + body_bytes + _SIG_SEP + base64.b64encode(signature) + _SUFFIX


def sign_body(body: Body, key: SigningKey) -> SignedEntry:
    """Sign ``body`` with ``key`` (which must be the body's signer)."""
    if body.signer != key.key_id:
        raise FormatError(f"body names signer {body.signer}, but key {key.name} is {key.key_id}")
    body_bytes = body.to_bytes()
    signature = key.sign_entry(body_bytes)
    data = frame(body_bytes, signature)
    return SignedEntry(body, body_bytes, signature, data, entry_hash(data))


def split_entry(data: bytes, *, where: str) -> tuple[bytes, bytes]:
    """Split entry bytes into (body bytes, signature), checking the exact framing."""
    if len(data) > MAX_ENTRY_BYTES:
        raise FormatError(f"{where}: entry is {len(data)} bytes, over {MAX_ENTRY_BYTES}")
    tail = len(_SIG_SEP) + _SIG_B64_LEN + len(_SUFFIX)
    if not (
        data.startswith(_PREFIX) and data.endswith(_SUFFIX) and len(data) > len(_PREFIX) + tail
    ):
        raise FormatError(f'{where}: entry bytes are not framed as {{"body":…,"sig":"…"}}')
    body_bytes = data[len(_PREFIX) : len(data) - tail]
    if data[len(data) - tail : len(data) - tail + len(_SIG_SEP)] != _SIG_SEP:
        raise FormatError(f"{where}: entry signature field is malformed")
    sig_text = data[len(data) - len(_SUFFIX) - _SIG_B64_LEN : len(data) - len(_SUFFIX)]
    try:
        signature = base64.b64decode(sig_text, validate=True)
    except binascii.Error as exc:
        raise FormatError(f"{where}: entry signature is not standard base64") from exc
    if base64.b64encode(signature) != sig_text or len(signature) != 64:
        raise FormatError(f"{where}: entry signature is not 64 bytes in canonical base64")
    return body_bytes, signature


def parse_entry(data: bytes, *, where: str = "entry") -> SignedEntry:
    """Parse and fully validate entry bytes (framing, canonical JSON, fields); no signature check.

    The fast path: one strict validation of the whole body from its JSON bytes, and a
    canonical-form check on the parsed JSON. Strict validation coerces nothing, and the
    kinds it serves have no defaulted fields, so what it accepts is exactly what
    ``parse_entry_reference`` accepts (tests/property/test_entries_roundtrip.py checks
    this on valid and mutated entries). Anything it does not accept goes to the
    reference, which accepts it or raises its precise message.
    """
    body_bytes, signature = split_entry(data, where=where)
    try:
        model = _BODY.validate_json(body_bytes, strict=True)
        canonical = orjson.dumps(orjson.loads(body_bytes), option=_CANONICAL) == body_bytes
    except (ValidationError, orjson.JSONDecodeError, orjson.JSONEncodeError):
        return parse_entry_reference(data, where=where)
    if not canonical or model.kind in _DEFAULTED or not _real_time(model.ts):
        return parse_entry_reference(data, where=where)
    body = Body(
        log=model.log,
        seq=model.seq,
        prev=EntryHash(bytes.fromhex(model.prev)) if model.prev is not None else None,
        ts=model.ts,
        kind=model.kind,
        signer=KeyId(model.signer),
        payload=model.payload,
    )
    return SignedEntry(body, body_bytes, signature, data, entry_hash(data))


def parse_entry_reference(data: bytes, *, where: str = "entry") -> SignedEntry:
    """``parse_entry`` the plain way: parse, validate field by field, re-encode, compare."""
    body_bytes, signature = split_entry(data, where=where)
    body = _parse_body(load_json(body_bytes, f"{where} body"), where=where)
    # One comparison proves the bytes are canonical RFC 8785 *and* that validation
    # coerced nothing: the typed body re-encodes to exactly the bytes received.
    if body.to_bytes() != body_bytes:
        raise FormatError(
            f"{where}: body is not in canonical form (RFC 8785) or holds values outside "
            "the entry format (floats, wrong types, duplicate keys)"
        )
    return SignedEntry(body, body_bytes, signature, data, entry_hash(data))


@functools.lru_cache(maxsize=64)
def _real_time(ts: str) -> bool:
    """The timestamp (already matching its pattern) names a real instant (cached: the
    entries of one append share their timestamp)."""
    try:
        parse_timestamp(ts)
    except ValueError:
        return False
    return True


def _body_model(kind: EntryKind, payload: type[Payload]) -> type[BaseModel]:
    return create_model(
        f"Body_{kind.replace('.', '_')}",
        __base__=_Model,
        v=(Annotated[int, Field(ge=FORMAT_VERSION, le=FORMAT_VERSION)], ...),
        log=(Annotated[str, Field(min_length=1)], ...),
        seq=(Annotated[int, Field(ge=0)], ...),
        prev=(HexHash | None, ...),
        ts=(Timestamp, ...),
        kind=(Literal[kind], ...),  # type: ignore[arg-type]
        signer=(HexHash, ...),
        payload=(payload, ...),
    )


def _has_defaults(model: type[BaseModel]) -> bool:
    """True if any field of ``model`` or of a model inside it may be left out."""
    return any(
        not info.is_required() or any(_has_defaults(inner) for inner in _models_in(info.annotation))
        for info in model.model_fields.values()
    )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


_BODY: TypeAdapter[Any] = TypeAdapter(
    Annotated[  # type: ignore[arg-type]
        Union[tuple(_body_model(k, t) for k, t in PAYLOAD_TYPES.items())],  # noqa: UP007
        Field(discriminator="kind"),
    ]
)
_DEFAULTED = frozenset(k for k, t in PAYLOAD_TYPES.items() if _has_defaults(t))
"""Kinds whose payload may leave fields out: strict validation would fill them in, so
these (rare) kinds always take the reference path, which requires every field."""
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


_BODY_KEYS = {"v", "log", "seq", "prev", "ts", "kind", "signer", "payload"}
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _parse_body(raw: Any, *, where: str) -> Body:
    if not isinstance(raw, dict) or set(raw) != _BODY_KEYS:
        raise FormatError(f"{where}: body must have exactly the fields {sorted(_BODY_KEYS)}")
    if raw["v"] != FORMAT_VERSION:
        raise FormatError(f"{where}: unsupported entry format version {raw['v']!r}")
    seq, prev, ts, kind, signer = raw["seq"], raw["prev"], raw["ts"], raw["kind"], raw["signer"]
    if type(seq) is not int or seq < 0:
        raise FormatError(f"{where}: seq must be a non-negative integer")
    if not (prev is None or (isinstance(prev, str) and _HEX64.fullmatch(prev))):
        raise FormatError(f"{where}: prev must be null or 64 lowercase hex digits")
    if not isinstance(ts, str) or not _TS.fullmatch(ts):
        raise FormatError(f"{where}: ts must look like 2024-03-20T12:00:00.000000Z")
    try:
        parse_timestamp(ts)
    except ValueError as exc:
        raise FormatError(f"{where}: ts {ts!r} is not a real time") from exc
    if not isinstance(kind, str) or kind not in PAYLOAD_TYPES:
        raise FormatError(f"{where}: unknown entry kind {kind!r}")
    if not isinstance(signer, str) or not _HEX64.fullmatch(signer):
        raise FormatError(f"{where}: signer must be a key id (64 lowercase hex digits)")
    if not isinstance(raw["log"], str) or not raw["log"]:
        raise FormatError(f"{where}: log must be a non-empty string")
    return Body(
        log=raw["log"],
        seq=seq,
        prev=EntryHash(bytes.fromhex(prev)) if prev is not None else None,
        ts=ts,
        kind=kind,
        signer=KeyId(signer),
        payload=parse_payload(kind, raw["payload"], where=where),
    )


def verify_signature(entry: SignedEntry, public_key: bytes) -> None:
    """Raise ``SignatureError`` naming the entry unless its signature verifies under the key."""
    verify_entry_signature(
        public_key, entry.body_bytes, entry.signature, where=f"entry {entry.seq}"
    )
