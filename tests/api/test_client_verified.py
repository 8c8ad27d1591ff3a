"""Issue 12: the client returns only values decoded from verified entries. A server whose
projection tables were edited (one column at a time) yields either the signed values or a
refusal, never the edited value."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.client import LedgerClient, VerifiedClaim
from ledger.entries import ClaimReviewed, ClaimRevised, current_payload, parse_entry
from ledger.errors import LedgerError, VerificationError
from tests.api.conftest import Served, gql


def _log_key(url: str) -> str:
    keys = gql(url, "{ keys { registeredSeq verifierKey } }")["keys"]
    return next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0)


def _revised_claim(url: str) -> str:
    found = gql(
        url, "{ claims(first: 1, filter: {status: REVISED}) { edges { node { claimId } } } }"
    )
    return str(found["claims"]["edges"][0]["node"]["claimId"])


@contextmanager
def _engine(db_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_statement_changed_in_the_projection_only_is_not_returned(served: Served) -> None:
    """The issue's failure: one byte of the statement changed in the claims table."""
    client = LedgerClient(served.url, log_key=_log_key(served.url))
    claim_id = _revised_claim(served.url)
    signed = client.verify_claim(claim_id)
    assert signed.statement == "North Korea sent about 6,700 containers."
    with _engine(served.db_url) as engine, engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE claims SET statement = :s WHERE claim_id = :c"),
            {"s": "North Korea sent about 6,701 containers.", "c": claim_id},
        )
    served_now = gql(served.url, "query($id: ID!) { claim(id: $id) { statement } }", id=claim_id)
    assert served_now["claim"]["statement"] == "North Korea sent about 6,701 containers."
    again = client.verify_claim(claim_id)
    assert again.statement == "North Korea sent about 6,700 containers."
    assert again.to_json() == signed.to_json()


def test_the_verified_values_are_the_entries_values(served: Served) -> None:
    client = LedgerClient(served.url, log_key=_log_key(served.url))
    claim = client.verify_claim(_revised_claim(served.url))
    kinds = [step.kind for step in claim.history]
    assert kinds == ["claim.extracted", "claim.revised", "claim.reviewed"]
    revision = current_payload(claim.links[2].body.payload)
    review = claim.links[3].body.payload
    assert isinstance(revision, ClaimRevised) and isinstance(review, ClaimReviewed)
    assert claim.statement == revision.changes.statement
    assert claim.state.status == "revised" and claim.state.revision == 1
    assert claim.state.last_rating == review.rating.textual == "Mostly true"
    assert [r.rating.value for r in claim.reviews] == [4]
    assert claim.state.head == claim.links[-1].hash.hex()
    assert claim.source.sha256 == claim.state.source_sha256
    assert claim.history[1].changes[0][0] == "statement"
    # The checkpoint's claim-state map proves the chain ends at the claim's latest entry.
    assert claim.complete and claim.links[-1].hash.hex() in claim.completeness


def _changed(value: Any, column: sa.Column[Any]) -> Any:
    """A different value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.5
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        return bytes([raw[0] ^ 1]) + raw[1:] if raw else b"x"
    if isinstance(value, str):
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            return value[:-1] + ("0" if value[-1] != "0" else "1")
        return value + "X" if value else "X"
    if value is None:
        python = getattr(column.type, "python_type", str)
        return {int: 1, float: 1.0, bool: True, bytes: b"x"}.get(python, "tampered")
    raise AssertionError(f"no change for {type(value)}")


def _targets(meta: sa.MetaData, claim: VerifiedClaim) -> dict[str, sa.ColumnElement[bool]]:
    """For each table the claim and provenance queries read, the rows about this claim."""
    chain = [e.hash for e in claim.links]
    entries = meta.tables["entries"]
    hash_type = entries.c.hash.type
    wanted = [h if isinstance(hash_type, sa.LargeBinary) else h.hex() for h in chain]
    return {
        "claims": meta.tables["claims"].c.claim_id == claim.claim_id,
        "sources": meta.tables["sources"].c.sha256 == claim.source.sha256,
        "keys": sa.true(),
        "claim_quantities": meta.tables["claim_quantities"].c.claim_seq == claim.state.seq,
        "entries": entries.c.hash.in_(wanted),
    }


def test_every_projection_column_tampered_gives_the_signed_value_or_a_refusal(
    served: Served,
) -> None:
    client = LedgerClient(served.url, log_key=_log_key(served.url))
    claim_id = _revised_claim(served.url)
    signed = client.verify_claim(claim_id)
    expected = signed.to_json()
    tried: list[str] = []
    refused: list[str] = []
    with _engine(served.db_url) as engine:
        meta = sa.MetaData()
        with engine.connect() as conn:
            meta.reflect(conn, only=["claims", "sources", "keys", "claim_quantities", "entries"])
        targets = _targets(meta, signed)
        for name, where in targets.items():
            table = meta.tables[name]
            for column in table.columns:
                with engine.connect() as conn:
                    rows = conn.execute(
                        sa.select(*table.primary_key.columns, column).where(where)
                    ).all()
                if not rows:
                    continue
                label = f"{name}.{column.name}"
                pk = list(table.primary_key.columns)
                changes = [(row, _changed(row[-1], column)) for row in rows]

                def where_row(values: Any, pk: Any = pk) -> Any:
                    return sa.and_(*(c == v for c, v in zip(pk, values, strict=True)))

                def after(row: Any, new: Any, pk: Any = pk, column: Any = column) -> list[Any]:
                    return [
                        new if c.name == column.name else v
                        for c, v in zip(pk, row[:-1], strict=True)
                    ]

                try:
                    with engine.begin() as conn:
                        for row, new in changes:
                            conn.execute(
                                table.update().where(where_row(row[:-1])).values({column.name: new})
                            )
                except sa.exc.DBAPIError:
                    refused.append(label)  # append-only by trigger, or a constraint: untamperable
                    continue
                tried.append(label)
                try:
                    outcome: Any = client.verify_claim(claim_id).to_json()
                except LedgerError as exc:
                    outcome = exc
                finally:
                    with engine.begin() as conn:
                        for row, new in changes:
                            conn.execute(
                                table.update()
                                .where(where_row(after(row, new)))
                                .values({column.name: row[-1]})
                            )
                if not isinstance(outcome, LedgerError):
                    assert outcome == expected, f"{label} tampered: the client returned it"
    # Every column the claim query shows was tried (not silently skipped).
    for column in (
        "claims.statement",
        "claims.exact",
        "claims.status",
        "claims.last_rating",
        "claims.made_on",
        "claims.claimant_name",
        "sources.title",
        "keys.revoked_seq",
        "claim_quantities.value",
    ):
        assert (
            column in tried or column in refused or column.split(".")[1] not in _columns(served)
        ), column
    assert len(tried) > 30, tried
    assert client.verify_claim(claim_id).to_json() == expected  # all restored


def _columns(served: Served) -> set[str]:
    with _engine(served.db_url) as engine, engine.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn, only=["claims", "sources", "keys", "claim_quantities"])
        return {c.name for t in meta.tables.values() for c in t.columns}


def test_a_revoked_signer_or_a_foreign_entry_in_the_chain_is_refused(served: Served) -> None:
    """The server's provenance is only a list of entry hashes: swapping in another claim's
    entry, or dropping the extraction, is refused with the entry named."""
    import httpx

    real = httpx.Client()
    claim_id = _revised_claim(served.url)
    other = gql(served.url, "{ claims(first: 1) { edges { node { claimId } } } }")["claims"][
        "edges"
    ][0]["node"]["claimId"]
    assert other != claim_id

    def swap(request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        if not request.url.path.endswith("/graphql"):
            return httpx.Response(response.status_code, content=response.content)
        body = response.json()
        claim = (body.get("data") or {}).get("claim")
        if claim and "provenance" in claim and "checkpoint" in claim["provenance"]:
            claim["provenance"]["links"]["nodes"][1]["entryHash"] = other
        return httpx.Response(response.status_code, json=body)

    client = LedgerClient(
        served.url,
        log_key=_log_key(served.url),
        http=httpx.Client(transport=httpx.MockTransport(swap)),
    )
    with pytest.raises(VerificationError, match="not claim"):
        client.verify_claim(claim_id)


def test_a_source_is_verified_from_its_registration_and_bytes(served: Served) -> None:
    from ledger.canonical import sha256
    from tests.helpers import source_bytes

    client = LedgerClient(served.url, log_key=_log_key(served.url))
    data = source_bytes(0)
    digest = sha256(data).hex()
    verified = client.verify_source(digest, data)
    assert verified.bytes_checked and verified.source.sha256 == digest
    assert verified.source.title == "Article 0"
    entry = parse_entry(
        base64.b64decode(
            gql(
                served.url,
                "query($h: String!) { entry(hash: $h) { data } }",
                h=verified.entry.hash.hex(),
            )["entry"]["data"]
        )
    )
    assert entry.hash == verified.entry.hash
    with pytest.raises(VerificationError, match=r"sha256|size"):
        client.verify_source(digest, data + b"x")
    with _engine(served.db_url) as engine, engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sources SET title = 'Forged' WHERE sha256 = :s"), {"s": digest}
        )
    assert client.verify_source(digest).source.title == "Article 0"


def test_a_hidden_review_is_caught_by_the_state_map(served: Served) -> None:
    """A server leaving the newest link out of the provenance (a review, say) shows a chain
    that folds fine on its own; the claim-state map proof against the same checkpoint
    names the entry left out."""
    import httpx

    real = httpx.Client()

    def drop_last(request: httpx.Request) -> httpx.Response:
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = real.send(forwarded)
        if not request.url.path.endswith("/graphql"):
            return httpx.Response(response.status_code, content=response.content)
        body = response.json()
        claim = (body.get("data") or {}).get("claim")
        if claim and "provenance" in claim and "checkpoint" in claim["provenance"]:
            claim["provenance"]["links"]["nodes"].pop()
        return httpx.Response(response.status_code, json=body)

    claim_id = _revised_claim(served.url)
    honest = LedgerClient(served.url, log_key=_log_key(served.url)).verify_claim(claim_id)
    assert honest.complete and honest.history[-1].kind == "claim.reviewed"
    client = LedgerClient(
        served.url,
        log_key=_log_key(served.url),
        http=httpx.Client(transport=httpx.MockTransport(drop_last)),
    )
    with pytest.raises(VerificationError, match="hidden"):
        client.verify_claim(claim_id)
