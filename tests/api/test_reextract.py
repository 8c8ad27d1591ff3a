"""``reextractSource`` through the schema with a real Context (writer token, the server's
extractor): the same core function as ``claims-ledger reextract``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from api.context import Context
from api.ids import global_id
from api.schema import build_schema
from ledger.config import Settings
from ledger.deadline import Deadline
from ledger.extract.deterministic import DeterministicExtractor
from ledger.extract.model import Extractor
from ledger.ingest import ingest_paths
from ledger.instance import Instance, open_instance
from ledger.tokens import authenticate, create_token
from ledger.verify import verify_store
from tests.conftest import SEED
from tests.helpers import seed_claims

SCHEMA = build_schema()
REEXTRACT = """mutation($s: ID!, $r: String) { reextractSource(source: $s, retractOld: $r) {
  __typename ... on SourceReextracted { extractor claims retracted source { sha256 } }
  ... on DuplicateError { message } ... on NotFoundError { message }
  ... on InvalidInputError { message } } }"""


class NextRules(DeterministicExtractor):
    """The rule extractor, released as a new version (same rules: the same claims)."""

    version = "1.1.0-test"


@pytest.fixture
def instance(tmp_path: Path) -> Any:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )
    inst = open_instance(settings)
    ingest_paths(inst.ledger, inst.writer_key(), [SEED], extractor=DeterministicExtractor())
    yield inst
    inst.close()


def _execute(instance: Instance, extractor: Extractor, token: str, **variables: Any) -> Any:
    ledger = instance.ledger
    context = Context(
        ledger=ledger,
        keyring=instance.keyring,
        extractor=extractor,
        token=authenticate(ledger.store, token),
        deadline=Deadline(60),
    )
    return asyncio.run(SCHEMA.execute(REEXTRACT, variable_values=variables, context_value=context))


def _run(instance: Instance, extractor: Extractor, token: str, **variables: Any) -> dict[str, Any]:
    result = _execute(instance, extractor, token, **variables)
    assert not result.errors, result.errors
    assert result.data is not None
    return result.data["reextractSource"]  # type: ignore[no-any-return]


def test_reextract_source_over_graphql(instance: Instance) -> None:
    ledger = instance.ledger
    token = create_token(ledger.store, "writer", instance.writer_key())
    [source] = ledger.sources()
    old = ledger.source_claims(source.sha256)
    n = len(old)
    assert n == len(seed_claims())
    size = ledger.head().size

    same = _run(instance, DeterministicExtractor(), token, s=source.sha256)
    assert same["__typename"] == "DuplicateError" and f"already has {n} claims" in same["message"]
    assert ledger.head().size == size

    done = _run(instance, NextRules(), token, s=global_id("Source", source.sha256), r="rules 1.1")
    assert done == {
        "__typename": "SourceReextracted",
        "extractor": f"claims-ledger/rules 1.1.0-test (rules {NextRules().rules_sha256[:12]})",
        "claims": n,
        "retracted": n,
        "source": {"sha256": source.sha256},
    }
    claims = ledger.source_claims(source.sha256)
    assert [c.status for c in claims] == ["retracted"] * n + ["active"] * n
    assert [c.statement for c in claims[n:]] == [c.statement for c in old]
    assert {c.extractor_version for c in claims[n:]} == {"1.1.0-test"}
    # One append: the retractions and the new claims share their timestamp and checkpoint.
    assert len({c.updated_at for c in claims}) == 1
    assert ledger.checkpoint().size == ledger.head().size == size + 2 * n

    again = _run(instance, NextRules(), token, s=source.sha256)
    assert again["__typename"] == "DuplicateError"
    missing = _run(instance, NextRules(), token, s="0" * 64)
    assert missing["__typename"] == "NotFoundError"
    wrong = _run(instance, NextRules(), token, s=global_id("Claim", claims[0].claim_id))
    assert wrong["__typename"] == "InvalidInputError"
    verify_store(ledger.store, workers=0)


def test_stored_bytes_that_no_longer_match_are_refused(instance: Instance) -> None:
    """Re-extraction reads the source from the stored blobs and rechecks them."""
    ledger = instance.ledger
    token = create_token(ledger.store, "writer", instance.writer_key())
    [source] = ledger.sources()
    with ledger.store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS source_blobs_no_update")
        conn.exec_driver_sql("UPDATE source_blobs SET data = X'00'")
    size = ledger.head().size
    result = _execute(instance, NextRules(), token, s=source.sha256)
    [error] = result.errors
    assert "the stored bytes of source" in error.message and "size is" in error.message
    assert error.extensions == {"code": "VERIFICATION_FAILED"}
    assert ledger.head().size == size
