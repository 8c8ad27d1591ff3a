"""Storage: the only package that knows SQL."""

from ledger.store.sql import Head, Store, StoredCheckpoint, StoredCosignature, StoredEntry, Txn

__all__ = ["Head", "Store", "StoredCheckpoint", "StoredCosignature", "StoredEntry", "Txn"]
