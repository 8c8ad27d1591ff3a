"""The Mutation resolvers in-process: ``build_schema()`` and ``schema.execute`` with a real
``Context`` over a SQLite ledger, so each check costs milliseconds, not a served run (the
mutation-testing selection for ``api/mutations.py``, docs/mutation-testing.md). What each
resolver passes to the core, the union member of each expected failure, the coded errors
for authentication and the token's binding, and that a refused mutation writes nothing."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.context import Context
from api.schema import build_schema
from ledger.config import Settings
from ledger.deadline import Deadline
from ledger.entries import Body, EntryHash, sign_body
from ledger.extract.deterministic import DeterministicExtractor
from ledger.instance import Instance, open_instance
from ledger.signing import SigningKey
from ledger.tokens import authenticate, create_token, revoke_token
from tests.helpers import add_source_with_claims, source_bytes, source_payload

SCHEMA = build_schema()
CLAIM = """claim { claimId status revision statement madeOn head reviewCount lastRating
  history { nodes { kind reason note url rating { textual value best worst } } } }"""
RESULT = f"""__typename ... on ClaimChanged {{ {CLAIM} entry {{ seq kind signer }} }}
  ... on StaleRevisionError {{ message }} ... on NotFoundError {{ message }}
  ... on InvalidInputError {{ message }}"""
REVISE = f"mutation($input: ReviseClaimInput!) {{ reviseClaim(input: $input) {{ {RESULT} }} }}"
REVIEW = f"mutation($input: ReviewClaimInput!) {{ reviewClaim(input: $input) {{ {RESULT} }} }}"
RETRACT = f"""mutation($c: String!, $f: String!, $r: String!) {{
  retractClaim(claimId: $c, follows: $f, reason: $r) {{ {RESULT} }} }}"""
INGEST = """mutation($text: String, $url: String) { ingestSource(text: $text, url: $url) {
  __typename ... on SourceIngested { claims source { sha256 mediaType seq } }
  ... on DuplicateError { message } ... on InvalidInputError { message } } }"""
SUBMIT = """mutation($d: String!, $s: String) { submitSignedEntry(data: $d, source: $s) {
  __typename ... on EntryAccepted { entry { seq kind signer hash } }
  ... on StaleRevisionError { message } ... on DuplicateError { message }
  ... on InvalidInputError { message } ... on InvalidSignatureError { message } } }"""


@dataclass
class Local:
    instance: Instance
    tokens: dict[str, str]
    claims: list[str]

    def run(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        """One request as the server would run it; the response as a client would see it."""
        ledger = self.instance.ledger
        context = Context(
            ledger=ledger,
            keyring=self.instance.keyring,
            extractor=DeterministicExtractor(),
            token=authenticate(ledger.store, token) if token is not None else None,
            deadline=Deadline(60),
        )
        result = asyncio.run(
            SCHEMA.execute(query, variable_values=variables, context_value=context)
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [
                {"message": e.message, "code": (e.extensions or {}).get("code")}
                for e in result.errors
            ]
        return body

    def size(self) -> int:
        return self.instance.ledger.head().size

    def head_of(self, claim_id: str) -> str:
        return self.instance.ledger.claim(claim_id).head


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )
    instance = open_instance(settings)
    ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
    claims = add_source_with_claims(ledger, writer, 0, claims=2)
    tokens = {
        "writer": create_token(ledger.store, "writer", writer),
        "reviewer": create_token(ledger.store, "reviewer", log),
        "revoked": create_token(ledger.store, "revoked", writer),
    }
    revoke_token(ledger.store, "revoked")
    yield Local(instance, tokens, claims)
    instance.close()


def _member(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return body["data"][field]  # type: ignore[no-any-return]


def test_every_mutation_needs_a_valid_token_and_writes_nothing_without(local: Local) -> None:
    claim = local.claims[0]
    head, size = local.head_of(claim), local.size()
    requests: list[tuple[str, dict[str, Any]]] = [
        (REVISE, {"input": {"claimId": claim, "follows": head, "reason": "r", "statement": "s"}}),
        (RETRACT, {"c": claim, "f": head, "r": "r"}),
        (REVIEW, {"input": {"claimId": claim, "follows": head, "rating": "False"}}),
        (INGEST, {"text": "The ministry said 4,000 troops were deployed."}),
        (SUBMIT, {"d": "AAAA"}),
    ]
    for query, variables in requests:
        for token in (None, local.tokens["revoked"], "clt_not-a-real-token"):
            body = local.run(query, token, **variables)
            assert body["data"] is None, (query, token)
            assert [e["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], (query, token)
    assert local.size() == size


def test_a_revision_passes_its_fields_and_answers_the_changed_claim(local: Local) -> None:
    claim = local.claims[0]
    head, size = local.head_of(claim), local.size()
    variables = {
        "claimId": claim,
        "follows": head,
        "reason": "ministry correction",
        "statement": "Corrected.",
        "madeOn": "2024-03-19",
    }
    changed = _member(local.run(REVISE, local.tokens["writer"], input=variables), "reviseClaim")
    assert changed["__typename"] == "ClaimChanged"
    state = changed["claim"]
    assert (state["claimId"], state["status"], state["revision"]) == (claim, "REVISED", 1)
    assert (state["statement"], state["madeOn"]) == ("Corrected.", "2024-03-19")
    assert state["history"]["nodes"][-1]["reason"] == "ministry correction"
    writer = local.instance.writer_key().key_id
    assert changed["entry"] == {"seq": size, "kind": "claim.revised", "signer": writer}
    assert state["head"] != head and local.head_of(claim) == state["head"]
    # The same head again is stale; an unknown claim is not found; neither writes.
    stale = _member(local.run(REVISE, local.tokens["writer"], input=variables), "reviseClaim")
    assert stale["__typename"] == "StaleRevisionError" and stale["message"]
    unknown = {**variables, "claimId": "0" * 64}
    missing = _member(local.run(REVISE, local.tokens["writer"], input=unknown), "reviseClaim")
    assert missing["__typename"] == "NotFoundError" and "0" * 64 in missing["message"]
    bad_day = {**variables, "follows": state["head"], "madeOn": "2024-02-30"}
    refused = _member(local.run(REVISE, local.tokens["writer"], input=bad_day), "reviseClaim")
    assert refused["__typename"] == "InvalidInputError"
    assert "made_on: '2024-02-30' is not a" in refused["message"]
    assert local.size() == size + 1


def test_a_retraction_passes_its_reason_and_answers_the_retracted_claim(local: Local) -> None:
    claim = local.claims[1]
    head, size = local.head_of(claim), local.size()
    done = _member(
        local.run(RETRACT, local.tokens["writer"], c=claim, f=head, r="misquoted"), "retractClaim"
    )
    assert done["__typename"] == "ClaimChanged"
    assert (done["claim"]["claimId"], done["claim"]["status"]) == (claim, "RETRACTED")
    assert done["claim"]["history"]["nodes"][-1] == {
        "kind": "claim.retracted",
        "reason": "misquoted",
        "note": None,
        "url": None,
        "rating": None,
    }
    assert (done["entry"]["seq"], done["entry"]["kind"]) == (size, "claim.retracted")
    again = local.run(RETRACT, local.tokens["writer"], c=claim, f=done["claim"]["head"], r="x")
    assert _member(again, "retractClaim")["__typename"] == "StaleRevisionError"
    assert local.size() == size + 1


def test_a_review_passes_its_rating_note_and_url_and_needs_the_reviewer_role(
    local: Local,
) -> None:
    claim = local.claims[0]
    head, size = local.head_of(claim), local.size()
    variables = {
        "claimId": claim,
        "follows": head,
        "rating": "Mostly true",
        "ratingValue": 4,
        "bestRating": 5,
        "worstRating": 1,
        "note": "checked with the ministry",
        "url": "https://factcheck.example/1",
    }
    forbidden = local.run(REVIEW, local.tokens["writer"], input=variables)
    assert forbidden["data"] is None
    assert [e["code"] for e in forbidden["errors"]] == ["FORBIDDEN"]
    assert local.size() == size
    done = _member(local.run(REVIEW, local.tokens["reviewer"], input=variables), "reviewClaim")
    assert done["__typename"] == "ClaimChanged"
    assert (done["claim"]["reviewCount"], done["claim"]["lastRating"]) == (1, "Mostly true")
    assert done["claim"]["history"]["nodes"][-1] == {
        "kind": "claim.reviewed",
        "reason": None,
        "note": "checked with the ministry",
        "url": "https://factcheck.example/1",
        "rating": {"textual": "Mostly true", "value": 4, "best": 5, "worst": 1},
    }
    log = local.instance.log_key().key_id
    assert done["entry"] == {"seq": size, "kind": "claim.reviewed", "signer": log}
    assert done["claim"]["head"] == local.head_of(claim)


def test_ingest_takes_exactly_one_of_text_or_url_and_answers_duplicates(local: Local) -> None:
    writer, size = local.tokens["writer"], local.size()
    text = "The ministry said on Monday that 4,000 troops were deployed to the border."
    for variables in ({}, {"text": text, "url": "https://news.example/1"}):
        refused = _member(local.run(INGEST, writer, **variables), "ingestSource")
        assert refused == {
            "__typename": "InvalidInputError",
            "message": "give exactly one of text or url",
        }
    assert local.size() == size
    first = _member(local.run(INGEST, writer, text=text), "ingestSource")
    assert first["__typename"] == "SourceIngested", first
    digest = first["source"]["sha256"]
    assert (first["source"]["mediaType"], first["source"]["seq"]) == ("text/plain", size)
    assert first["claims"] == local.size() - size - 1 and first["claims"] >= 1
    after = local.size()
    again = _member(local.run(INGEST, writer, text=text), "ingestSource")
    assert again == {
        "__typename": "DuplicateError",
        "message": f"source {digest} is already registered",
    }
    assert local.size() == after
    # A URL the API may not read is refused before anything is fetched (no fetcher here).
    local_path = _member(local.run(INGEST, writer, url="/etc/passwd"), "ingestSource")
    assert local_path["__typename"] == "InvalidInputError"
    assert local.size() == after


def _signed(local: Local, key: SigningKey, n: int) -> str:
    """A source.registered entry for ``source_bytes(900 + n)`` that extends the log now."""
    last = local.instance.ledger.entry(seq=local.size() - 1)
    body = Body(
        log="claims-ledger/local",
        seq=last.seq + 1,
        prev=EntryHash(bytes.fromhex(last.hash)),
        ts=last.ts,
        kind="source.registered",
        signer=key.key_id,
        payload=source_payload(900 + n),
    )
    return base64.b64encode(sign_body(body, key).data).decode()


def _document(n: int) -> str:
    return base64.b64encode(source_bytes(900 + n)).decode()


def test_a_submitted_entry_is_bound_to_the_token_and_its_base64_checked(local: Local) -> None:
    writer_key = local.instance.writer_key()
    token, size = local.tokens["writer"], local.size()
    data = _signed(local, writer_key, 1)
    for d, s, message in [
        ("%%%", _document(1), "data is not standard base64"),
        ("é" + data, _document(1), "data is not standard base64"),
        (data, "%%%", "source is not standard base64"),
        (data, "é", "source is not standard base64"),
        (data, None, "only with the source's bytes"),
        (data, _document(2), "its bytes hash to"),
    ]:
        refused = _member(local.run(SUBMIT, token, d=d, s=s), "submitSignedEntry")
        assert refused["__typename"] == "InvalidInputError", (d, s, refused)
        assert message in refused["message"], (message, refused)
    # Signed by a key the token is not bound to: refused before the ledger sees it.
    mallory = SigningKey.generate("mallory")
    other = local.run(SUBMIT, token, d=_signed(local, mallory, 1), s=_document(1))
    assert other["data"] is None
    assert [e["code"] for e in other["errors"]] == ["FORBIDDEN"]
    assert f"the entry is signed by {mallory.key_id}" in other["errors"][0]["message"]
    # The reviewer's token (bound to the log key) may not submit the writer's entry either.
    as_reviewer = local.run(SUBMIT, local.tokens["reviewer"], d=data, s=_document(1))
    assert [e["code"] for e in as_reviewer["errors"]] == ["FORBIDDEN"]
    tampered = base64.b64encode(
        base64.b64decode(data).replace(b"Article 901", b"Article 903")
    ).decode()
    forged = _member(local.run(SUBMIT, token, d=tampered, s=_document(1)), "submitSignedEntry")
    assert forged["__typename"] == "InvalidSignatureError"
    assert local.size() == size
    accepted = _member(local.run(SUBMIT, token, d=data, s=_document(1)), "submitSignedEntry")
    assert accepted["__typename"] == "EntryAccepted"
    entry = accepted["entry"]
    assert (entry["seq"], entry["kind"], entry["signer"]) == (
        size,
        "source.registered",
        writer_key.key_id,
    )
    assert entry["hash"] == local.instance.ledger.entry(seq=size).hash
    replay = _member(local.run(SUBMIT, token, d=data, s=_document(1)), "submitSignedEntry")
    assert replay["__typename"] == "StaleRevisionError"
    assert local.size() == size + 1


def test_an_entry_signed_elsewhere_needs_no_key_on_the_server(local: Local) -> None:
    """submitSignedEntry is how a writer whose key never leaves their machine appends: the
    token is bound to that key, and the server holds no key file for it. Only the other
    mutations, which the server signs, need the server to hold the token's key."""
    ledger = local.instance.ledger
    bob = SigningKey.generate("bob")
    ledger.register_key(local.instance.log_key(), bob, ["writer"])
    assert not local.instance.keyring.exists("bob")
    token, size = create_token(ledger.store, "bob-laptop", bob), local.size()
    accepted = local.run(SUBMIT, token, d=_signed(local, bob, 4), s=_document(4))
    entry = _member(accepted, "submitSignedEntry")["entry"]
    assert (entry["seq"], entry["signer"]) == (size, bob.key_id)
    claim = local.claims[0]
    variables = {"claimId": claim, "follows": local.head_of(claim), "reason": "r", "statement": "s"}
    refused = local.run(REVISE, token, input=variables)
    assert refused["data"] is None
    assert refused["errors"] == [
        {"message": "this server holds no key 'bob' to sign with", "code": "FORBIDDEN"}
    ]
    assert local.size() == size + 1


FIELDS = """madeOn madeOnPrecision
  claimant { name role affiliation kind cites { name role affiliation kind } }
  quantities { value unit bound high text approximate }"""
ATTRIBUTED = f"claim {{ {FIELDS} }}"
REVISE_V2 = f"""mutation($input: ReviseClaimInput!) {{ reviseClaim(input: $input) {{
  __typename ... on ClaimChanged {{ {ATTRIBUTED} }} ... on InvalidInputError {{ message }} }} }}"""


def test_a_revision_sets_attribution_precision_and_bounded_quantities(local: Local) -> None:
    claim = local.claims[0]
    before = local.run(f"query($c: ID!) {{ claim(id: $c) {{ {FIELDS} }} }}", c=claim)
    old = _member(before, "claim")
    assert old["madeOnPrecision"] == "DAY" and old["claimant"]["kind"] is None
    assert old["quantities"][0]["bound"] == "APPROXIMATE" and old["quantities"][0]["approximate"]
    revision = {
        "claimId": claim,
        "follows": local.head_of(claim),
        "reason": "the lawmaker cited a report; the month only is known",
        "madeOn": "2024-03-01",
        "madeOnPrecision": "MONTH",
        "claimant": {
            "name": "Kang Dae-sik",
            "role": "lawmaker",
            "kind": "PERSON",
            "cites": [{"role": "military intelligence report", "kind": "DOCUMENT"}],
        },
        "quantities": [
            {"value": "6700", "unit": "containers", "bound": "AT_LEAST", "text": "at least 6,700"},
            {"value": "12", "high": "17", "unit": "percent", "text": "12 to 17 percent"},
        ],
    }
    changed = _member(local.run(REVISE_V2, local.tokens["writer"], input=revision), "reviseClaim")
    assert changed["__typename"] == "ClaimChanged", changed
    state = changed["claim"]
    assert (state["madeOn"], state["madeOnPrecision"]) == ("2024-03-01", "MONTH")
    assert state["claimant"] == {
        "name": "Kang Dae-sik",
        "role": "lawmaker",
        "affiliation": None,
        "kind": "PERSON",
        "cites": [
            {
                "name": None,
                "role": "military intelligence report",
                "affiliation": None,
                "kind": "DOCUMENT",
            }
        ],
    }
    assert [(q["bound"], q["high"], q["approximate"]) for q in state["quantities"]] == [
        ("AT_LEAST", None, True),
        ("EXACT", "17", False),
    ]
    entry = local.instance.ledger.entry(hash=local.head_of(claim))
    assert entry.data.endswith(b'"}') and b'"v":2}' in entry.data
    assert b'"made_on_precision":"month"' in entry.data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"madeOn": "2024-03-05", "madeOnPrecision": "MONTH"}, "must be the month's day 01"),
        ({"madeOnPrecision": "YEAR"}, "made_on_precision must be null exactly when"),
        (
            {"quantities": [{"value": "5", "high": "5", "text": "5"}]},
            "quantities.0: Quantity: high 5 must be greater than value 5",
        ),
        ({"claimant": {"cites": [{"kind": "DOCUMENT"}]}}, "needs a name, a role or an affiliation"),
    ],
)
def test_a_revision_outside_the_format_is_invalid_input_and_writes_nothing(
    local: Local, change: dict[str, Any], message: str
) -> None:
    claim = local.claims[0]
    size = local.size()
    revision = {"claimId": claim, "follows": local.head_of(claim), "reason": "r", **change}
    result = _member(local.run(REVISE_V2, local.tokens["writer"], input=revision), "reviseClaim")
    assert result["__typename"] == "InvalidInputError", result
    assert re.search(message, result["message"]), result["message"]
    assert local.size() == size


def test_claims_are_filtered_by_quantity(local: Local) -> None:
    query = """query($w: ClaimFilterInput) { claims(filter: $w) { totalCount } }"""

    def count(**where: str) -> int:
        body = local.run(query, w=where)
        assert "errors" not in body, body
        return body["data"]["claims"]["totalCount"]  # type: ignore[no-any-return]

    assert count(quantityUnit="Containers") == 2
    assert count(quantityUnit="containers", quantityMin="7001") == 1  # 7000 and 7001
    assert count(quantityUnit="percent") == 0
    body = local.run(query, w={"quantityMin": "ten"})
    assert "quantityMin must be a decimal number" in body["errors"][0]["message"]
