"""An insider with the writer's key re-signs a stored entry so that it breaks a rule:
the signature verifies, and the verifier must still refuse the entry by its rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.entries import ClaimExtracted, parse_entry, sign_body
from ledger.errors import IntegrityError
from ledger.instance import Instance
from ledger.state import subject_of
from ledger.verify import verify_store
from tests.store.test_tamper import _fails, busy, data_of, edit  # noqa: F401 - busy is a fixture


def test_a_re_signed_claim_whose_selector_does_not_span_its_quote(busy: Instance) -> None:  # noqa: F811
    engine = busy.ledger.store.engine
    seq = next(
        s
        for s in range(1, 16)
        if isinstance(parse_entry(data_of(engine, s)).body.payload, ClaimExtracted)
    )
    entry = parse_entry(data_of(engine, seq))
    payload = entry.body.payload
    assert isinstance(payload, ClaimExtracted)
    selector = payload.selector.model_copy(update={"end": payload.selector.end + 1})
    body = replace(entry.body, payload=payload.model_copy(update={"selector": selector}))
    forged = sign_body(body, busy.writer_key())
    edit(engine, "UPDATE entries SET data = :d WHERE seq = :s", d=forged.data, s=seq)
    error = _fails(busy.ledger, IntegrityError, f"entry {seq} breaks the log's rules: .*selector")
    assert error.seq == seq  # type: ignore[attr-defined]


def test_a_re_signed_claim_citing_its_source_with_another_sha256(busy: Instance) -> None:  # noqa: F811
    engine = busy.ledger.store.engine
    seq = next(
        s
        for s in range(1, 16)
        if isinstance(parse_entry(data_of(engine, s)).body.payload, ClaimExtracted)
    )
    entry = parse_entry(data_of(engine, seq))
    payload = entry.body.payload
    assert isinstance(payload, ClaimExtracted)
    body = replace(entry.body, payload=payload.model_copy(update={"source_sha256": "ab" * 32}))
    forged = sign_body(body, busy.writer_key())
    edit(  # the lookup columns made to agree, so only the rule is left to catch it
        engine,
        "UPDATE entries SET data = :d, hash = :h, subject = :j WHERE seq = :s",
        d=forged.data, h=forged.hash.hex(), j=subject_of(forged), s=seq,
    )  # fmt: skip
    with pytest.raises(IntegrityError, match=f"entry {seq}.*source_sha256 does not match"):
        verify_store(busy.ledger.store, workers=0)


@pytest.mark.parametrize("seq", [4, 5])  # in chunks of 4: a chunk's first entry, and inside
def test_a_re_signed_entry_naming_another_log(busy: Instance, seq: int) -> None:  # noqa: F811
    engine = busy.ledger.store.engine
    entry = parse_entry(data_of(engine, seq))
    forged = sign_body(replace(entry.body, log="claims-ledger/elsewhere"), busy.writer_key())
    edit(
        engine,
        "UPDATE entries SET data = :d, hash = :h WHERE seq = :s",
        d=forged.data, h=forged.hash.hex(), s=seq,
    )  # fmt: skip
    message = f"entry {seq}: names log 'claims-ledger/elsewhere', entry 0 began '{entry.body.log}'"
    assert _fails(busy.ledger, IntegrityError, message).seq == seq


@pytest.mark.parametrize("seq", [4, 5])
def test_a_re_signed_entry_dated_before_the_one_it_follows(busy: Instance, seq: int) -> None:  # noqa: F811
    engine = busy.ledger.store.engine
    entry = parse_entry(data_of(engine, seq))
    early = "2000-01-01T00:00:00.000000Z"
    forged = sign_body(replace(entry.body, ts=early), busy.writer_key())
    edit(
        engine,
        "UPDATE entries SET data = :d, hash = :h, ts = :t WHERE seq = :s",
        d=forged.data, h=forged.hash.hex(), t=early, s=seq,
    )  # fmt: skip
    message = f"entry {seq}: timestamp {early} is earlier than the previous"
    assert _fails(busy.ledger, IntegrityError, message).seq == seq


def test_a_re_signed_claim_citing_an_entry_that_does_not_exist(busy: Instance) -> None:  # noqa: F811
    """The claim's row is compared while its cited source is looked up for its publication
    date; a source entry that is not there leaves the date unknown, and the join names the
    claim (not a crash in the chunk)."""
    engine = busy.ledger.store.engine
    seq = next(
        s
        for s in range(1, 16)
        if isinstance(parse_entry(data_of(engine, s)).body.payload, ClaimExtracted)
    )
    entry = parse_entry(data_of(engine, seq))
    payload = entry.body.payload
    assert isinstance(payload, ClaimExtracted)
    body = replace(entry.body, payload=payload.model_copy(update={"source": "ab" * 32}))
    forged = sign_body(body, busy.writer_key())
    edit(
        engine,
        "UPDATE entries SET data = :d, hash = :h, subject = :j WHERE seq = :s",
        d=forged.data, h=forged.hash.hex(), j=subject_of(forged), s=seq,
    )  # fmt: skip
    message = f"entry {seq}.*source entry {'ab' * 32} is not a registered source"
    assert _fails(busy.ledger, IntegrityError, message).seq == seq
