"""Entry kinds, their payloads, and the exact bytes of a signed entry (build and parse).

An entry's bytes are ``{"body":<canonical body>,"sig":"<base64 Ed25519 signature>"}``,
itself canonical JSON; docs/formats/entries.md specifies every byte.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, NewType, Self, TypeVar, Union, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)

from ledger.canonical import canonical_json, canonical_json_typed, load_json
from ledger.errors import FormatError, InvalidInput
from ledger.frozen import quick_init
from ledger.inputs import SHORT_LIMIT, TEXT_LIMIT, string_problem, web_url
from ledger.merkle import leaf_hash
from ledger.signing import KeyId, SigningKey, verify_entry_signature

EntryHash = NewType("EntryHash", bytes)
"""RFC 9162 leaf hash of an entry's bytes: SHA-256(0x00 ‖ bytes); also its Merkle leaf."""

FORMAT_VERSION = 2
"""The version of the entries written from now on; every earlier version stays valid."""
FORMAT_VERSIONS = (1, 2)
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
    "log.key.rotated",
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
            kind: str | None = next((k for t, k in KIND_OF.items() if t is type(self)), None)
            what = kind or str(getattr(type(self), "__where__", type(self).__name__))
            raise InvalidInput(f"{what}: {_first_error(exc)}") from exc

    # Only calls of the class run this; validation (strict parsing of entry bytes, nested
    # models) keeps pydantic's own path, as with a model without an __init__ of its own.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __copy__(self) -> Self:
        """A shallow copy, as pydantic's ``BaseModel.__copy__`` makes it (``model_copy`` and
        ``copy.copy`` call this), without its generic ``copy()`` of each part: these models
        forbid extra fields and have no private attributes, so both are None. A third
        cheaper (a claim's ``source`` filled in with ``model_copy``: decision 0037);
        tests/property/test_model_copy.py compares it with pydantic's."""
        copied = _new_object(type(self))
        _set_attribute(copied, "__dict__", self.__dict__.copy())
        _set_attribute(copied, "__pydantic_extra__", None)
        _set_attribute(copied, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        _set_attribute(copied, "__pydantic_private__", None)
        return copied


_new_object = object.__new__
_set_attribute = object.__setattr__


class KeyRegistered(_Model):
    key_id: HexHash
    name: ShortText
    algorithm: Literal["ed25519"] = "ed25519"
    public_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    roles: tuple[Role, ...]


class KeyRevoked(_Model):
    key_id: HexHash
    reason: ShortText


Base64Signature = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{86}==$")]
"""A 64-byte Ed25519 signature in padded standard base64 (88 characters)."""

ROTATION_DOMAIN = b"claims-ledger/log-key-rotation/v1\n"
"""Prefix of the message the new log key signs to accept a rotation (docs/formats/entries.md):
never valid as an entry signature, whose domain differs."""


class LogKeyRotated(_Model):
    """The log key hands over to a new key: signed by the current log key (the entry's
    signer) and accepted, in ``accept``, by the new one (decision 0022)."""

    key_id: HexHash
    name: ShortText
    algorithm: Literal["ed25519"]
    public_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    reason: ShortText
    accept: Base64Signature


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


Decimal_ = Annotated[str, Field(pattern=r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")]
"""A decimal number as a string: no exponent, no leading zeros, no trailing fractional zeros."""
Bound = Literal["exact", "approximate", "at_least", "more_than", "at_most", "less_than"]
Precision = Literal["day", "month", "year"]
ClaimantKind = Literal["person", "organization", "document"]
MAX_CITES = 8


class ClaimantV1(_Model):
    """A claimant in format version 1: who, with no kind and no cited sources."""

    name: ShortText | None
    role: ShortText | None
    affiliation: ShortText | None

    def current(self) -> Claimant:
        return Claimant.model_construct(
            name=self.name, role=self.role, affiliation=self.affiliation, kind=None, cites=()
        )


class Cited(_Model):
    """A source the claimant cites for the claim (version 2): "citing a military report"."""

    name: ShortText | None
    role: ShortText | None
    affiliation: ShortText | None
    kind: ClaimantKind | None

    @model_validator(mode="after")
    def _says_something(self) -> Cited:
        if self.name is None and self.role is None and self.affiliation is None:
            raise ValueError("a cited source needs a name, a role or an affiliation")
        return self


class Claimant(_Model):
    """Who is reported to have made the claim (version 2), and what they cite, nearest
    first; ``name`` and ``role`` null means unattributed."""

    name: ShortText | None
    role: ShortText | None
    affiliation: ShortText | None
    kind: ClaimantKind | None
    cites: Annotated[tuple[Cited, ...], Field(max_length=MAX_CITES)]


class QuantityV1(_Model):
    """A quantity in format version 1: exact or approximate."""

    value: Decimal_
    unit: ShortText | None
    approximate: bool
    text: ShortText

    def current(self) -> Quantity:
        bound: Bound = "approximate" if self.approximate else "exact"
        return Quantity.model_construct(
            value=self.value, unit=self.unit, bound=bound, high=None, text=self.text
        )


class Quantity(_Model):
    """A figure (version 2): ``value``, how it bounds the true figure, and a range's
    upper end ``high`` (greater than ``value``) if it is a range."""

    value: Decimal_
    unit: ShortText | None
    bound: Bound
    high: Decimal_ | None
    text: ShortText

    @model_validator(mode="after")
    def _high_above_value(self) -> Quantity:
        if self.high is not None and Decimal(self.high) <= Decimal(self.value):
            raise ValueError(f"high {self.high} must be greater than value {self.value}")
        return self

    @property
    def approximate(self) -> bool:
        """Whether the figure is not exact (any bound but ``exact``)."""
        return self.bound != "exact"


class ExtractorInfo(_Model):
    name: ShortText
    version: ShortText
    rules_sha256: HexHash


def _check_precision(made_on: str | None, precision: str | None, where: str) -> None:
    """``precision`` is null exactly when ``made_on`` is; a month is stored as its first
    day, a year as its January 1."""
    if (made_on is None) != (precision is None):
        raise ValueError(f"{where}made_on_precision must be null exactly when made_on is null")
    if made_on is None:
        return
    if precision == "month" and not made_on.endswith("-01"):
        raise ValueError(f"{where}made_on {made_on} of precision month must be the month's day 01")
    if precision == "year" and not made_on.endswith("-01-01"):
        raise ValueError(f"{where}made_on {made_on} of precision year must be its January 1")


class Extraction(_Model):
    """What a ``claim.extracted`` payload holds in every format version."""

    source: HexHash  # entry hash of the source.registered entry
    source_sha256: HexHash
    statement: Text
    selector: Selector
    reporting: Reporting
    made_on: Day | None
    score: Annotated[int, Field(ge=0, le=1000)]
    extractor: ExtractorInfo


class ClaimExtractedV1(Extraction):
    """``claim.extracted`` in format version 1."""

    claimant: ClaimantV1
    quantities: tuple[QuantityV1, ...]

    def current(self) -> ClaimExtracted:
        fields = {name: getattr(self, name) for name in Extraction.model_fields}
        return ClaimExtracted.model_construct(
            **fields,
            claimant=self.claimant.current(),
            made_on_precision="day" if self.made_on is not None else None,
            quantities=tuple(q.current() for q in self.quantities),
        )


class ClaimExtracted(Extraction):
    """``claim.extracted`` in format version 2."""

    claimant: Claimant
    made_on_precision: Precision | None
    quantities: tuple[Quantity, ...]

    @model_validator(mode="after")
    def _precision_matches(self) -> ClaimExtracted:
        _check_precision(self.made_on, self.made_on_precision, "")
        return self


class ClaimChangesV1(_Model):
    """The fields a version 1 revision may set; ``None`` means unchanged."""

    statement: Text | None = None
    claimant: ClaimantV1 | None = None
    reporting: Reporting | None = None
    made_on: Day | None = None
    quantities: tuple[QuantityV1, ...] | None = None

    def current(self) -> ClaimChanges:
        return ClaimChanges.model_construct(
            statement=self.statement,
            claimant=self.claimant.current() if self.claimant is not None else None,
            reporting=self.reporting,
            made_on=self.made_on,
            made_on_precision="day" if self.made_on is not None else None,
            quantities=(
                None if self.quantities is None else tuple(q.current() for q in self.quantities)
            ),
        )


class ClaimChanges(_Model):
    """The fields a revision may set (version 2); ``None`` means unchanged. ``made_on`` and
    ``made_on_precision`` are set together."""

    statement: Text | None = None
    claimant: Claimant | None = None
    reporting: Reporting | None = None
    made_on: Day | None = None
    made_on_precision: Precision | None = None
    quantities: tuple[Quantity, ...] | None = None

    def __init__(self, /, **data: Any) -> None:
        """Built in Python, a ``made_on`` given without its precision is a day (parsed
        entries must say it: the field is required in every ``claim.revised``)."""
        if data.get("made_on") is not None and "made_on_precision" not in data:
            data["made_on_precision"] = "day"
        super().__init__(**data)

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="after")
    def _precision_matches(self) -> ClaimChanges:
        _check_precision(self.made_on, self.made_on_precision, "")
        return self


class Revision(_Model):
    """What a ``claim.revised`` payload holds in every format version."""

    claim: HexHash
    follows: HexHash
    reason: ShortText


class ClaimRevisedV1(Revision):
    """``claim.revised`` in format version 1."""

    changes: ClaimChangesV1

    def current(self) -> ClaimRevised:
        return ClaimRevised.model_construct(
            claim=self.claim,
            follows=self.follows,
            changes=self.changes.current(),
            reason=self.reason,
        )


class ClaimRevised(Revision):
    """``claim.revised`` in format version 2."""

    changes: ClaimChanges


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


def _web_address(value: str) -> str:
    """An absolute http(s) URL with a host (``ledger.inputs.web_url``): pages link it and
    the ClaimReview export hands it on, so nothing a browser could run gets in."""
    if web_url(value) is None:
        raise ValueError(f"{value[:80]!r} is not an absolute http or https URL")
    return value


REVIEWER_NAME_LIMIT = 200
REVIEWER_URL_LIMIT = 2_000
ReviewerType = Literal["Person", "Organization"]


class Reviewer(_Model):
    """Who stands behind a review, in schema.org terms: the ClaimReview's ``author``."""

    __where__: ClassVar[str] = "reviewer"

    name: Annotated[
        str, Field(min_length=1, max_length=REVIEWER_NAME_LIMIT), AfterValidator(_storable)
    ]
    type: ReviewerType
    url: (
        Annotated[
            str,
            Field(min_length=1, max_length=REVIEWER_URL_LIMIT),
            AfterValidator(_storable),
            AfterValidator(_web_address),
        ]
        | None
    ) = None


class ClaimReviewed(_Model):
    """``claim.reviewed``. ``reviewer`` was added after entries without it were signed, so
    it is left out of the payload's JSON when absent (never ``"reviewer":null``): a review
    without a reviewer has the same bytes as before the field existed."""

    __omit_when_none__: ClassVar[frozenset[str]] = frozenset({"reviewer"})

    claim: HexHash
    follows: HexHash
    rating: Rating
    note: Text | None = None
    url: ShortText | None = None
    reviewer: Reviewer | None = None


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
    | ClaimExtractedV1
    | ClaimRevisedV1
    | ClaimantLinked
    | ClaimantUnlinked
    | LogKeyRotated
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
    "log.key.rotated": LogKeyRotated,
}
"""The payload of each kind in the current format version (``FORMAT_VERSION``)."""
V1_KINDS: tuple[EntryKind, ...] = (
    "key.registered",
    "key.revoked",
    "source.registered",
    "claim.extracted",
    "claim.revised",
    "claim.retracted",
    "claim.reviewed",
)
"""The kinds format version 1 has (kinds added later exist from version 2 on)."""
_V1_SHAPES: dict[EntryKind, type[Payload]] = {
    "claim.extracted": ClaimExtractedV1,
    "claim.revised": ClaimRevisedV1,
}
PAYLOADS_BY_VERSION: dict[int, dict[EntryKind, type[Payload]]] = {
    1: {kind: _V1_SHAPES.get(kind, PAYLOAD_TYPES[kind]) for kind in V1_KINDS},
    2: PAYLOAD_TYPES,
}
KIND_OF: dict[type[Payload], EntryKind] = {
    t: k for version in PAYLOADS_BY_VERSION.values() for k, t in version.items()
}


KEY_PAYLOADS = (KeyRegistered, KeyRevoked, LogKeyRotated)
"""The payloads of key entries: those that register, revoke or rotate a key."""
KEY_KINDS: tuple[EntryKind, ...] = ("key.registered", "key.revoked", "log.key.rotated")
KEY_KIND_MARKS: tuple[bytes, ...] = tuple(f'"kind":"{k}"'.encode() for k in KEY_KINDS)
"""Byte strings one of which every key entry holds (a cheap filter before parsing)."""


def looks_like_key_entry(data: bytes) -> bool:
    """True if ``data`` may be a key entry (it holds one of ``KEY_KIND_MARKS``; parse to be sure)."""
    return any(mark in data for mark in KEY_KIND_MARKS)


def rotation_message(body: Body) -> bytes:
    """What the new key signs to accept a ``log.key.rotated`` entry: the rotation domain,
    then the canonical body with ``accept`` left out of the payload."""
    payload = payload_json(body.payload)
    payload.pop("accept", None)
    return rotation_message_for(body.to_json_head(), payload)


def rotation_message_for(head: dict[str, Any], payload: dict[str, Any]) -> bytes:
    """``rotation_message`` before the payload exists: ``head`` as ``Body.to_json_head``,
    ``payload`` every field but ``accept``."""
    return ROTATION_DOMAIN + canonical_json({**head, "payload": payload})


def current_payload(payload: Payload) -> Payload:
    """The payload in the current format's shape: a version 1 claim or revision as version
    2 would say it (bound ``approximate``/``exact``, precision ``day`` when ``made_on`` is
    set, claimant kind null and no cited sources); every other payload as it is."""
    if type(payload) is ClaimExtracted:  # nine entries in ten: no union isinstance
        return payload
    if isinstance(payload, ClaimExtractedV1 | ClaimRevisedV1):
        return payload.current()
    return payload


def payload_json(payload: Payload) -> dict[str, Any]:
    """The JSON object of a payload, every field present (absent optionals are null),
    except a field added later that is left out when absent (``__omit_when_none__``)."""
    out = payload.model_dump(mode="json")
    for name in getattr(payload, "__omit_when_none__", ()):
        if out.get(name, 0) is None:
            del out[name]
    return out


def current_extraction(payload: Extraction) -> ClaimExtracted:
    """A ``claim.extracted`` payload of any version in the current shape (``current_payload``)."""
    if isinstance(payload, ClaimExtractedV1):
        return payload.current()
    assert isinstance(payload, ClaimExtracted)
    return payload


def parse_payload(
    kind: EntryKind, value: Any, *, where: str, version: int = FORMAT_VERSION
) -> Payload:
    try:
        return PAYLOADS_BY_VERSION[version][kind].model_validate(value)
    except ValidationError as exc:
        raise FormatError(f"{where}: {kind} payload is invalid: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


M = TypeVar("M", bound=BaseModel)


def build(model: type[M], *, where: str, **fields: Any) -> M:
    """A payload (or part of one) from given values; ``InvalidInput`` naming the first field
    that breaks the entry format (a date that is not a real calendar date, a bad hash)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise InvalidInput(f"{where}: {_first_error(exc)}") from exc
    except InvalidInput as exc:  # a payload model's own constructor names the model
        raise InvalidInput(f"{where}: {exc}") from exc


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


@quick_init
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
    v: int = FORMAT_VERSION
    """The format version; the payload has that version's shape for its kind."""

    def to_json(self) -> dict[str, Any]:
        return {**self.to_json_head(), "payload": payload_json(self.payload)}

    def to_bytes(self) -> bytes:
        # The payload model goes in as is: its fields are serialized directly (the same
        # bytes as payload_json, without building that dict first). The head's fields are
        # spelled out as in to_json_head (one dict, not two: this runs once an append).
        prev = self.prev
        return canonical_json_typed(
            {
                "v": self.v,
                "log": self.log,
                "seq": self.seq,
                "prev": prev.hex() if prev is not None else None,
                "ts": self.ts,
                "kind": self.kind,
                "signer": self.signer,
                "payload": self.payload,
            }
        )

    def to_json_head(self) -> dict[str, Any]:
        """Every body field but the payload, as JSON values."""
        return {
            "v": self.v,
            "log": self.log,
            "seq": self.seq,
            "prev": self.prev.hex() if self.prev is not None else None,
            "ts": self.ts,
            "kind": self.kind,
            "signer": self.signer,
        }


@quick_init
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


_sha256 = hashlib.sha256
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
    shape = PAYLOADS_BY_VERSION.get(body.v, {}).get(body.kind)
    if shape is not type(body.payload):
        raise FormatError(
            f"a {type(body.payload).__name__} payload is not a {body.kind} entry of format "
            f"version {body.v}"
        )
    body_bytes = body.to_bytes()
    signature = key.sign_entry(body_bytes)
    if len(signature) != 64:
        raise FormatError(f"Ed25519 signature must be 64 bytes, got {len(signature)}")
    # frame() and entry_hash(), inlined (their references; tests/property/test_signatures.py
    # compares): this runs once an append.
    data = b"".join(
        (_PREFIX, body_bytes, _SIG_SEP, binascii.b2a_base64(signature, newline=False), _SUFFIX)
    )
    return SignedEntry(
        body, body_bytes, signature, data, EntryHash(_sha256(b"\x00" + data).digest())
    )


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
    # Keys are sorted, so a canonical body ends with its version: "v":N}.
    adapter = _BODIES.get(body_bytes[-3:-1]) if body_bytes.endswith(b"}") else None
    if adapter is None or body_bytes[-6:-3] != b'"v"':
        return parse_entry_reference(data, where=where)
    try:
        model = adapter.validate_json(body_bytes, strict=True)
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
        v=model.v,
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


def _body_model(version: int, kind: EntryKind, payload: type[Payload]) -> type[BaseModel]:
    return create_model(
        f"Body_v{version}_{kind.replace('.', '_')}",
        __base__=_Model,
        v=(Annotated[int, Field(ge=version, le=version)], ...),
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


def _body_adapter(version: int) -> TypeAdapter[Any]:
    """Strict validation of a whole body of ``version``, its kind picking the payload."""
    kinds = PAYLOADS_BY_VERSION[version]
    return TypeAdapter(
        Annotated[  # type: ignore[arg-type]
            Union[tuple(_body_model(version, k, t) for k, t in kinds.items())],  # noqa: UP007
            Field(discriminator="kind"),
        ]
    )


_BODIES: dict[bytes, TypeAdapter[Any]] = {
    f":{version}".encode(): _body_adapter(version) for version in FORMAT_VERSIONS
}
"""Body validators by the last bytes before a body's closing brace (``:1``, ``:2``)."""
_DEFAULTED = frozenset(
    k for kinds in PAYLOADS_BY_VERSION.values() for k, t in kinds.items() if _has_defaults(t)
)
"""Kinds whose payload may leave fields out: strict validation would fill them in, so
these (rare) kinds always take the reference path, which requires every field."""
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


_BODY_KEYS = {"v", "log", "seq", "prev", "ts", "kind", "signer", "payload"}
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _parse_body(raw: Any, *, where: str) -> Body:
    if not isinstance(raw, dict) or set(raw) != _BODY_KEYS:
        raise FormatError(f"{where}: body must have exactly the fields {sorted(_BODY_KEYS)}")
    version = raw["v"]
    if type(version) is not int or version not in PAYLOADS_BY_VERSION:
        raise FormatError(f"{where}: unsupported entry format version {version!r}")
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
    if not isinstance(kind, str) or kind not in PAYLOADS_BY_VERSION[version]:
        raise FormatError(f"{where}: unknown entry kind {kind!r} (format version {version})")
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
        payload=parse_payload(kind, raw["payload"], where=where, version=version),
        v=version,
    )


def verify_signature(entry: SignedEntry, public_key: bytes) -> None:
    """Raise ``SignatureError`` naming the entry unless its signature verifies under the key."""
    verify_entry_signature(
        public_key, entry.body_bytes, entry.signature, where=f"entry {entry.seq}"
    )
