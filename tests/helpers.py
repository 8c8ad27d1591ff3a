"""Builders for test data: payloads and small ledgers, without going through extraction."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from ledger.canonical import sha256
from ledger.entries import (
    KIND_OF,
    Body,
    Claimant,
    ClaimantV1,
    ClaimExtracted,
    ClaimExtractedV1,
    ExtractorInfo,
    Payload,
    Quantity,
    QuantityV1,
    Selector,
    SignedEntry,
    SourceRegistered,
    sign_body,
)
from ledger.extract.deterministic import DeterministicExtractor
from ledger.extract.model import ExtractedClaim
from ledger.formats import read_file
from ledger.rules import SELECTOR_CONTEXT
from ledger.service import Batch, Ledger
from ledger.signing import SigningKey
from ledger.sources import normalize_text
from tests.conftest import SEED

RULES = "ab" * 32
QUOTE = "North Korea sent about 7000 containers of weapons to Russia."
"""The sentence every ``claim_payload`` quotes: it is in every ``source_bytes(n)``."""


def source_bytes(n: int = 0) -> bytes:
    """A plain-text document, distinct for each ``n``, that holds ``QUOTE``."""
    return (
        f"The defense minister said that {QUOTE} He added that more shipments were "
        f"expected before the summer.\n\nArticle {n}.\n"
    ).encode()


def source_sha(n: int = 0) -> str:
    """The sha256 that ``source_payload(n)`` names."""
    return sha256(source_bytes(n)).hex()


def selector_for(text: str, exact: str) -> Selector:
    """The selector of the first occurrence of ``exact`` in the normalized ``text``."""
    start = text.index(exact)
    end = start + len(exact)
    return Selector(
        exact=exact,
        prefix=text[max(0, start - SELECTOR_CONTEXT) : start],
        suffix=text[end : end + SELECTOR_CONTEXT],
        start=start,
        end=end,
    )


def text_source(text: str) -> tuple[SourceRegistered, bytes]:
    """A source.registered payload for a plain-text document, and the document's bytes."""
    data = text.encode()
    return (
        SourceRegistered(
            sha256=sha256(data).hex(),
            text_sha256=sha256(normalize_text(text).encode()).hex(),
            size=len(data),
            media_type="text/plain",
            uri=None,
            title=None,
            publisher=None,
            published=None,
            retrieved_at=None,
        ),
        data,
    )


def add_source(
    batch: Batch, writer: SigningKey, n: int, payload: SourceRegistered | None = None
) -> SignedEntry:
    """Add ``source_payload(n)`` (or ``payload``, the same with other metadata) and its bytes."""
    batch.add_blob(source_sha(n), source_bytes(n))
    return batch.add(payload or source_payload(n), writer)


def append_sources(ledger: Ledger, writer: SigningKey, ns: Iterable[int]) -> list[SignedEntry]:
    """``source_payload(n)`` for each ``n``, with their bytes, in one append."""
    with ledger.batch() as batch:
        entries = [add_source(batch, writer, n) for n in ns]
    return entries


def source_payload(n: int = 0) -> SourceRegistered:
    data = source_bytes(n)
    digest = sha256(data).hex()
    return SourceRegistered(
        sha256=digest,
        text_sha256=sha256(normalize_text(data.decode()).encode()).hex(),
        size=len(data),
        media_type="text/plain",
        uri=f"https://news.example/{n}",
        title=f"Article {n}",
        publisher="Example News",
        published="2024-03-20",
        retrieved_at=None,
    )


def claim_payload(source_entry: str, source_sha256: str, n: int = 0) -> ClaimExtracted:
    """A claim quoting ``QUOTE`` from ``source_bytes`` (the statement differs with ``n``);
    it says nothing format version 1 could not (``claim_payload_v1``)."""
    return ClaimExtracted(
        source=source_entry,
        source_sha256=source_sha256,
        statement=f"North Korea sent about {7000 + n} containers of weapons to Russia.",
        selector=_QUOTE_SELECTOR,
        claimant=Claimant(
            name="Shin Won-shik",
            role="defense minister",
            affiliation="South Korea",
            kind=None,
            cites=(),
        ),
        reporting="reported_speech",
        made_on="2024-03-18",
        made_on_precision="day",
        quantities=(
            Quantity(
                value=str(7000 + n),
                unit="containers",
                bound="approximate",
                high=None,
                text=f"about {7000 + n} containers",
            ),
        ),
        score=900,
        extractor=ExtractorInfo(name="test", version="1", rules_sha256=RULES),
    )


def claim_payload_v1(source_entry: str, source_sha256: str, n: int = 0) -> ClaimExtractedV1:
    """``claim_payload`` as format version 1 said it (``approximate``, no precision, kind
    or cited sources)."""
    return ClaimExtractedV1(
        source=source_entry,
        source_sha256=source_sha256,
        statement=f"North Korea sent about {7000 + n} containers of weapons to Russia.",
        selector=_QUOTE_SELECTOR,
        claimant=ClaimantV1(
            name="Shin Won-shik", role="defense minister", affiliation="South Korea"
        ),
        reporting="reported_speech",
        made_on="2024-03-18",
        quantities=(
            QuantityV1(
                value=str(7000 + n),
                unit="containers",
                approximate=True,
                text=f"about {7000 + n} containers",
            ),
        ),
        score=900,
        extractor=ExtractorInfo(name="test", version="1", rules_sha256=RULES),
    )


def submit_v1(
    ledger: Ledger, key: SigningKey, payload: Payload, source: bytes | None = None
) -> SignedEntry:
    """Sign ``payload`` as a format version 1 entry at the head of ``ledger`` and submit it
    (as a writer running older software would)."""
    head = ledger.head()
    body = Body(
        log=ledger.origin,
        seq=head.size,
        prev=head.last_hash,
        ts=head.last_ts or "2024-01-01T00:00:00.000000Z",
        kind=KIND_OF[type(payload)],
        signer=key.key_id,
        payload=payload,
        v=1,
    )
    return ledger.submit(sign_body(body, key).data, source)


_QUOTE_SELECTOR = selector_for(normalize_text(source_bytes(0).decode()), QUOTE)


def add_source_with_claims(ledger: Ledger, writer: SigningKey, n: int, claims: int) -> list[str]:
    """Append one source and ``claims`` claims about it in one batch; returns the claim ids."""
    with ledger.batch() as batch:
        source = add_source(batch, writer, n)
        ids = [
            batch.add(claim_payload(source.hash.hex(), source_sha(n), i), writer).hash.hex()
            for i in range(claims)
        ]
    return ids


ROOT = Path(__file__).resolve().parents[1]


def run_cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``claims-ledger`` as a user would: a new process, only the given LEDGER_* set."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environ.update({"LEDGER_HOME": str(home), "COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def seed_claims() -> list[ExtractedClaim]:
    """What the deterministic extractor makes of the seed article, as ingest would."""
    document = read_file(SEED)
    return DeterministicExtractor().extract(document.text, published=document.published)
