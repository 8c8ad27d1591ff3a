"""The fast entry parser against the plain reference: same entries, same refusals.

``parse_entry`` validates a whole body strictly from its JSON bytes and checks canonical
form on the parsed JSON; ``parse_entry_reference`` parses, validates field by field,
re-encodes and compares. On valid entries of every kind and on mutated ones (byte edits,
and JSON-level edits aimed at the difference between the two: coercible values, floats,
missing or repeated keys, escapes, whitespace) both must give the same answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.entries import (
    Body,
    Claimant,
    ClaimExtracted,
    ClaimRetracted,
    ExtractorInfo,
    KeyRevoked,
    Quantity,
    Selector,
    SignedEntry,
    SourceRegistered,
    format_timestamp,
    frame,
    parse_entry,
    parse_entry_reference,
    sign_body,
)
from ledger.errors import FormatError
from ledger.signing import SigningKey

KEY = SigningKey.generate("prop")
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
# Strings the entry format allows: no lone surrogates (Cs), no U+0000.
text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=40
)
maybe_text = st.none() | text
days = st.dates().map(lambda d: d.isoformat()).filter(lambda d: len(d) == 10)

claims = st.builds(
    ClaimExtracted,
    source=hexes,
    source_sha256=hexes,
    statement=text,
    selector=st.builds(
        Selector,
        exact=text,
        prefix=st.text(max_size=32),
        suffix=st.text(max_size=32),
        start=st.integers(0, 1000),
        end=st.integers(1, 2000),
    ),
    claimant=st.builds(Claimant, name=maybe_text, role=maybe_text, affiliation=maybe_text),
    reporting=st.sampled_from(["direct_quote", "reported_speech", "assertion"]),
    made_on=st.none() | days,
    quantities=st.lists(
        st.builds(
            Quantity,
            value=st.from_regex(r"-?(0|[1-9][0-9]{0,6})(\.[0-9]{0,3}[1-9])?", fullmatch=True),
            unit=maybe_text,
            approximate=st.booleans(),
            text=text,
        ),
        max_size=2,
    ).map(tuple),
    score=st.integers(0, 1000),
    extractor=st.builds(ExtractorInfo, name=text, version=text, rules_sha256=hexes),
)
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
retractions = st.builds(ClaimRetracted, claim=hexes, follows=hexes, reason=text)
revocations = st.builds(KeyRevoked, key_id=hexes, reason=text)
KINDS = {
    ClaimExtracted: "claim.extracted",
    SourceRegistered: "source.registered",
    ClaimRetracted: "claim.retracted",
    KeyRevoked: "key.revoked",
}


@st.composite
def entries(draw: st.DrawFn) -> SignedEntry:
    payload = draw(st.one_of(claims, sources, retractions, revocations))
    body = Body(
        log=draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1)),
        seq=draw(st.integers(0, 2**53 - 1)),
        prev=draw(st.none() | st.binary(min_size=32, max_size=32)),
        ts=draw(st.datetimes(timezones=st.just(dt.UTC)).map(format_timestamp)),
        kind=KINDS[type(payload)],  # type: ignore[arg-type]
        signer=KEY.key_id,
        payload=payload,
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
