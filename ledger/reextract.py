"""Re-extraction: a registered source's stored bytes run through another extractor version,
appended as new claims (the old ones stay, or are retracted in the same append)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger import deadline, rules
from ledger.echo import shorten
from ledger.entries import ClaimRetracted, parse_entry
from ledger.errors import Duplicate, IntegrityError, InvalidInput, NotFound
from ledger.extract.model import Extractor
from ledger.ingest import claim_payload
from ledger.inputs import check_hex, check_string
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.sources import SourceDocument
from ledger.state import ClaimState, SourceState


@dataclass(frozen=True, slots=True)
class ReextractResult:
    """What a re-extraction appended: ``claims`` new claims, ``retracted`` old ones."""

    source: SourceState
    extractor: str
    claims: int
    retracted: int
    first_seq: int | None
    """The first entry appended (None when nothing was)."""


def same_extractor(claim: ClaimState, extractor: Extractor) -> bool:
    return (
        claim.extractor_name == extractor.name
        and claim.extractor_version == extractor.version
        and claim.extractor_rules_sha256 == extractor.rules_sha256
    )


def describe(extractor: Extractor) -> str:
    return f"{extractor.name} {extractor.version} (rules {extractor.rules_sha256[:12]})"


def reextract(
    ledger: Ledger,
    signer: SigningKey,
    source_sha256: str,
    *,
    extractor: Extractor,
    retract_reason: str | None = None,
) -> ReextractResult:
    """Run ``extractor`` over the registered source's stored bytes (rechecked against its
    registration) and append one ``claim.extracted`` per claim found, in one append; with
    ``retract_reason``, every live claim of the source from another extractor is retracted
    in that same append. Refused (``Duplicate``, nothing written) when the source already
    has claims from this very extractor (name, version and rules)."""
    check_hex(source_sha256, "source")
    if retract_reason is not None:
        check_string(retract_reason, "retract reason")
    doc, registration = _stored_document(ledger, source_sha256)
    _refuse_same(ledger.source_claims(source_sha256), source_sha256, extractor)
    found = extractor.extract(doc.text, published=doc.published)
    deadline.check()  # extraction may have used up the time a caller allowed
    source_entry = ledger.entry(hash=registration.entry_hash)
    signed_source = parse_entry(source_entry.data, where=f"entry {source_entry.seq}")
    payloads = [claim_payload(claim, doc, signed_source, extractor) for claim in found]
    with ledger.batch() as batch:
        existing = batch.txn.source_claims(source_sha256)  # again, under the append lock
        _refuse_same(existing, source_sha256, extractor)
        retracted = 0
        if retract_reason is not None:
            for claim in existing:
                if claim.status != "retracted":
                    retraction = ClaimRetracted(
                        claim=claim.claim_id, follows=claim.head, reason=retract_reason
                    )
                    batch.add(retraction, signer)
                    retracted += 1
        for payload in payloads:
            batch.add(payload, signer)
        first = batch.entries[0].seq if batch.entries else None
    return ReextractResult(registration, describe(extractor), len(payloads), retracted, first)


def _refuse_same(claims: list[ClaimState], source_sha256: str, extractor: Extractor) -> None:
    same = [claim for claim in claims if same_extractor(claim, extractor)]
    if same:
        raise Duplicate(
            f"source {shorten(source_sha256)} already has {len(same)} claims from extractor "
            f"{describe(extractor)}: re-extraction needs another extractor version"
        )


def _stored_document(ledger: Ledger, sha256: str) -> tuple[SourceDocument, SourceState]:
    """The source's registration and its document, from the stored bytes: checked against
    the registration's sha256, size and text_sha256, as when it was registered."""
    try:
        source = ledger.source(sha256)
    except NotFound:
        raise NotFound(f"source {shorten(sha256)} is not registered") from None
    data = ledger.store.blob(sha256)
    try:
        text = rules.source_text(source.seq, source, data)
    except InvalidInput as exc:
        raise IntegrityError(f"the stored bytes of source {shorten(sha256)}: {exc}") from exc
    assert data is not None  # source_text refuses missing bytes
    published = dt.date.fromisoformat(source.published) if source.published else None
    doc = SourceDocument(
        data=data,
        text=text,
        media_type=source.media_type,
        uri=source.uri,
        title=source.title,
        publisher=source.publisher,
        published=published,
    )
    return doc, source
