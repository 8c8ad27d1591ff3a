"""Hostile GraphQL input against two ledgers holding the same bytes, one on SQLite and one
on PostgreSQL: every expected failure is a typed error (never INTERNAL_SERVER_ERROR),
both databases give the same answer (data, error codes and paths, HTTP status), and a
refused mutation leaves both logs as they were.

The generated requests cover ids, cursors, filters, orderBy, first/last, asOf, the
mutations' inputs (revise, retract, review, ingestSource text, submitSignedEntry data)
and variables of odd JSON shapes. ``FUZZ_EXAMPLES`` requests are generated per run
(derandomized, so CI sees the same ones every time), after the reported abuse inputs,
which run as explicit examples and each get their own typed-error assertion below.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from api.app import create_app
from ledger.config import Settings
from ledger.entries import Claimant, ClaimChanges, Rating
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import Instance, open_instance
from ledger.signing import KeyRing, SigningKey
from ledger.tokens import create_token
from tests.api.conftest import _free_port
from tests.conftest import POSTGRES_URL, SEED, require_postgres
from tests.helpers import ROOT, add_source, add_source_with_claims, claim_payload, source_sha
from tests.liveness import wait_until_healthy

FUZZ_EXAMPLES = 150
CLOCK = dt.datetime(2024, 3, 20, 12, 0, tzinfo=dt.UTC)


@dataclass
class Side:
    """One served ledger: its instance, its app and its bearer tokens by role."""

    instance: Instance
    app: Starlette
    tokens: dict[str, str]

    def size(self) -> int:
        return self.instance.ledger.head().size


@dataclass(repr=False)
class Twins:
    sides: list[Side]
    claim_ids: list[str]
    heads: list[str]
    cursors: list[str] = field(default_factory=list)


def _key(keyring: KeyRing, name: str) -> SigningKey:
    return keyring.load(name) if keyring.exists(name) else keyring.create(name)


def _build(home: Path, url: str) -> Side:
    """The same content as tests/api/conftest.py's ``served``, under a fixed clock and keys
    shared through ``home``, so both databases hold byte-identical logs."""
    settings_ = Settings(home=home, database_url=url, passphrase=b"pw")
    instance = open_instance(settings_, bootstrap=False)
    ledger = instance.ledger
    ledger.clock = lambda: CLOCK
    ledger.log_key = _key(instance.keyring, settings_.log_key_name)
    writer = _key(instance.keyring, settings_.writer_key_name)
    ledger.ensure_genesis(ledger.log_key)
    ledger.ensure_key(ledger.log_key, writer, ("writer",))
    ingest_paths(ledger, writer, [SEED], extractor=DeterministicExtractor())
    ids = []
    for n in range(2):
        ids += add_source_with_claims(ledger, writer, n, claims=3)
    with ledger.batch() as batch:  # claimants that databases fold and sort differently
        source = add_source(batch, writer, 7)
        for n, name in enumerate(["ÉMILE Zoë", None, "émile", None]):
            claim = claim_payload(source.hash.hex(), source_sha(7), n)
            who = Claimant(
                name=name, role="x" if n == 3 else None, affiliation=None, kind=None, cites=()
            )
            batch.add(claim.model_copy(update={"claimant": who}), writer)
    revised = ledger.revise_claim(
        writer,
        ids[0],
        follows=ids[0],
        changes=ClaimChanges(statement="North Korea sent about 6,700 containers."),
        reason="ministry correction",
    )
    ledger.review_claim(
        ledger.log_key,
        ids[0],
        follows=revised.hash.hex(),
        rating=Rating(textual="Mostly true", value=4, best=5, worst=1),
        note="checked",
    )
    tokens = {
        "writer": create_token(ledger.store, "writer", writer),
        "reviewer": create_token(ledger.store, "reviewer", ledger.log_key),
    }
    app = create_app(ledger, keyring=instance.keyring, timeout=None)
    return Side(instance, app, tokens)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twins]:
    require_postgres()
    root = tmp_path_factory.mktemp("fuzz")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    sides: list[Side] = []
    try:
        sides.append(_build(root / "home", f"sqlite:///{root / 'ledger.sqlite3'}"))
        sides.append(_build(root / "home", f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"))
        logs = [[e.data for e in side.instance.ledger.entries()] for side in sides]
        assert logs[0] == logs[1], "the two ledgers must hold the same bytes"
        ledger = sides[0].instance.ledger
        claims = ledger.store.all_claims()
        twins = Twins(sides, [c.claim_id for c in claims], [c.head for c in claims])
        yield twins
    finally:
        for side in sides:
            side.instance.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass(frozen=True)
class Request:
    """One HTTP request: a GraphQL document with variables (or a raw body), as a role."""

    query: str = ""
    variables: Any = None
    role: str | None = None
    raw: str | None = None

    def body(self) -> str:
        if self.raw is not None:
            return self.raw
        return json.dumps({"query": self.query, "variables": self.variables})


async def _send(app: Starlette, request: Request, token: str | None) -> tuple[int, Any]:
    transport = httpx.ASGITransport(app=app)
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=transport, base_url="http://ledger.test") as client:
        response = await client.post("/graphql", content=request.body(), headers=headers)
    try:
        return response.status_code, response.json()
    except json.JSONDecodeError:  # strawberry answers a body that is not JSON in plain text
        return response.status_code, response.text


def _ask(side: Side, request: Request) -> tuple[int, Any]:
    token = side.tokens[request.role] if request.role is not None else None
    return asyncio.run(_send(side.app, request, token))


def _shape(status: int, body: Any) -> tuple[int, Any, list[tuple[Any, Any]]]:
    """What both databases must agree on: status, data, and each error's code and path."""
    if not isinstance(body, dict):
        return status, body, []
    errors = body.get("errors") or []
    codes = [((e.get("extensions") or {}).get("code"), e.get("path")) for e in errors]
    return status, body.get("data"), codes


_SUCCESS = {"ClaimChanged", "SourceIngested", "EntryAccepted"}


def _accepted(body: Any) -> bool:
    data = body.get("data") if isinstance(body, dict) else None
    return any(
        isinstance(value, dict) and value.get("__typename") in _SUCCESS
        for value in (data or {}).values()
    )


def run_on_both(twins: Twins, request: Request) -> tuple[int, Any]:
    """Send ``request`` to both ledgers; check the invariants; return SQLite's answer."""
    before = [side.size() for side in twins.sides]
    answers = [_ask(side, request) for side in twins.sides]
    for status, body in answers:
        assert status in (200, 400, 413), (status, body)
        for error in body.get("errors") or [] if isinstance(body, dict) else []:
            code = (error.get("extensions") or {}).get("code")
            assert code != "INTERNAL_SERVER_ERROR", (request, error)
            assert error.get("message") != "INTERNAL_SERVER_ERROR", (request, error)
    sqlite, postgres = (_shape(*answer) for answer in answers)
    assert sqlite == postgres, (request, answers)
    after = [side.size() for side in twins.sides]
    if not _accepted(answers[0][1]):
        assert after == before, (request, answers[0])
    assert after[0] == after[1]
    return answers[0]


# -- strategies -------------------------------------------------------------------------

NASTY = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "%",
    "_",
    "\\",
    "%_" * 25_000,
    "١٢",
    "9" * 5000,
    "yesterday",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "'; DROP TABLE claims; --",
    "Shin",
    "Example News",
    "émile",
    "ZOË",
    "Zoë",
    "x" * 2001,
]
_alphabet = st.sampled_from(
    ["a", "Z", "0", "9", ":", "-", "%", "_", "\\", "\x00", "\ud800", "\udfff", "é", "١", " "]
)
strings = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.text(_alphabet, max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=10),
)


def _b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


numbers = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(["", "-0", "007", "١٢", "9" * 30, "9" * 5000, str(2**53), str(2**63), "1e3"]),
)
cursor_texts = st.one_of(
    st.builds(lambda n: f"seq:{n}", numbers),
    st.builds(
        lambda f, d, s, k: f"claims:{f}:{d}:{s}:{k}",
        st.sampled_from(["recorded", "made_on", "source_published", "score", "nope"]),
        st.sampled_from(["asc", "desc", "up"]),
        numbers,
        st.one_of(numbers, st.sampled_from(["", "2024-03-18", "2024-13-01", "\x00"])),
    ),
    strings,
)
cursors = st.one_of(cursor_texts.map(_b64url), strings)
ints = st.one_of(
    st.none(), st.integers(-5, 120), st.sampled_from([0, 2**31 - 1, -(2**31), 1000, 101])
)


@st.composite
def ids(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            strings,
            st.text("0123456789abcdefABCDEF", min_size=63, max_size=65),
            st.builds(
                lambda t, k: _b64url(f"{t}:{k}"), st.sampled_from(["Claim", "Source"]), strings
            ),
        )
    )


filters = st.fixed_dictionaries(
    {},
    optional={
        name: strings
        for name in (
            "search",
            "claimant",
            "source",
            "publisher",
            "madeFrom",
            "madeTo",
            "publishedFrom",
            "publishedTo",
            "recordedFrom",
            "recordedTo",
            "extractor",
            "signer",
        )
    }
    | {
        "status": st.sampled_from(["ACTIVE", "REVISED", "RETRACTED", "active", "BOGUS"]),
        "reviewed": st.sampled_from([True, False, "yes", 1]),
    },
)
orders = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(["RECORDED", "MADE_ON", "SOURCE_PUBLISHED", "SCORE", "X"]),
            "direction": st.sampled_from(["ASC", "DESC", "SIDEWAYS"]),
        }
    ),
)

CLAIMS = """query($filter: ClaimFilterInput, $orderBy: ClaimOrderInput, $first: Int, $last: Int,
  $after: String, $before: String, $asOf: Int) {
  claims(filter: $filter, orderBy: $orderBy, first: $first, last: $last, after: $after,
    before: $before, asOf: $asOf) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { claimId statement status madeOn score head } } } }"""
LOOKUPS = """query($id: ID!, $hash: String!, $asOf: Int, $search: String, $publisher: String,
  $after: String, $first: Int!) {
  claim(id: $id, asOf: $asOf) { claimId revision }
  node(id: $id) { id }
  source(hash: $hash, asOf: $asOf) { sha256 }
  entry(hash: $hash) { seq }
  claimants(search: $search, first: $first) { edges { node { name claimCount } } }
  sources(after: $after, publisher: $publisher, first: $first) { edges { cursor } } }"""
PROOFS = """query($seq: Int, $size: Int, $from: Int!) {
  inclusionProof(seq: $seq, treeSize: $size) { hashes }
  consistencyProof(fromSize: $from, toSize: $size) { hashes }
  checkpoint(size: $size) { size }
  entries(after: $from, first: 3) { seq } }"""
PROVENANCE = """query($id: ID!) { claim(id: $id) { provenance { checkpoint { size }
  links { nodes { role signatureValid inclusionProof { hashes } } } } history { nodes { seq kind } } } }"""
REVISE = """mutation($input: ReviseClaimInput!) { reviseClaim(input: $input) { __typename
  ... on InvalidInputError { message } ... on StaleRevisionError { message } } }"""
RETRACT = """mutation($c: String!, $f: String!, $r: String!) {
  retractClaim(claimId: $c, follows: $f, reason: $r) { __typename } }"""
REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) { __typename } }"""
INGEST = """mutation($text: String, $url: String) { ingestSource(text: $text, url: $url) {
  __typename ... on InvalidInputError { message } } }"""
SUBMIT = """mutation($data: String!) { submitSignedEntry(data: $data) { __typename } }"""
KEYS = "{ keys { name } }"


@st.composite
def requests(draw: st.DrawFn, claim_ids: list[str], heads: list[str]) -> Request:
    claim = st.one_of(st.sampled_from(claim_ids), ids())
    head = st.one_of(st.sampled_from(heads), ids())
    long_text = st.sampled_from(["s" * 100_001, "ok", "\ud800", "a\x00"])
    kind = draw(st.integers(0, 11))
    role = draw(st.sampled_from(["writer", "reviewer"]))
    if kind == 0:
        variables = {
            "filter": draw(st.none() | filters),
            "orderBy": draw(orders),
            "first": draw(ints),
            "last": draw(st.none() | st.integers(-2, 5)),
            "after": draw(st.none() | cursors),
            "before": draw(st.none() | cursors),
            "asOf": draw(ints),
        }
        return Request(CLAIMS, variables)
    if kind == 1:
        variables = {
            "id": draw(claim),
            "hash": draw(st.one_of(ids(), st.sampled_from(heads))),
            "asOf": draw(ints),
            "search": draw(st.none() | strings),
            "publisher": draw(st.none() | strings),
            "after": draw(st.none() | cursors),
            "first": draw(st.integers(-1, 101)),
        }
        return Request(LOOKUPS, variables)
    if kind == 2:
        values = {"seq": draw(ints), "size": draw(ints), "from": draw(st.integers(-3, 30))}
        return Request(PROOFS, values)
    if kind == 3:
        return Request(PROVENANCE, {"id": draw(claim)})
    if kind == 4:
        given_ = {
            "claimId": draw(claim),
            "follows": draw(head),
            "reason": draw(strings),
            "statement": draw(st.none() | strings | long_text),
            "madeOn": draw(st.none() | strings),
        }
        return Request(REVISE, {"input": given_}, role)
    if kind == 5:
        return Request(RETRACT, {"c": draw(claim), "f": draw(head), "r": draw(strings)}, role)
    if kind == 6:
        review = {
            "claimId": draw(claim),
            "follows": draw(head),
            "rating": draw(strings),
            "ratingValue": draw(ints),
            "bestRating": draw(ints),
            "worstRating": draw(ints),
            "note": draw(st.none() | strings | long_text),
            "url": draw(st.none() | strings),
        }
        return Request(REVIEW, {"input": review}, "reviewer")
    if kind == 7:
        text = draw(st.none() | strings)
        url = draw(st.none() | st.sampled_from(["/etc/passwd", "file:///etc/passwd", "\x00"]))
        return Request(INGEST, {"text": text, "url": url}, role)
    if kind == 8:
        data = draw(
            st.one_of(strings, st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()))
        )
        return Request(SUBMIT, {"data": data}, role)
    if kind == 9:  # variables of odd JSON shapes
        shape = draw(
            st.recursive(
                st.none() | st.booleans() | st.integers() | strings,
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["id", "first", "x"]), inner, max_size=3)
                ),
                max_leaves=8,
            )
        )
        return Request(LOOKUPS, shape)
    if kind == 10:  # deep nesting, in variables or as the whole body
        depth = draw(st.integers(1, 6000))
        nested = "[" * depth + "]" * depth
        where = draw(st.booleans())
        raw = f'{{"query": "{KEYS}", "variables": {{"x": {nested}}}}}' if where else nested
        return Request(raw=raw)
    raw = draw(st.sampled_from(["", "null", "[]", '"q"', "{", '{"query": 1}', '{"query": null}']))
    return Request(raw=raw)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


REPORTED: list[tuple[str, Request, str]] = [
    # (what, request, the typed outcome: an error code, a union member, or an HTTP status)
    (
        "cursor of 5,000 digits",
        Request(CLAIMS, {"after": _b64("seq:" + "9" * 5000)}),
        "BAD_USER_INPUT",
    ),
    ("cursor past 2^53", Request(CLAIMS, {"after": _b64("seq:" + "9" * 25)}), "BAD_USER_INPUT"),
    (
        "cursor of Arabic-Indic digits",
        Request(CLAIMS, {"before": _b64("seq:١٢")}),
        "BAD_USER_INPUT",
    ),
    ("NUL in a search", Request(CLAIMS, {"filter": {"search": "a\x00b"}}), "BAD_USER_INPUT"),
    ("NUL in a claimant", Request(CLAIMS, {"filter": {"claimant": "a\x00b"}}), "BAD_USER_INPUT"),
    ("NUL in a source", Request(CLAIMS, {"filter": {"source": "\x00"}}), "BAD_USER_INPUT"),
    ("NUL in a signer", Request(CLAIMS, {"filter": {"signer": "\x00"}}), "BAD_USER_INPUT"),
    (
        "a 50,000-character claimant pattern",
        Request(CLAIMS, {"filter": {"claimant": "%_" * 25_000}}),
        "BAD_USER_INPUT",
    ),
    (
        "a lone surrogate in a publisher",
        Request(CLAIMS, {"filter": {"publisher": "\ud800"}}),
        "BAD_USER_INPUT",
    ),
    (
        "a lone surrogate in an extractor",
        Request(CLAIMS, {"filter": {"extractor": "\udfff"}}),
        "BAD_USER_INPUT",
    ),
    (
        "madeFrom yesterday",
        Request(CLAIMS, {"filter": {"madeFrom": "yesterday"}}),
        "BAD_USER_INPUT",
    ),
    ("NUL in a hash", Request(LOOKUPS, {"id": "zz", "hash": "\x00", "first": 1}), "BAD_USER_INPUT"),
    (
        "a non-hex claim id in a global id",
        Request(PROVENANCE, {"id": _b64("Claim:zzz")}),
        "BAD_USER_INPUT",
    ),
    (
        "a NUL claim id in a global id",
        Request(PROVENANCE, {"id": _b64("Claim:\x00")}),
        "BAD_USER_INPUT",
    ),
    ("a lone surrogate id", Request(PROVENANCE, {"id": "\ud800"}), "BAD_USER_INPUT"),
    (
        "NUL in claimants' search",
        Request(LOOKUPS, {"id": "a", "hash": "a", "search": "\x00", "first": 1}),
        "BAD_USER_INPUT",
    ),
    (
        "a non-hex claim id",
        Request(RETRACT, {"c": "not-hex", "f": "0" * 64, "r": "x"}, "writer"),
        "InvalidInputError",
    ),
    (
        "an empty reason",
        Request(RETRACT, {"c": "0" * 64, "f": "0" * 64, "r": ""}, "writer"),
        "InvalidInputError",
    ),
    (
        "a 2,000-character rating",
        Request(
            REVIEW,
            {"input": {"claimId": "0" * 64, "follows": "0" * 64, "rating": "x" * 2001}},
            "reviewer",
        ),
        "InvalidInputError",
    ),
    (
        "a 100k statement",
        Request(
            REVISE,
            {
                "input": {
                    "claimId": "0" * 64,
                    "follows": "0" * 64,
                    "reason": "r",
                    "statement": "s" * 100_001,
                }
            },
            "writer",
        ),
        "InvalidInputError",
    ),
    (
        "madeOn yesterday",
        Request(
            REVISE,
            {
                "input": {
                    "claimId": "0" * 64,
                    "follows": "0" * 64,
                    "reason": "r",
                    "madeOn": "yesterday",
                }
            },
            "writer",
        ),
        "InvalidInputError",
    ),
    (
        "a lone surrogate in a statement",
        Request(
            REVISE,
            {
                "input": {
                    "claimId": "0" * 64,
                    "follows": "0" * 64,
                    "reason": "r",
                    "statement": "\ud800",
                }
            },
            "writer",
        ),
        "InvalidInputError",
    ),
    (
        "NUL in a reason",
        Request(
            REVISE,
            {
                "input": {
                    "claimId": "0" * 64,
                    "follows": "0" * 64,
                    "reason": "r\x00",
                    "statement": "s",
                }
            },
            "writer",
        ),
        "InvalidInputError",
    ),
    (
        "NUL in a review note",
        Request(
            REVIEW,
            {"input": {"claimId": "0" * 64, "follows": "0" * 64, "rating": "ok", "note": "\x00"}},
            "reviewer",
        ),
        "InvalidInputError",
    ),
    (
        "a lone surrogate in ingested text",
        Request(INGEST, {"text": "\ud800 text"}, "writer"),
        "InvalidInputError",
    ),
    (
        "a server path as a url",
        Request(INGEST, {"url": "/etc/passwd"}, "writer"),
        "InvalidInputError",
    ),
    ("NUL as a url", Request(INGEST, {"url": "\x00"}, "writer"), "InvalidInputError"),
    (
        "a lone surrogate as entry data",
        Request(SUBMIT, {"data": "\ud800"}, "writer"),
        "InvalidInputError",
    ),
    (
        "a 5,000-deep array in variables",
        Request(raw=f'{{"query": "{KEYS}", "variables": {{"x": {"[" * 5000 + "]" * 5000}}}}}'),
        "400",
    ),
    (
        "a 40-deep array in variables",
        Request(raw=f'{{"query": "{KEYS}", "variables": {{"x": {"[" * 40 + "]" * 40}}}}}'),
        "400",
    ),
]


def _outcome(status: int, body: Any) -> str:
    if status != 200:
        return str(status)
    data = body.get("data") or {}
    members = [v["__typename"] for v in data.values() if isinstance(v, dict) and "__typename" in v]
    if members:
        return members[0]
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    return ",".join(sorted(str(c) for c in codes))


@pytest.mark.postgres
@pytest.mark.parametrize(("what", "request_", "expected"), REPORTED, ids=[r[0] for r in REPORTED])
def test_reported_abuse_inputs_are_typed_errors_alike_on_both_databases(
    twins: Twins, what: str, request_: Request, expected: str
) -> None:
    status, body = run_on_both(twins, request_)
    assert _outcome(status, body) == expected, body


@pytest.mark.postgres
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_requests_are_answered_alike_and_never_internal(
    twins: Twins, data: st.DataObject
) -> None:
    request = data.draw(requests(twins.claim_ids, twins.heads), label="request")
    run_on_both(twins, request)


def test_reported_abuse_inputs_over_real_http(db_url: str, tmp_path: Path) -> None:
    """The same inputs against a `claims-ledger serve` process (once per database): each
    gets its typed answer, and nothing is written. (The server's log goes to a file: it
    logs every error with its traceback, which would fill an unread pipe.)"""
    side = _build(tmp_path / "home", db_url)
    side.instance.close()
    port = _free_port()
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env={
                "LEDGER_HOME": str(tmp_path / "home"),
                "LEDGER_DATABASE_URL": db_url,
                "LEDGER_KEY_PASSPHRASE": "pw",
                "PATH": "/usr/bin:/bin",
            },
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        size = httpx.get(f"{url}/healthz", timeout=5).json()["entries"]
        for what, request, expected in REPORTED:
            headers = {"content-type": "application/json"}
            if request.role is not None:
                headers["authorization"] = f"Bearer {side.tokens[request.role]}"
            response = httpx.post(
                f"{url}/graphql", content=request.body(), headers=headers, timeout=30
            )
            try:
                body = response.json()
            except json.JSONDecodeError:
                body = response.text
            assert _outcome(response.status_code, body) == expected, (what, body)
        assert httpx.get(f"{url}/healthz", timeout=5).json()["entries"] == size
    finally:
        proc.terminate()
        proc.wait(timeout=10)
