"""Builders for test data: payloads and small ledgers, without going through extraction."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from ledger.canonical import sha256
from ledger.entries import (
    KIND_OF,
    Body,
    Claimant,
    ClaimantV1,
    ClaimChanges,
    ClaimExtracted,
    ClaimExtractedV1,
    ClaimReviewed,
    ClaimRevised,
    ExtractorInfo,
    Payload,
    Quantity,
    QuantityV1,
    Rating,
    Selector,
    SignedEntry,
    SourceRegistered,
    build,
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


def add_long_claim(
    ledger: Ledger,
    writer: SigningKey,
    log: SigningKey,
    events: int,
    revised_at: int,
    source: int = 0,
) -> tuple[str, str]:
    """A claim with ``events`` entries in its history, appended in one batch: its
    extraction, reviews by ``log``, a revision by ``writer`` as event ``revised_at`` (from
    0), more reviews; and beside it a second claim of the same source (``source_bytes(
    source)``), reviewed every 50th event, so that a page of one claim's entries must not
    pick up the other's. Returns both claim ids (the long one first)."""
    claim, other = add_source_with_claims(ledger, writer, source, claims=2)
    head, other_head = claim, other
    with ledger.batch() as batch:
        for n in range(1, events):
            if n == revised_at:
                revision: Payload = build(
                    ClaimRevised,
                    where="revision",
                    claim=claim,
                    follows=head,
                    changes=ClaimChanges(statement="Revised in the middle."),
                    reason="a correction",
                )
                head = batch.add(revision, writer).hash.hex()
                continue
            rating = Rating(textual=f"rating {n}", value=1 + n % 5, best=5, worst=1)
            head = batch.add(
                ClaimReviewed(claim=claim, follows=head, rating=rating), log
            ).hash.hex()
            if n % 50 == 0:
                review = ClaimReviewed(claim=other, follows=other_head, rating=rating)
                other_head = batch.add(review, log).hash.hex()
    return claim, other


ROOT = Path(__file__).resolve().parents[1]


def _cli_environ(home: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment of a ``claims-ledger`` run: this one without LEDGER_*, plus these."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environ.update({"LEDGER_HOME": str(home), "COLUMNS": "200", **env})
    return environ


def run_cli_process(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``claims-ledger`` as a user would: a new process, only the given LEDGER_* set.
    For what only a process shows: the entry point, signals, servers, settings read once
    per process; ``run_cli`` is the same run in this process."""
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        cwd=ROOT,
        env=_cli_environ(home, env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``run_cli_process``'s run in this process, through ``ledger.cli.run_main`` (what the
    entry point runs): the same environment (only the given LEDGER_* set), working
    directory, empty stdin, and captured stdout, stderr and exit status (1 and a traceback
    on stderr for an uncaught exception, as the interpreter would). What a run may leave
    in the process is put back: the environment, the working directory, ``sys.argv`` and
    the standard streams, the root logger's handlers and level, and signal handlers."""
    from ledger.cli import run_main

    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_argv = sys.argv
    root = logging.getLogger()
    saved_logging = list(root.handlers), root.level
    saved_signals = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(_cli_environ(home, env))
        os.chdir(ROOT)
        sys.argv = ["claims-ledger", *args]
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(), stdout, stderr
        try:
            code = run_main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                stderr.write(f"{exc.code}\n")
        except Exception:  # what the interpreter prints for an uncaught exception
            traceback.print_exc(file=stderr)
            code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        root.handlers[:], root.level = saved_logging[0], saved_logging[1]
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "ledger.cli", *args], code, stdout.getvalue(), stderr.getvalue()
    )


def seed_claims() -> list[ExtractedClaim]:
    """What the deterministic extractor makes of the seed article, as ingest would."""
    document = read_file(SEED)
    return DeterministicExtractor().extract(document.text, published=document.published)


def captured_statements(ledger: Ledger, action: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements (text, parameters) ``action`` sends through the ledger's engine."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, statement: str, params: Any, *_: object) -> None:
        seen.append((statement, params))

    sa.event.listen(ledger.store.engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        sa.event.remove(ledger.store.engine, "before_cursor_execute", capture)
    return seen


def sent_messages(engine: sa.Engine, action: Callable[[], object], kinds: str) -> list[str]:
    """The frontend messages of ``kinds`` (a regex alternation of libpq message names, e.g.
    ``"Query|Parse"``) the client sent while ``action`` ran, from libpq's trace of every
    connection checked out of ``engine`` (PostgreSQL only; after the checkout's own check)."""
    with tempfile.TemporaryFile("w+") as trace:

        def on_checkout(dbapi_conn: Any, *_: object) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())
            dbapi_conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

        def on_checkin(dbapi_conn: Any, *_: object) -> None:
            if dbapi_conn is not None:
                dbapi_conn.pgconn.untrace()

        sa.event.listen(engine, "checkout", on_checkout)
        sa.event.listen(engine, "checkin", on_checkin)
        try:
            action()
        finally:
            sa.event.remove(engine, "checkout", on_checkout)
            sa.event.remove(engine, "checkin", on_checkin)
        trace.seek(0)
        # One message a line, but for the newlines of the SQL it carries.
        messages = re.split(r"\n(?=[FB]\t\d+\t)", trace.read())
    wanted = re.compile(rf"F\t\d+\t({kinds})\b")
    return [m for m in messages if wanted.match(m)]
