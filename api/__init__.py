"""GraphQL API over the ledger core."""
