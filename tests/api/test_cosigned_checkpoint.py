"""The API serves witness cosignatures: GraphQL's checkpoint has ``note`` (the log's
signature alone) and ``cosignedNote`` (the cosignature lines after it), and /checkpoint
serves the cosigned note, in-process over a SQLite ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.app import create_app
from api.context import Context
from api.schema import build_schema
from ledger.checkpoint import SignedNote
from ledger.config import Settings
from ledger.cosignature import Cosigner
from ledger.instance import Instance, open_instance
from ledger.store import StoredCosignature

QUERY = "query($s: Int) { checkpoint(size: $s) { size note cosignedNote } }"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    opened = open_instance(
        Settings(home=tmp_path / "h", database_url=f"sqlite:///{tmp_path}/l.db", passphrase=b"pw")
    )
    yield opened
    opened.close()


def _checkpoint(instance: Instance, size: int | None = None) -> dict[str, object]:
    result = asyncio.run(
        build_schema().execute(
            QUERY, variable_values={"s": size}, context_value=Context(ledger=instance.ledger)
        )
    )
    assert result.errors is None and result.data is not None
    return result.data["checkpoint"]  # type: ignore[no-any-return]


def test_checkpoint_serves_the_cosignatures_after_the_log_signature(instance: Instance) -> None:
    ledger = instance.ledger
    stored = ledger.checkpoint()
    bare = _checkpoint(instance)
    assert bare["note"] == bare["cosignedNote"] == stored.note
    witness = Cosigner("w.example/one", Ed25519PrivateKey.generate())
    line = witness.cosign(SignedNote.from_text(stored.note).text).to_line()
    ledger.store.add_cosignature(
        StoredCosignature(stored.size, witness.name, witness.key.key_id.hex(), line, 1, "t")
    )
    cosigned = _checkpoint(instance, stored.size)
    assert cosigned["note"] == stored.note
    assert cosigned["cosignedNote"] == stored.note + line

    async def served() -> str:
        transport = httpx.ASGITransport(app=create_app(ledger))
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger.test") as http:
            return (await http.get("/checkpoint")).text

    assert asyncio.run(served()) == stored.note + line
