"""claims-ledger: a provenance-verified claims ledger."""
