"""Verify a claims-ledger server without trusting it.

    python docs/examples/verify_claims.py http://127.0.0.1:8000 'claims-ledger/local+1a2b3c4d+AbC…'

Pin the log's verifier key (from `claims-ledger keys list` on a machine you trust, or a
published source), then: check the latest checkpoint's signature, recompute the whole
log against it, and check the full provenance of every claim whose claimant matches.
"""

from __future__ import annotations

import sys

from ledger.client import LedgerClient


def main(url: str, log_key: str, claimant: str = "") -> int:
    client = LedgerClient(url, log_key=log_key)
    checkpoint = client.checkpoint()
    print(f"checkpoint {checkpoint.origin} size {checkpoint.size}: signature ok")
    report = client.verify_log()
    print(f"log: {report.entries} entries verified, root {report.root.hex()}")
    after = None
    while True:
        page = client.query(
            "query($a: String, $c: String) { claims(first: 50, after: $a, filter: {claimant: $c}) "
            "{ edges { node { claimId } } pageInfo { hasNextPage endCursor } } }",
            a=after,
            c=claimant or None,
        )["claims"]
        for edge in page["edges"]:
            claim = client.verify_claim(edge["node"]["claimId"])
            print(
                f"claim {claim.claim_id[:12]}: {len(claim.links)} links verified: {claim.statement}"
            )
        if not page["pageInfo"]["hasNextPage"]:
            return 0
        after = page["pageInfo"]["endCursor"]


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
