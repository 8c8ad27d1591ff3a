"""Ingesting source documents: a source.registered entry (and its claims) in one append."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ledger.entries import SourceRegistered, format_timestamp
from ledger.errors import InvalidInput
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.sources import SourceDocument, read_file
from ledger.state import SourceState


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one document added: ``added`` is False when its exact bytes were already there."""

    source: SourceState
    added: bool
    claims: int
    where: str


def source_payload(doc: SourceDocument) -> SourceRegistered:
    return SourceRegistered(
        sha256=doc.sha256_hex,
        text_sha256=doc.text_sha256_hex,
        size=len(doc.data),
        media_type=doc.media_type,
        uri=doc.uri,
        title=doc.title,
        publisher=doc.publisher,
        published=doc.published.isoformat() if doc.published else None,
        retrieved_at=format_timestamp(doc.retrieved_at) if doc.retrieved_at else None,
    )


def ingest_document(
    ledger: Ledger, signer: SigningKey, doc: SourceDocument, *, where: str
) -> IngestResult:
    """Register ``doc`` unless its bytes are already in the ledger; all or nothing."""
    with ledger.batch() as batch:
        existing = batch.overlay.get_source(doc.sha256_hex)
        if existing is not None:
            return IngestResult(existing, added=False, claims=0, where=where)
        batch.add_blob(doc.sha256_hex, doc.data)
        batch.add(source_payload(doc), signer)
        state = batch.overlay.get_source(doc.sha256_hex)
    assert state is not None
    return IngestResult(state, added=True, claims=0, where=where)


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files named, and every file under folders named (recursively, sorted, no hidden files)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        elif path.exists():
            yield path
        else:
            raise InvalidInput(f"{path}: no such file or folder")


def ingest_paths(ledger: Ledger, signer: SigningKey, paths: list[Path]) -> list[IngestResult]:
    """Read every file first (so bad input writes nothing), then ingest each one."""
    docs = [(str(path), read_file(path)) for path in expand_paths(paths)]
    return [ingest_document(ledger, signer, doc, where=where) for where, doc in docs]
