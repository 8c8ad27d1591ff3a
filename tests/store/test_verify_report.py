"""What a verification report counts (the CLI prints it after `claims-ledger verify`)."""

from __future__ import annotations

from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import verify_store
from tests.helpers import add_source_with_claims


def test_a_new_key_is_one_more_entry_and_one_more_projection_row(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=2)
    before = verify_store(ledger.store)
    ledger.register_key(log_key, SigningKey.generate("extra"), ["writer"])
    after = verify_store(ledger.store)
    assert after.entries == before.entries + 1
    assert after.kinds["key.registered"] == before.kinds["key.registered"] + 1
    assert after.projection_rows == before.projection_rows + 1  # its keys row, nothing else
