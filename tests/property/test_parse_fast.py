"""The fast entry parser against the plain reference: same entries, same refusals.

``parse_entry`` validates a whole body strictly from its JSON bytes and checks canonical
form on the parsed JSON; ``parse_entry_reference`` parses, validates field by field,
re-encodes and compares. On valid entries of every kind and on mutated ones (byte edits,
and JSON-level edits aimed at the difference between the two: coercible values, floats,
missing or repeated keys, escapes, whitespace) both must give the same answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.entries import (
    Body,
    Cited,
    Claimant,
    ClaimantV1,
    ClaimChanges,
    ClaimChangesV1,
    ClaimExtracted,
    ClaimExtractedV1,
    ClaimRetracted,
    ClaimRevised,
    ClaimRevisedV1,
    ExtractorInfo,
    KeyRevoked,
    LogKeyRotated,
    Quantity,
    QuantityV1,
    Selector,
    SignedEntry,
    SourceRegistered,
    build,
    format_timestamp,
    frame,
    parse_entry,
    parse_entry_reference,
    rotation_message,
    sign_body,
    split_entry,
)
from ledger.errors import FormatError, InvalidInput
from ledger.signing import SigningKey

KEY = SigningKey.generate("prop")
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
# Strings the entry format allows: no lone surrogates (Cs), no U+0000.
storable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
text = st.text(storable, min_size=1, max_size=40)
maybe_text = st.none() | text
days = st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10)

decimals = st.from_regex(r"-?(0|[1-9][0-9]{0,6})(\.[0-9]{0,3}[1-9])?", fullmatch=True)
selectors = st.builds(
    Selector,
    exact=text,
    prefix=st.text(storable, max_size=32),
    suffix=st.text(storable, max_size=32),
    start=st.integers(0, 1000),
    end=st.integers(1, 2000),
)
kinds = st.none() | st.sampled_from(["person", "organization", "document"])
claimants_v1 = st.builds(ClaimantV1, name=maybe_text, role=maybe_text, affiliation=maybe_text)
claimants = st.builds(
    Claimant,
    name=maybe_text,
    role=maybe_text,
    affiliation=maybe_text,
    kind=kinds,
    cites=st.lists(
        st.builds(Cited, name=text, role=maybe_text, affiliation=maybe_text, kind=kinds),
        max_size=2,
    ).map(tuple),
)
quantities_v1 = st.lists(
    st.builds(QuantityV1, value=decimals, unit=maybe_text, approximate=st.booleans(), text=text),
    max_size=2,
).map(tuple)


@st.composite
def quantity(draw: st.DrawFn) -> Quantity:
    value = draw(decimals)
    high = draw(st.none() | st.integers(1, 10**6).map(lambda n: str(abs(int(float(value))) + n)))
    bound = draw(
        st.sampled_from(["exact", "approximate", "at_least", "more_than", "at_most", "less_than"])
    )
    return Quantity(value=value, unit=draw(maybe_text), bound=bound, high=high, text=draw(text))


quantities = st.lists(quantity(), max_size=2).map(tuple)


@st.composite
def dated(draw: st.DrawFn) -> tuple[str | None, str | None]:
    """(made_on, made_on_precision) as version 2 allows them."""
    day = draw(st.none() | days)
    if day is None:
        return None, None
    precision = draw(st.sampled_from(["day", "month", "year"]))
    if precision == "month":
        day = day[:8] + "01"
    elif precision == "year":
        day = day[:5] + "01-01"
    return day, precision


extractors = st.builds(ExtractorInfo, name=text, version=text, rules_sha256=hexes)
claims_v1 = st.builds(
    ClaimExtractedV1,
    source=hexes,
    source_sha256=hexes,
    statement=text,
    selector=selectors,
    claimant=claimants_v1,
    reporting=st.sampled_from(["direct_quote", "reported_speech", "assertion"]),
    made_on=st.none() | days,
    quantities=quantities_v1,
    score=st.integers(0, 1000),
    extractor=extractors,
)


@st.composite
def _claims(draw: st.DrawFn) -> ClaimExtracted:
    made_on, precision = draw(dated())
    return ClaimExtracted(
        source=draw(hexes),
        source_sha256=draw(hexes),
        statement=draw(text),
        selector=draw(selectors),
        claimant=draw(claimants),
        reporting=draw(st.sampled_from(["direct_quote", "reported_speech", "assertion"])),
        made_on=made_on,
        made_on_precision=precision,
        quantities=draw(quantities),
        score=draw(st.integers(0, 1000)),
        extractor=draw(extractors),
    )


claims = _claims()
sources = st.builds(
    SourceRegistered,
    sha256=hexes,
    text_sha256=hexes,
    size=st.integers(1, 2**53 - 1),
    media_type=text,
    uri=maybe_text,
    title=maybe_text,
    publisher=maybe_text,
    published=st.none() | days,
    retrieved_at=st.none() | st.datetimes(timezones=st.just(dt.UTC)).map(format_timestamp),
)
revisions_v1 = st.builds(
    ClaimRevisedV1,
    claim=hexes,
    follows=hexes,
    changes=st.builds(
        ClaimChangesV1, claimant=st.none() | claimants_v1, quantities=st.none() | quantities_v1
    ),
    reason=text,
)
revisions = st.builds(
    ClaimRevised,
    claim=hexes,
    follows=hexes,
    changes=st.builds(
        ClaimChanges, claimant=st.none() | claimants, quantities=st.none() | quantities
    ),
    reason=text,
)
retractions = st.builds(ClaimRetracted, claim=hexes, follows=hexes, reason=text)
revocations = st.builds(KeyRevoked, key_id=hexes, reason=text)
rotations = st.builds(
    LogKeyRotated,
    key_id=hexes,
    name=text,
    algorithm=st.just("ed25519"),
    public_key=st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
    reason=text,
    accept=st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode()),
)
KINDS = {
    LogKeyRotated: "log.key.rotated",
    ClaimExtracted: "claim.extracted",
    ClaimExtractedV1: "claim.extracted",
    ClaimRevised: "claim.revised",
    ClaimRevisedV1: "claim.revised",
    SourceRegistered: "source.registered",
    ClaimRetracted: "claim.retracted",
    KeyRevoked: "key.revoked",
}


@st.composite
def entries(draw: st.DrawFn) -> SignedEntry:
    version = draw(st.sampled_from([1, 2]))
    claim = claims_v1 if version == 1 else claims
    revision = revisions_v1 if version == 1 else revisions
    added = (rotations,) if version == 2 else ()  # kinds that exist from version 2 on
    payload = draw(st.one_of(claim, revision, sources, retractions, revocations, *added))
    body = Body(
        log=draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1)),
        seq=draw(st.integers(0, 2**53 - 1)),
        prev=draw(st.none() | st.binary(min_size=32, max_size=32)),
        ts=draw(st.datetimes(timezones=st.just(dt.UTC)).map(format_timestamp)),
        kind=KINDS[type(payload)],  # type: ignore[arg-type]
        signer=KEY.key_id,
        payload=payload,
        v=version,
    )
    return sign_body(body, KEY)


def outcome(parse: Any, data: bytes) -> SignedEntry | str:
    try:
        return parse(data, where="e")  # type: ignore[no-any-return]
    except FormatError as exc:
        return f"FormatError: {exc}"


def same(data: bytes) -> None:
    assert outcome(parse_entry, data) == outcome(parse_entry_reference, data)


@given(entries())
def test_valid_entries_parse_alike(entry: SignedEntry) -> None:
    assert parse_entry(entry.data) == parse_entry_reference(entry.data) == entry
    # Bodies serialize their payload models directly; the dumped-dict route agrees.
    assert entry.body_bytes == canonical_json(entry.body.to_json())


@settings(max_examples=300)
@given(entries(), st.data())
def test_byte_edits_are_judged_alike(entry: SignedEntry, data: st.DataObject) -> None:
    raw = bytearray(entry.data)
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    same(bytes(raw))


def _replace_somewhere(value: Any, path: list[Any], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace_somewhere(value[head], rest, new)
    return copy


def _paths(value: Any, prefix: list[Any]) -> list[list[Any]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, [*prefix, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, [*prefix, index])
    return out


ODD_VALUES = st.sampled_from(
    [1.0, 1.5, "1", "", True, False, None, 0, -1, 2**53, [], {}, "a\n", "x" * 3000, "\u00e9"]
)


@settings(max_examples=400)
@given(entries(), st.data())
def test_json_edits_are_judged_alike(entry: SignedEntry, data: st.DataObject) -> None:
    """A value anywhere replaced by one the lax and strict validators might treat apart,
    re-signed so only the format decides."""
    body = orjson.loads(entry.body_bytes)
    path = data.draw(st.sampled_from(_paths(body, [])[1:]))
    edited = _replace_somewhere(body, path, data.draw(ODD_VALUES))
    try:
        body_bytes = orjson.dumps(edited, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return
    same(frame(body_bytes, KEY.sign_entry(body_bytes)))


@given(entries(), st.sampled_from(["drop", "space", "duplicate", "escape", "newline"]))
@example(entry=None, how="newline")  # type: ignore[arg-type]
def test_framing_level_edits_are_judged_alike(entry: SignedEntry | None, how: str) -> None:
    if entry is None:
        return
    body = entry.body_bytes
    if how == "drop":
        edited = orjson.loads(body)
        edited["payload"].pop(sorted(edited["payload"])[0])
        body = orjson.dumps(edited, option=orjson.OPT_SORT_KEYS)
    elif how == "space":
        body = body.replace(b'":', b'": ', 1)
    elif how == "duplicate":
        body = body[:-1] + b',"v":1}'
    elif how == "escape":
        body = body.replace(b'"ts":"2', b'"ts":"\\u0032', 1)
    else:
        body = body.replace(b'Z","v"', b'Z\\n","v"', 1)
    same(frame(body, KEY.sign_entry(body)))


UNREAL_DAYS = st.sampled_from(
    [
        "2024-02-30",
        "0000-00-00",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "yesterday",
        "2024-1-01",
        "2024-01-01T00:00",
        "\u0662\u0660\u0662\u0664-01-01",
    ]
)
UNREAL_TIMES = st.sampled_from(
    [
        "2024-02-30T00:00:00.000000Z",
        "2024-01-01T24:00:00.000000Z",
        "0000-01-01T00:00:00.000000Z",
        "2024-01-01T12:60:00.000000Z",
        "2024-01-01T12:00:60.000000Z",
        "2024-01-01 12:00:00.000000Z",
    ]
)
DATE_FIELDS = {"ts", "published", "made_on", "retrieved_at"}


@settings(max_examples=150)
@given(entries(), st.data())
def test_dates_that_are_not_real_are_refused_alike(entry: SignedEntry, data: st.DataObject) -> None:
    """Every date (``published``, ``made_on``) is a real calendar date and every timestamp
    (``ts``, ``retrieved_at``) a real instant, in both parsers."""
    body = orjson.loads(entry.body_bytes)
    path = data.draw(st.sampled_from([p for p in _paths(body, []) if p and p[-1] in DATE_FIELDS]))
    value = data.draw(UNREAL_TIMES if path[-1] in ("ts", "retrieved_at") else UNREAL_DAYS)
    body_bytes = orjson.dumps(_replace_somewhere(body, path, value), option=orjson.OPT_SORT_KEYS)
    raw = frame(body_bytes, KEY.sign_entry(body_bytes))
    fast = outcome(parse_entry, raw)
    assert isinstance(fast, str) and fast == outcome(parse_entry_reference, raw)
    assert repr(value) in fast or "ts must look like" in fast


@given(days, st.sampled_from(["2024-02-30", "0000-00-00", "2100-02-29", "yesterday"]))
def test_a_revision_made_on_a_day_that_does_not_exist_is_refused(good: str, bad: str) -> None:
    revision = ClaimRevised(
        claim="a" * 64,
        follows="a" * 64,
        changes=ClaimChanges(made_on=good, made_on_precision="day"),
        reason="r",
    )
    entry = sign_body(
        Body(
            "l", 1, b"\0" * 32, "2024-03-20T12:00:00.000000Z", "claim.revised", KEY.key_id, revision
        ),
        KEY,
    )
    assert parse_entry(entry.data) == entry
    raw = entry.data.replace(f'"made_on":"{good}"'.encode(), f'"made_on":"{bad}"'.encode())
    body_bytes, _ = split_entry(raw, where="e")
    raw = frame(body_bytes, KEY.sign_entry(body_bytes))
    for parse in (parse_entry, parse_entry_reference):
        with pytest.raises(FormatError, match=f"changes.made_on: '{bad}' is not a"):
            parse(raw, where="e")
    with pytest.raises(InvalidInput, match=f"made_on: '{bad}' is not a"):
        build(ClaimChanges, where="revision", made_on=bad)


@st.composite
def rotation_entries(draw: st.DrawFn) -> SignedEntry:
    body = Body(
        log=draw(st.text(min_size=1)),
        seq=draw(st.integers(1, 2**53 - 1)),
        prev=draw(st.binary(min_size=32, max_size=32)),
        ts=draw(st.datetimes(timezones=st.just(dt.UTC)).map(format_timestamp)),
        kind="log.key.rotated",
        signer=KEY.key_id,
        payload=draw(rotations),
    )
    return sign_body(body, KEY)


@given(rotation_entries())
def test_the_rotation_message_is_the_body_bytes_without_accept(entry: SignedEntry) -> None:
    """``rotation_message`` (built from the typed body) against the plain definition in
    docs/formats/entries.md, built from the entry's bytes: the body's JSON with
    ``payload.accept`` removed, canonical (sorted keys, no whitespace, UTF-8 as is)."""
    body = json.loads(entry.body_bytes)
    del body["payload"]["accept"]
    plain = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = b"claims-ledger/log-key-rotation/v1\n" + plain.encode("utf-8")
    assert rotation_message(entry.body) == expected
