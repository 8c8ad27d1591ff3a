"""Everything a signature refers to is rechecked: a source's bytes against its registration,
a claim's quote against its source's text — when written (every path) and when verified
(database and bundle) — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ledger import chunks
from ledger import rules as rules_module
from ledger.bundle import export_bundle, verify_bundle
from ledger.entries import Body, ClaimExtracted, Payload, sign_body
from ledger.errors import IntegrityError, InvalidInput
from ledger.instance import Instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import verify_store
from tests.helpers import (
    QUOTE,
    add_source,
    add_source_with_claims,
    claim_payload,
    source_bytes,
    source_payload,
    source_sha,
)
from tests.store.test_tamper import edit, unguard


def _snapshot(ledger: Ledger) -> tuple[object, ...]:
    return (ledger.head(), ledger.store.all_sources(), ledger.store.all_claims())


def _signed(ledger: Ledger, key: SigningKey, payload: Payload, kind: str) -> bytes:
    head = ledger.head()
    body = Body(
        log=ledger.origin,
        seq=head.size,
        prev=head.last_hash,
        ts=head.last_ts or "",
        kind=kind,  # type: ignore[arg-type]
        signer=key.key_id,
        payload=payload,
    )
    return sign_body(body, key).data


def _claim_with(source_entry: str, n: int, **selector: object) -> ClaimExtracted:
    claim = claim_payload(source_entry, source_sha(n))
    return claim.model_copy(update={"selector": claim.selector.model_copy(update=selector)})


# -- on write ----------------------------------------------------------------------------

SELECTOR_CHANGES = [
    {"exact": QUOTE.replace(".", "!")},
    {"prefix": "The defence minister said that "},
    {"suffix": " He added that more shipments WE"},
    {"start": 30, "end": 30 + len(QUOTE)},
    {"start": 32, "end": 32 + len(QUOTE)},
    {"prefix": ""},
    {"suffix": ""},
]


@pytest.mark.parametrize("change", SELECTOR_CHANGES, ids=lambda c: ",".join(c))
def test_a_submitted_claim_whose_selector_is_not_in_its_source_is_refused(
    ledger: Ledger, writer_key: SigningKey, change: dict[str, object]
) -> None:
    [claim_id] = add_source_with_claims(ledger, writer_key, 1, claims=1)
    source_entry = ledger.claim(claim_id).source_entry
    good = _signed(ledger, writer_key, _claim_with(source_entry, 1), "claim.extracted")
    bad = _signed(ledger, writer_key, _claim_with(source_entry, 1, **change), "claim.extracted")
    before = _snapshot(ledger)
    field = next(iter(change)) if "start" not in change else "exact"
    with pytest.raises(InvalidInput, match=f"entry {before[0].size}: selector {field}"):  # type: ignore[attr-defined]
        ledger.submit(bad)
    assert _snapshot(ledger) == before
    assert ledger.submit(good).seq == before[0].size  # type: ignore[attr-defined]


def test_a_selector_past_the_end_of_the_text_is_refused(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    with ledger.batch() as batch:
        source = add_source(batch, writer_key, 1)
    length = len(source_bytes(1).decode().strip())
    claim = _claim_with(source.hash.hex(), 1, start=length - 10, end=length - 10 + len(QUOTE))
    before = _snapshot(ledger)
    with pytest.raises(InvalidInput, match="past the end of the source text"):
        ledger.append(writer_key, [claim])
    assert _snapshot(ledger) == before


def test_a_local_append_is_rechecked_too(ledger: Ledger, writer_key: SigningKey) -> None:
    before = _snapshot(ledger)
    with pytest.raises(InvalidInput, match="selector exact"), ledger.batch() as batch:
        source = add_source(batch, writer_key, 1)
        batch.add(_claim_with(source.hash.hex(), 1, exact="x" * len(QUOTE)), writer_key)
    assert _snapshot(ledger) == before


def test_a_source_is_registered_only_with_its_own_bytes(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    entry = _signed(ledger, writer_key, source_payload(5), "source.registered")
    before = _snapshot(ledger)
    with pytest.raises(InvalidInput, match="only with the source's bytes"):
        ledger.submit(entry)
    with pytest.raises(InvalidInput, match="its bytes hash to"):
        ledger.submit(entry, source=source_bytes(6))  # same size, other bytes
    size = len(source_bytes(5))
    with pytest.raises(InvalidInput, match=f"size is {size}, but its bytes are {size + 1}"):
        ledger.submit(entry, source=source_bytes(5) + b" ")
    wrong_text = source_payload(5).model_copy(update={"text_sha256": "0" * 64})
    with pytest.raises(InvalidInput, match="text_sha256 is 0000"):
        ledger.submit(
            _signed(ledger, writer_key, wrong_text, "source.registered"), source=source_bytes(5)
        )
    as_html = source_payload(5).model_copy(update={"media_type": "image/png"})
    with pytest.raises(InvalidInput, match="media type image/png is not supported"):
        ledger.submit(
            _signed(ledger, writer_key, as_html, "source.registered"), source=source_bytes(5)
        )
    claim = _signed(ledger, writer_key, claim_payload("a" * 64, "b" * 64), "claim.extracted")
    with pytest.raises(InvalidInput, match=r"not a source\.registered"):
        ledger.submit(claim, source=source_bytes(5))
    assert _snapshot(ledger) == before
    # A local append without the bytes is refused the same way.
    with ledger.batch() as batch, pytest.raises(InvalidInput, match="its bytes are missing"):
        batch.add(source_payload(5), writer_key)
    assert _snapshot(ledger) == before

    accepted = ledger.submit(entry, source=source_bytes(5))
    assert ledger.store.blob(source_sha(5)) == source_bytes(5)
    claim = _signed(ledger, writer_key, _claim_with(accepted.hash.hex(), 5), "claim.extracted")
    assert ledger.submit(claim).kind == "claim.extracted"
    assert verify_store(ledger.store).kinds["claim.extracted"] == 1


def test_claims_are_rechecked_against_a_text_parsed_once(
    ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.rules as rules

    parsed: list[str] = []
    real = rules.parse_bytes

    def counting(data: bytes, **kwargs: str) -> object:
        parsed.append(kwargs["where"])
        return real(data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rules, "parse_bytes", counting)
    add_source_with_claims(ledger, writer_key, 1, claims=20)
    assert len(parsed) == 1
    verify_store(ledger.store, workers=0)
    assert len(parsed) == 2


# -- on verify ---------------------------------------------------------------------------


def _tampered_claim(instance: Instance, **selector: object) -> int:
    """Append a claim whose quote is not in its source, writing its rows around the rules
    (as someone holding a writer key and the database could): the real append path checks
    and signs everything else, the quote check alone is bypassed."""
    ledger, writer = instance.ledger, instance.writer_key()
    [claim_id] = add_source_with_claims(ledger, writer, 1, claims=1)
    source_entry = ledger.claim(claim_id).source_entry
    claim = _claim_with(source_entry, 1, **selector)
    import ledger.rules as rules

    real = rules.check_quote
    rules.check_quote = lambda *args: None  # type: ignore[assignment]
    try:
        entry = ledger.append(writer, [claim])[0]
    finally:
        rules.check_quote = real
    return entry.seq


@pytest.mark.parametrize("workers", [0, 2])
def test_verify_names_a_claim_whose_quote_is_not_in_its_source(
    instance: Instance, workers: int
) -> None:
    seq = _tampered_claim(instance, suffix=" He added that more shipments WE")
    with pytest.raises(IntegrityError, match=f"entry {seq} breaks.*selector suffix") as info:
        verify_store(instance.ledger.store, workers=workers, chunk_bits=2)
    assert info.value.seq == seq


def test_quotes_citing_a_source_in_an_earlier_chunk_are_checked_in_its_text(
    instance: Instance,
) -> None:
    ledger, writer = instance.ledger, instance.writer_key()
    [claim_id] = add_source_with_claims(ledger, writer, 1, claims=1)  # entries 2, 3
    source_entry = ledger.claim(claim_id).source_entry
    ledger.append(writer, [_claim_with(source_entry, 1) for _ in range(3)])  # 4 to 6
    verify_store(ledger.store, workers=0, chunk_bits=1)
    unguard(ledger.store.engine)
    edit(ledger.store.engine, "DELETE FROM source_blobs")
    with pytest.raises(IntegrityError, match=f"entry 2 breaks.*source {source_sha(1)}"):
        verify_store(ledger.store, workers=0, chunk_bits=1)


def test_verify_names_a_source_whose_bytes_are_missing_or_changed(
    instance: Instance, tmp_path: Path
) -> None:
    ledger = instance.ledger
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=2)
    unguard(ledger.store.engine)
    sha = source_sha(1)
    changed = source_bytes(1).replace(b"Article", b"article")
    edit(ledger.store.engine, "UPDATE source_blobs SET data = :d", d=changed)
    with pytest.raises(IntegrityError, match=f"entry 2 breaks.*source {sha}: its bytes hash to"):
        verify_store(ledger.store, workers=0)
    edit(ledger.store.engine, "DELETE FROM source_blobs")
    with pytest.raises(
        IntegrityError, match=f"entry 2 breaks.*source {sha}: its bytes are missing"
    ):
        verify_store(ledger.store, workers=0)
    with pytest.raises(IntegrityError, match=f"source {sha} .entry 2. has no stored bytes"):
        export_bundle(ledger, tmp_path / "bundle")


def test_a_bundle_without_a_source_file_fails(instance: Instance, tmp_path: Path) -> None:
    add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=2)
    path = tmp_path / "bundle"
    export_bundle(instance.ledger, path)
    key = instance.ledger.log_verifier()
    assert verify_bundle(path, key, workers=0).entries == 5
    shutil.copy(path / "sources" / source_sha(1), tmp_path / "kept")
    (path / "sources" / source_sha(1)).unlink()
    with pytest.raises(IntegrityError, match=f"entry 2 breaks.*{source_sha(1)}: its bytes are"):
        verify_bundle(path, key, workers=0)
    shutil.rmtree(path / "sources")
    with pytest.raises(IntegrityError, match="its bytes are missing"):
        verify_bundle(path, key, workers=0)


def test_a_bundle_with_a_claim_whose_quote_is_not_in_its_source_fails(
    instance: Instance, tmp_path: Path
) -> None:
    seq = _tampered_claim(instance, exact=QUOTE.replace(".", "?"))
    path = tmp_path / "bundle"
    export_bundle(instance.ledger, path)
    key = instance.ledger.log_verifier()
    with pytest.raises(IntegrityError, match=f"entry {seq} breaks.*selector exact"):
        verify_bundle(path, key, workers=0)


def test_of_several_problems_in_a_chunk_the_first_in_log_order_is_named(
    instance: Instance,
) -> None:
    seq = _tampered_claim(instance, prefix="")  # a claim at 4 citing the source at 2
    add_source_with_claims(instance.ledger, instance.writer_key(), 2, claims=1)  # 5, 6
    unguard(instance.ledger.store.engine)
    edit(
        instance.ledger.store.engine, "DELETE FROM source_blobs WHERE sha256 = :s", s=source_sha(2)
    )
    with pytest.raises(IntegrityError, match=f"entry {seq} breaks.*selector prefix") as info:
        verify_store(instance.ledger.store, workers=0)
    assert info.value.seq == seq == 4
    edit(instance.ledger.store.engine, "DELETE FROM source_blobs")  # now entry 2 comes first
    with pytest.raises(IntegrityError, match=r"entry 2 breaks.*its bytes are missing"):
        verify_store(instance.ledger.store, workers=0)


def test_sources_read_in_several_groups_stop_at_the_first_problem(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Source bytes are read a group at a time; once a group found a problem, no later group
    (later in the log) is read, and the earliest problem is named."""
    for n in (1, 2, 3):
        add_source_with_claims(
            instance.ledger, instance.writer_key(), n, claims=1
        )  # sources at 2, 4, 6
    unguard(instance.ledger.store.engine)
    edit(instance.ledger.store.engine, "DELETE FROM source_blobs")
    monkeypatch.setattr(chunks, "_GROUP_BYTES", 1)  # one source a group
    read: list[list[str]] = []
    blobs = chunks._Chunk._blobs

    def recorded(self: chunks._Chunk, shas: list[str]) -> dict[str, bytes]:
        read.append(shas)
        return blobs(self, shas)

    monkeypatch.setattr(chunks._Chunk, "_blobs", recorded)
    with pytest.raises(IntegrityError, match=f"entry 2 breaks.*{source_sha(1)}: its bytes are"):
        verify_store(instance.ledger.store, workers=0)
    assert read == [[source_sha(1)]]


def test_of_two_bad_quotes_of_one_source_the_first_is_named(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _tampered_claim(instance, prefix="")
    ledger, writer = instance.ledger, instance.writer_key()
    source_entry = ledger.claim(ledger.entry(seq=first).hash).source_entry
    monkeypatch.setattr(rules_module, "check_quote", lambda *args: None)
    second = ledger.append(writer, [_claim_with(source_entry, 1, suffix="")])[0].seq
    monkeypatch.undo()
    assert second == first + 1
    with pytest.raises(IntegrityError, match=f"entry {first} breaks.*selector prefix") as info:
        verify_store(ledger.store, workers=0)
    assert info.value.seq == first
