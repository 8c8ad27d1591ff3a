"""Ingesting source documents: a source.registered entry (and its claims) in one append."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger import deadline
from ledger.echo import echo
from ledger.entries import (
    Cited,
    Claimant,
    ClaimExtracted,
    ExtractorInfo,
    Quantity,
    Selector,
    SignedEntry,
    SourceRegistered,
    format_timestamp,
)
from ledger.errors import InvalidInput, UsageError
from ledger.extract.model import ExtractedClaim, Extractor
from ledger.fetch import Fetcher
from ledger.formats import PLAIN_TYPE, parse_bytes, read_file
from ledger.ids import is_url as has_scheme
from ledger.ids import local_location
from ledger.inputs import check_string
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.sources import SourceDocument, file_kind, in_pseudo_filesystem
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


def claim_payload(
    claim: ExtractedClaim, doc: SourceDocument, source: SignedEntry, extractor: Extractor
) -> ClaimExtracted:
    """The claim.extracted payload for one extracted claim, after checking its anchor."""
    sel = claim.selector
    if doc.text[sel.start : sel.end] != sel.exact or not sel.exact:
        raise InvalidInput(
            f"extractor {extractor.name} returned a quote that is not at "
            f"[{sel.start}:{sel.end}] of the source text"
        )
    return ClaimExtracted(
        source=source.hash.hex(),
        source_sha256=doc.sha256_hex,
        statement=claim.statement,
        selector=Selector(
            exact=sel.exact, prefix=sel.prefix, suffix=sel.suffix, start=sel.start, end=sel.end
        ),
        claimant=Claimant(
            name=claim.claimant.name or None,
            role=claim.claimant.role or None,
            affiliation=claim.claimant.affiliation or None,
            kind=claim.claimant.kind,
            cites=tuple(
                Cited(
                    name=c.name or None,
                    role=c.role or None,
                    affiliation=c.affiliation or None,
                    kind=c.kind,
                )
                for c in claim.claimant.cites
            ),
        ),
        reporting=claim.reporting,
        made_on=claim.made_on.isoformat() if claim.made_on else None,
        made_on_precision=(claim.made_on_precision or "day") if claim.made_on else None,
        quantities=tuple(
            Quantity(value=q.value, unit=q.unit or None, bound=q.bound, high=q.high, text=q.text)
            for q in claim.quantities
        ),
        score=claim.score,
        extractor=ExtractorInfo(
            name=extractor.name, version=extractor.version, rules_sha256=extractor.rules_sha256
        ),
    )


def ingest_document(
    ledger: Ledger,
    signer: SigningKey,
    doc: SourceDocument,
    *,
    where: str,
    extractor: Extractor | None = None,
) -> IngestResult:
    """Register ``doc`` and the claims ``extractor`` finds in it, in one append.

    Nothing is added when the exact bytes are already registered. Extraction runs
    before the append lock is taken; any failure leaves the ledger untouched.
    """
    claims = extractor.extract(doc.text, published=doc.published) if extractor is not None else []
    deadline.check()  # extraction may have used up the time a caller allowed
    with ledger.batch() as batch:
        existing = batch.overlay.get_source(doc.sha256_hex)
        if existing is not None:
            return IngestResult(existing, added=False, claims=0, where=where)
        batch.add_blob(doc.sha256_hex, doc.data)
        source = batch.add(source_payload(doc), signer)
        for claim in claims:
            assert extractor is not None
            batch.add(claim_payload(claim, doc, source, extractor), signer)
        state = batch.overlay.get_source(doc.sha256_hex)
    assert state is not None
    return IngestResult(state, added=True, claims=len(claims), where=where)


Target = Path | str
"""A local file or folder, or an http(s) URL (the command line's targets)."""

Skipped = Callable[[Path, str], None]
"""Told of each entry of a folder that is left out, and why."""


def is_url(target: Target) -> bool:
    return isinstance(target, str) and target.lower().startswith(("http://", "https://"))


def fetch_url(url: str, fetcher: Fetcher | None) -> SourceDocument:
    """Fetch a source from an http(s) URL; the only way the API reads a source by name.

    Anything else (a path, ``~``, a relative name, ``file:`` or another scheme) is refused
    before anything is opened: there is no path to the local file system from here.
    """
    check_string(url, "url")
    if not is_url(url):
        raise InvalidInput(
            f"{echo(url)}: only http(s) URLs can be fetched; local paths and other schemes"
            " are not accepted"
        )
    if fetcher is None:
        raise InvalidInput(f"{url}: fetching URLs is not enabled here")
    return fetcher.fetch(url)


def expand_targets(
    targets: Sequence[Target], *, skipped: Skipped | None = None
) -> Iterator[Target]:
    """URLs as given; files named; every regular file under folders named (recursively,
    sorted, hidden files skipped; FIFOs, devices and sockets left out and told to
    ``skipped``). Nothing under /proc, /sys or /dev is walked or read."""
    for target in targets:
        if is_url(target):
            yield target
            continue
        if isinstance(target, str) and has_scheme(target):
            scheme = target.partition("://")[0]
            raise UsageError(
                f"{echo(target)}: unsupported scheme {scheme!r}: give an http(s) URL or a "
                "local path"
            )
        path = Path(target)
        if path.exists() and in_pseudo_filesystem(path):
            raise InvalidInput(f"{path}: is under /proc, /sys or /dev; not a document")
        if path.is_dir():
            yield from _walk(path, skipped)
        elif path.exists():
            yield path  # read_local_bytes refuses it if it is not a regular file
        else:
            raise InvalidInput(f"{path}: no such file or folder")


def _walk(folder: Path, skipped: Skipped | None) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.parts) or path.is_dir():
            continue
        try:
            mode = path.stat().st_mode
        except OSError as exc:  # a dangling link, or no permission
            why = f"cannot be read: {exc.strerror}"
        else:
            if stat.S_ISREG(mode) and not in_pseudo_filesystem(path):
                yield path
                continue
            kind = "under /proc, /sys or /dev" if stat.S_ISREG(mode) else file_kind(mode)
            why = f"{kind}, not a regular file"
        if skipped is not None:
            skipped(path, why)


def read_target(target: Target, fetcher: Fetcher | None) -> SourceDocument:
    """A local file (read safely, ``read_file``) or a URL: for the command line only."""
    if is_url(target):
        return fetch_url(str(target), fetcher)
    return read_file(Path(target))


def read_text(text: str, *, where: str = "text") -> SourceDocument:
    """A plain-text document a client sent as a string (clean Unicode, no NUL)."""
    check_string(text, where, limit=None)
    return parse_bytes(text.encode("utf-8"), media_type=PLAIN_TYPE, where=where)


def ingest_paths(
    ledger: Ledger,
    signer: SigningKey,
    targets: Sequence[Target],
    *,
    extractor: Extractor | None = None,
    fetcher: Fetcher | None = None,
    progress: Callable[[IngestResult], None] | None = None,
    skipped: Skipped | None = None,
) -> list[IngestResult]:
    """Read (and fetch) every document first, so bad input writes nothing, then ingest each.

    For the command line: local paths are read (regular files only), and where each
    document was read from is recorded as its location (``Store.add_location``: a local
    file's absolute path, a URL as given; local, unsigned, never served; decision 0016).
    """
    found = expand_targets(targets, skipped=skipped)
    docs = [(t, read_target(t, fetcher)) for t in found]
    results = []
    for target, doc in docs:
        where = str(target)
        result = ingest_document(ledger, signer, doc, where=where, extractor=extractor)
        location = where if is_url(target) else local_location(target)
        ledger.store.add_location(location, result.source.sha256, format_timestamp(ledger.clock()))
        results.append(result)
        if progress is not None:
            progress(result)
    return results
