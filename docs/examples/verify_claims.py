"""Verify a claims-ledger server without trusting it.

    python docs/examples/verify_claims.py http://127.0.0.1:8000 'claims-ledger/local+1a2b3c4d+AbC…' [CLAIMANT] [STATE]

Pin the log's verifier key (from `claims-ledger keys list` on a machine you trust, or a
published source), then: check the latest checkpoint's signature (and its consistency
with the state file, if one is given), verify the log (every entry the first time, then
only what is new since the state), and verify every claim whose claimant matches. Every
value printed comes from signed entries the client checked; the server's search only
says which claims to look at.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ledger.client import LedgerClient, TrustPolicy


def main(url: str, log_key: str, claimant: str = "", state: str = "") -> int:
    client = LedgerClient(
        url, policy=TrustPolicy.parse(log_key), state=Path(state) if state else None
    )
    checkpoint = client.checkpoint()
    print(f"checkpoint {checkpoint.origin} size {checkpoint.size}: signature ok")
    report = client.sync()
    scope = "every entry" if report.full else f"entries {report.start}..{report.size - 1}"
    print(f"log: {scope} verified to size {report.size}, root {report.root.hex()}")
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
            state_ = claim.state
            who = state_.claimant.name or "(unattributed)"
            rating = f", rated {state_.last_rating!r}" if state_.last_rating else ""
            print(
                f"claim {claim.claim_id[:12]}: {len(claim.links)} links verified, "
                f"{'complete' if claim.complete else 'completeness unproven'}: "
                f"{who}: {claim.statement} [{state_.status}{rating}]"
            )
        if not page["pageInfo"]["hasNextPage"]:
            return 0
        after = page["pageInfo"]["endCursor"]


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
