"""Builders for test data: payloads and small ledgers, without going through extraction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ledger.entries import (
    Claimant,
    ClaimExtracted,
    ExtractorInfo,
    Quantity,
    Selector,
    SourceRegistered,
)
from ledger.service import Ledger
from ledger.signing import SigningKey

RULES = "ab" * 32


def source_payload(n: int = 0) -> SourceRegistered:
    digest = f"{n:064x}"
    return SourceRegistered(
        sha256=digest,
        text_sha256=digest[::-1],
        size=100 + n,
        media_type="text/plain",
        uri=f"https://news.example/{n}",
        title=f"Article {n}",
        publisher="Example News",
        published="2024-03-20",
        retrieved_at=None,
    )


def claim_payload(source_entry: str, source_sha256: str, n: int = 0) -> ClaimExtracted:
    exact = f"North Korea sent about {7000 + n} containers of weapons to Russia."
    return ClaimExtracted(
        source=source_entry,
        source_sha256=source_sha256,
        statement=exact,
        selector=Selector(
            exact=exact,
            prefix="minister said that ",
            suffix=" He added",
            start=10,
            end=10 + len(exact),
        ),
        claimant=Claimant(name="Shin Won-shik", role="defense minister", affiliation="South Korea"),
        reporting="reported_speech",
        made_on="2024-03-18",
        quantities=(
            Quantity(
                value=str(7000 + n),
                unit="containers",
                approximate=True,
                text=f"about {7000 + n} containers",
            ),
        ),
        score=900,
        extractor=ExtractorInfo(name="test", version="1", rules_sha256=RULES),
    )


def add_source_with_claims(ledger: Ledger, writer: SigningKey, n: int, claims: int) -> list[str]:
    """Append one source and ``claims`` claims about it in one batch; returns the claim ids."""
    with ledger.batch() as batch:
        source = batch.add(source_payload(n), writer)
        ids = [
            batch.add(claim_payload(source.hash.hex(), f"{n:064x}", i), writer).hash.hex()
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
