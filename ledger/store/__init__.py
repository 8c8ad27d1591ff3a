"""Storage: the only package that knows SQL."""

from ledger.store.sql import (
    ChangesWanted,
    Head,
    Store,
    StoredCheckpoint,
    StoredCosignature,
    StoredEntry,
    Txn,
)

__all__ = [
    "ChangesWanted",
    "Head",
    "Store",
    "StoredCheckpoint",
    "StoredCosignature",
    "StoredEntry",
    "Txn",
]
