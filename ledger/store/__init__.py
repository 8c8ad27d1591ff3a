"""Storage: the only package that knows SQL."""

from ledger.store.sql import Head, Store, StoredEntry, Txn

__all__ = ["Head", "Store", "StoredEntry", "Txn"]
