"""Mutations over real HTTP: bearer tokens, union results for expected failures, coded
errors for authentication and authorization, and nothing written when a mutation fails."""

from __future__ import annotations

import base64

import httpx

from ledger.config import Settings
from ledger.entries import Body, entry_hash, sign_body
from ledger.instance import open_instance
from ledger.signing import KeyRing, SigningKey
from tests.api.conftest import Served, gql, post
from tests.helpers import QUOTE, claim_payload, source_bytes, source_payload, source_sha

HEAD = "{ checkpoint { size } claims(first: 1, filter: {status: ACTIVE}) { edges { node { claimId head } } } }"
REVISE = """mutation($input: ReviseClaimInput!) { reviseClaim(input: $input) {
  __typename
  ... on ClaimChanged { claim { status revision statement head } entry { seq kind } }
  ... on StaleRevisionError { message } ... on NotFoundError { message } ... on InvalidInputError { message } } }"""
REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) {
  __typename ... on ClaimChanged { claim { reviewCount lastRating } } } }"""


def _state(served: Served) -> tuple[int, str, str]:
    data = gql(served.url, HEAD)
    node = data["claims"]["edges"][0]["node"]
    return data["checkpoint"]["size"], node["claimId"], node["head"]


def test_without_a_valid_token_mutations_are_refused_and_write_nothing(served: Served) -> None:
    size, claim, head = _state(served)
    variables = {"input": {"claimId": claim, "follows": head, "reason": "x", "statement": "y"}}
    for token in (None, served.tokens["revoked"], "clt_not-a-real-token"):
        body = post(served.url, REVISE, token, **variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert _state(served)[0] == size


def test_revise_then_stale_and_unknown_claims_are_union_results(served: Served) -> None:
    size, claim, head = _state(served)
    writer = served.tokens["writer"]
    done = post(
        served.url,
        REVISE,
        writer,
        input={"claimId": claim, "follows": head, "reason": "typo", "statement": "Corrected."},
    )
    changed = done["data"]["reviseClaim"]
    assert changed["__typename"] == "ClaimChanged"
    assert (
        changed["claim"]["status"],
        changed["claim"]["revision"],
        changed["claim"]["statement"],
    ) == ("REVISED", 1, "Corrected.")
    assert changed["entry"]["kind"] == "claim.revised" and changed["entry"]["seq"] == size
    stale = post(
        served.url,
        REVISE,
        writer,
        input={"claimId": claim, "follows": head, "reason": "again", "statement": "Other."},
    )
    assert stale["data"]["reviseClaim"]["__typename"] == "StaleRevisionError"
    unknown = post(
        served.url,
        REVISE,
        writer,
        input={"claimId": "0" * 64, "follows": head, "reason": "x", "statement": "y"},
    )
    assert unknown["data"]["reviseClaim"]["__typename"] == "NotFoundError"
    assert _state(served)[0] == size + 1  # only the successful revision was written


def test_review_needs_the_reviewer_role(served: Served) -> None:
    size, claim, head = _state(served)
    variables = {
        "input": {
            "claimId": claim,
            "follows": head,
            "rating": "False",
            "ratingValue": 1,
            "bestRating": 5,
            "worstRating": 1,
        }
    }
    forbidden = post(served.url, REVIEW, served.tokens["writer"], **variables)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _state(served)[0] == size
    done = post(served.url, REVIEW, served.tokens["reviewer"], **variables)
    assert done["data"]["reviewClaim"] == {
        "__typename": "ClaimChanged",
        "claim": {"reviewCount": 1, "lastRating": "False"},
    }


def test_ingest_text_then_duplicate(served: Served) -> None:
    mutation = """mutation($text: String!) { ingestSource(text: $text) { __typename
        ... on SourceIngested { claims source { sha256 mediaType } } ... on DuplicateError { message } } }"""
    text = "The ministry said on Monday that 4,000 troops were deployed to the border."
    first = post(served.url, mutation, served.tokens["writer"], text=text)["data"]["ingestSource"]
    assert first["__typename"] == "SourceIngested" and first["source"]["mediaType"] == "text/plain"
    again = post(served.url, mutation, served.tokens["writer"], text=text)["data"]["ingestSource"]
    assert again["__typename"] == "DuplicateError"
    # Text in the seed format is read as its media type says (as rechecks read it again).
    seed = " date 2024-03-20 The ministry said that 5,000 troops were deployed to the border."
    dated = post(served.url, mutation, served.tokens["writer"], text=seed)["data"]["ingestSource"]
    assert dated["__typename"] == "SourceIngested", dated


def test_submit_an_entry_signed_on_the_writers_machine(served: Served) -> None:
    keyring = KeyRing(Settings(home=served.home, database_url=served.db_url).keys_dir, b"pw")
    writer = keyring.load("ingest")
    head = gql(served.url, "{ checkpoint { size } }")["checkpoint"]["size"]
    last = gql(
        served.url, "query($a: Int!) { entries(after: $a, first: 1) { hash ts } }", a=head - 2
    )["entries"][0]

    def signed(key: SigningKey, n: int) -> str:
        body = Body(
            log="claims-ledger/local",
            seq=head,
            prev=bytes.fromhex(last["hash"]),
            ts=last["ts"],  # type: ignore[arg-type]
            kind="source.registered",
            signer=key.key_id,
            payload=source_payload(900 + n),
        )
        return base64.b64encode(sign_body(body, key).data).decode()

    def document(n: int) -> str:
        return base64.b64encode(source_bytes(900 + n)).decode()

    mutation = """mutation($d: String!, $s: String) { submitSignedEntry(data: $d, source: $s) {
        __typename
        ... on EntryAccepted { entry { seq kind signer } } ... on StaleRevisionError { message }
        ... on InvalidInputError { message } ... on InvalidSignatureError { message } } }"""
    token = served.tokens["writer"]
    other = post(
        served.url, mutation, token, d=signed(SigningKey.generate("mallory"), 1), s=document(1)
    )
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    garbage = post(served.url, mutation, token, d="%%%")["data"]["submitSignedEntry"]
    assert garbage["__typename"] == "InvalidInputError"
    data = signed(writer, 2)
    tampered = base64.b64encode(
        base64.b64decode(data).replace(b"Article 902", b"Article 903")
    ).decode()
    assert (
        post(served.url, mutation, token, d=tampered, s=document(2))["data"]["submitSignedEntry"][
            "__typename"
        ]
        == "InvalidSignatureError"
    )
    # A source is registered only with its own bytes (the server recomputes its hashes).
    for source, message in [
        (None, "only with the source's bytes"),
        (document(3), "its bytes hash to"),
        ("%%%", "source is not standard base64"),
    ]:
        refused = post(served.url, mutation, token, d=data, s=source)["data"]
        assert refused["submitSignedEntry"]["__typename"] == "InvalidInputError", source
        assert message in refused["submitSignedEntry"]["message"]
    assert gql(served.url, "{ checkpoint { size } }")["checkpoint"]["size"] == head
    accepted = post(served.url, mutation, token, d=data, s=document(2))["data"]["submitSignedEntry"]
    assert accepted == {
        "__typename": "EntryAccepted",
        "entry": {"seq": head, "kind": "source.registered", "signer": writer.key_id},
    }
    replay = post(served.url, mutation, token, d=data, s=document(2))["data"]["submitSignedEntry"]
    assert replay["__typename"] == "StaleRevisionError"

    # Its claims can now be submitted, each only with a quote that is in its text.
    source_hash = entry_hash(base64.b64decode(data))
    claim = claim_payload(source_hash.hex(), source_sha(902))

    def signed_claim(**change: object) -> str:
        selector = claim.selector.model_copy(update=change)
        body = Body(
            "claims-ledger/local",
            head + 1,
            source_hash,
            last["ts"],
            "claim.extracted",
            writer.key_id,
            claim.model_copy(update={"selector": selector}),
        )
        return base64.b64encode(sign_body(body, writer).data).decode()

    for change, field in [
        ({"exact": QUOTE.upper()}, "exact"),
        ({"prefix": "x"}, "prefix"),
        ({"suffix": "x"}, "suffix"),
        ({"start": 0, "end": len(QUOTE)}, "exact"),
    ]:
        refused = post(served.url, mutation, token, d=signed_claim(**change))["data"]
        assert refused["submitSignedEntry"]["__typename"] == "InvalidInputError", change
        assert f"selector {field}" in refused["submitSignedEntry"]["message"]
    good = post(served.url, mutation, token, d=signed_claim())["data"]
    assert good["submitSignedEntry"]["entry"]["kind"] == "claim.extracted"


def test_mutations_over_get_are_refused_and_run_nothing(served: Served) -> None:
    size, claim, head = _state(served)
    response = httpx.get(
        f"{served.url}/graphql",
        params={
            "query": "mutation($c: String!, $f: String!) { retractClaim(claimId: $c, follows: $f, "
            'reason: "z") { __typename } }',
            "variables": f'{{"c": "{claim}", "f": "{head}"}}',
        },
        headers={
            "authorization": f"Bearer {served.tokens['writer']}",
            "accept": "application/json",
        },
    )
    assert response.status_code in (400, 405)
    assert "mutations are not allowed" in response.text
    assert _state(served) == (size, claim, head)  # a valid, authorized retraction: not run


def test_a_token_cannot_submit_an_entry_signed_by_another_registered_writer(
    served: Served,
) -> None:
    """Token bound to writer key A (ingest); the entry is properly signed by writer key B,
    registered and valid: every rule of the log would accept it, only the token's binding
    refuses it."""
    instance = open_instance(
        Settings(home=served.home, database_url=served.db_url, passphrase=b"pw")
    )
    try:
        bob = instance.keyring.create("bob")
        instance.ledger.register_key(instance.log_key(), bob, ["writer"])
    finally:
        instance.close()
    head = gql(served.url, "{ checkpoint { size } }")["checkpoint"]["size"]
    last = gql(
        served.url, "query($a: Int!) { entries(after: $a, first: 1) { hash ts } }", a=head - 2
    )["entries"][0]
    body = Body(
        log="claims-ledger/local",
        seq=head,
        prev=bytes.fromhex(last["hash"]),
        ts=last["ts"],  # type: ignore[arg-type]
        kind="source.registered",
        signer=bob.key_id,
        payload=source_payload(950),
    )
    data = base64.b64encode(sign_body(body, bob).data).decode()
    mutation = """mutation($d: String!) { submitSignedEntry(data: $d) { __typename } }"""
    refused = post(served.url, mutation, served.tokens["writer"], d=data)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert f"the entry is signed by {bob.key_id}" in refused["errors"][0]["message"]
    assert gql(served.url, "{ checkpoint { size } }")["checkpoint"]["size"] == head
    assert gql(served.url, "query($a: Int!) { entries(after: $a) { seq } }", a=head - 1) == {
        "entries": []
    }


def test_a_revision_made_on_a_day_that_does_not_exist_is_refused(served: Served) -> None:
    size, claim, head = _state(served)
    for day in ("2024-02-30", "0000-00-00", "yesterday"):
        body = post(
            served.url,
            REVISE,
            served.tokens["writer"],
            input={"claimId": claim, "follows": head, "reason": "date", "madeOn": day},
        )
        result = body["data"]["reviseClaim"]
        assert result["__typename"] == "InvalidInputError", body
        assert f"made_on: '{day}' is not a" in result["message"]
    assert _state(served)[0] == size
    done = post(
        served.url,
        REVISE,
        served.tokens["writer"],
        input={"claimId": claim, "follows": head, "reason": "date", "madeOn": "2024-02-29"},
    )
    assert done["data"]["reviseClaim"]["__typename"] == "ClaimChanged"
