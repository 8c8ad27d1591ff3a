"""claimant.linked and claimant.unlinked: signed by a reviewer, naming two attributed claims,
refused (nothing written) when a claim is unknown, unattributed or retracted, when the
signer is no reviewer, or when the entry would change nothing; replayed by verify."""

from __future__ import annotations

import pytest

from ledger.entries import Claimant, ClaimantLinked, parse_entry
from ledger.errors import Conflict, InvalidInput, NotFound, Unauthorized
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source, claim_payload, source_sha

NAMES = ["Shin Won-shik", "Shin Won-sik", "Jane Roe", None]


def _claims(ledger: Ledger, writer: SigningKey) -> list[str]:
    """One source per claimant name (the last claim is unattributed)."""
    ids = []
    for n, name in enumerate(NAMES):
        with ledger.batch() as batch:
            source = add_source(batch, writer, n)
            payload = claim_payload(source.hash.hex(), source_sha(n), n).model_copy(
                update={
                    "claimant": Claimant(
                        name=name, role=None, affiliation=None, kind=None, cites=()
                    )
                }
            )
            ids.append(batch.add(payload, writer).hash.hex())
    return ids


@pytest.fixture
def claims(ledger: Ledger, writer_key: SigningKey) -> list[str]:
    return _claims(ledger, writer_key)


def test_a_reviewer_links_and_unlinks_and_verify_replays_it(
    ledger: Ledger, log_key: SigningKey, claims: list[str]
) -> None:
    linked = ledger.link_claimants(log_key, claims[0], claims[2], reason="same person")
    assert linked.kind == "claimant.linked"
    assert parse_entry(linked.data).body.payload == ClaimantLinked(
        a=claims[0], b=claims[2], reason="same person"
    )
    unlinked = ledger.unlink_claimants(log_key, claims[2], claims[0], reason="not after all")
    assert unlinked.kind == "claimant.unlinked"
    report = verify_store(ledger.store)
    assert report.kinds["claimant.linked"] == report.kinds["claimant.unlinked"] == 1
    assert rebuild_projections(ledger.store, apply=False).differences == []


def _refused(ledger: Ledger, error: type[Exception], match: str, call: object) -> None:
    size = ledger.head().size
    with pytest.raises(error, match=match):
        assert callable(call)
        call()
    assert ledger.head().size == size


def test_a_no_op_is_refused(ledger: Ledger, log_key: SigningKey, claims: list[str]) -> None:
    # The two spellings of Shin's name are one identity by the rules already.
    _refused(
        ledger,
        Conflict,
        "claimant.linked is a no-op",
        lambda: ledger.link_claimants(log_key, claims[0], claims[1], reason="r"),
    )
    _refused(
        ledger,
        Conflict,
        "claimant.unlinked is a no-op",
        lambda: ledger.unlink_claimants(log_key, claims[0], claims[2], reason="r"),
    )
    ledger.unlink_claimants(log_key, claims[0], claims[1], reason="two people")
    _refused(
        ledger,
        Conflict,
        "already apart",
        lambda: ledger.unlink_claimants(log_key, claims[1], claims[0], reason="again"),
    )


def test_unknown_unattributed_and_twice_named_claims_are_refused(
    ledger: Ledger, log_key: SigningKey, claims: list[str]
) -> None:
    unknown = "0" * 64
    _refused(
        ledger,
        NotFound,
        f"claimant.linked b: claim {unknown} is not in the ledger",
        lambda: ledger.link_claimants(log_key, claims[0], unknown, reason="r"),
    )
    _refused(
        ledger,
        Conflict,
        f"claim {claims[3]} has no named claimant",
        lambda: ledger.link_claimants(log_key, claims[3], claims[0], reason="r"),
    )
    _refused(
        ledger,
        InvalidInput,
        "names claim .* twice",
        lambda: ledger.link_claimants(log_key, claims[0], claims[0], reason="r"),
    )
    _refused(
        ledger,
        InvalidInput,
        "claimant.linked: a:",
        lambda: ledger.link_claimants(log_key, "nope", claims[0], reason="r"),
    )


def test_a_retracted_claim_cannot_be_linked(
    ledger: Ledger, log_key: SigningKey, writer_key: SigningKey, claims: list[str]
) -> None:
    ledger.retract_claim(writer_key, claims[2], follows=claims[2], reason="wrong")
    _refused(
        ledger,
        Conflict,
        "is retracted",
        lambda: ledger.link_claimants(log_key, claims[0], claims[2], reason="r"),
    )


def test_a_writer_cannot_link(ledger: Ledger, writer_key: SigningKey, claims: list[str]) -> None:
    _refused(
        ledger,
        Unauthorized,
        "lacks the 'reviewer' role needed for claimant.linked",
        lambda: ledger.link_claimants(writer_key, claims[0], claims[2], reason="r"),
    )
