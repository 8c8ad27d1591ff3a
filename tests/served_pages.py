"""A served ledger for the page tests (HTTP and browser): one per module and database.

The seed's claims, two more sources with three claims each, one claim revised and
reviewed; served by `claims-ledger serve` on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.entries import ClaimChanges, Rating, Reviewer
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.queries import ClaimFilter
from tests.api.conftest import launch
from tests.conftest import SEED, postgres_schema
from tests.helpers import add_source_with_claims

REVISED_STATEMENT = "North Korea sent about 6,700 containers."


@dataclass(frozen=True)
class ServedPages:
    url: str
    db: str
    revised: str
    """The claim that was revised and reviewed."""
    claims: list[str]
    sources: list[str]
    db_url: str
    home: Path


@contextlib.contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'ledger.sqlite3'}"
    else:
        with postgres_schema() as url:
            yield url


@contextlib.contextmanager
def served_pages(kind: str, tmp: Path) -> Iterator[ServedPages]:
    with _database(kind, tmp) as db_url:
        home = tmp / "home"
        instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
        ledger, writer, log = instance.ledger, instance.writer_key(), instance.log_key()
        ingest_paths(ledger, writer, [SEED], extractor=DeterministicExtractor())
        ids: list[str] = []
        for n in range(2):
            ids += add_source_with_claims(ledger, writer, n, claims=3)
        revised = ledger.revise_claim(
            writer,
            ids[0],
            follows=ids[0],
            changes=ClaimChanges(statement=REVISED_STATEMENT),
            reason="ministry correction",
        )
        ledger.review_claim(
            log,
            ids[0],
            follows=revised.hash.hex(),
            rating=Rating(textual="Mostly true", value=4, best=5, worst=1),
            note="checked <b>twice</b>",
            url="https://factcheck.example/1",
            reviewer=Reviewer(
                name="Example Fact Check", type="Organization", url="https://factcheck.example/"
            ),
        )
        claims = [c.claim_id for c in ledger.find_claims(ClaimFilter(), limit=500)]
        sources = sorted({ledger.claim(c).source_sha256 for c in claims})
        instance.close()
        proc, url = launch(home, db_url)
        try:
            yield ServedPages(url, kind, ids[0], claims, sources, db_url, home)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
