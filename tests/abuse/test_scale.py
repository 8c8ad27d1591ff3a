"""Costs that grow with the ledger, not with the request (the 1,000,000-entry run in
docs/abuse-runs.md), asserted on what is read rather than on time, over a small ledger.

The claim-state map: a worker built it from every row of ``state_map_leaves`` at the
first request that needed it (a state proof, a claim's provenance, its HTML page). At a
million keys that request took 17 s, and the build kept /healthz waiting 3.9 s. The app
now builds it before it answers anything, and no request builds it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import app_from_env
from api.server_settings import ServerSettings
from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.queries import ClaimFilter
from ledger.statelog import StateMapCache
from ledger.store.sql import Txn
from tests.conftest import SEED


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The tree sizes at which any map cache of this process is built from all its rows."""
    seen: list[int] = []
    load = StateMapCache._load

    def counted(cache: StateMapCache, txn: object, size: int) -> object:
        seen.append(size)
        return load(cache, txn, size)  # type: ignore[arg-type]

    monkeypatch.setattr(StateMapCache, "_load", counted)
    yield seen


def test_no_request_builds_the_state_map(tmp_path: Path, db_url: str, loads: list[int]) -> None:
    settings = Settings(home=tmp_path / "home", database_url=db_url, passphrase=b"pw")
    instance = open_instance(settings)
    ingest_paths(instance.ledger, instance.writer_key(), [SEED], extractor=DeterministicExtractor())
    claim = instance.ledger.find_claims(ClaimFilter(), limit=1)[0].claim_id
    size = instance.ledger.head().size
    instance.close()
    loads.clear()

    app = app_from_env(settings=settings, server=ServerSettings())
    assert loads == [size], "the app did not build the map before its first request"

    proof = "query($c: String!) { stateProof(claimId: $c) { present } }"
    links = "query($c: ID!) { claim(id: $c) { provenance { stateProof { present } } } }"
    with TestClient(app, base_url="http://ledger.test") as client:
        answer = client.post("/graphql", json={"query": proof, "variables": {"c": claim}})
        assert answer.json() == {"data": {"stateProof": {"present": True}}}
        page = client.get(f"/claims/{claim}", headers={"accept": "text/html"})
        assert page.status_code == 200
        answer = client.post("/graphql", json={"query": links, "variables": {"c": claim}})
        assert answer.json()["data"]["claim"]["provenance"]["stateProof"] == {"present": True}
    assert loads == [size], "a request built the map from every row again"


def test_no_request_reads_every_claimant_name(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claimant filter's names (decision 0046): read by the app before it answers,
    never again by a request (one index seek a name: 0.3–0.6 s at 51,137 names)."""
    settings = Settings(home=tmp_path / "home", database_url=db_url, passphrase=b"pw")
    instance = open_instance(settings)
    ingest_paths(instance.ledger, instance.writer_key(), [SEED], extractor=DeterministicExtractor())
    name = next(c.name for c, _ in instance.ledger.claimants() if c.name)
    instance.close()
    reads: list[int] = []
    every = Txn._claimant_names

    def counted(txn: Txn) -> list[str]:
        names = every(txn)
        reads.append(len(names))
        return names

    monkeypatch.setattr(Txn, "_claimant_names", counted)
    app = app_from_env(settings=settings, server=ServerSettings())
    assert len(reads) == 1 and reads[0] > 0, "the app did not read the names before serving"
    query = (
        "query($s: String) { claims(filter: {claimant: $s}, first: 5) { edges { node { id } } } }"
    )
    with TestClient(app, base_url="http://ledger.test") as client:
        for _ in range(2):
            answer = client.post("/graphql", json={"query": query, "variables": {"s": name[1:]}})
            assert answer.json()["data"]["claims"]["edges"], answer.json()
    assert len(reads) == 1, "a request read every claimant name again"
