"""What ``identity.cluster`` costs when a few claimants make every claim (a ministry, a
spokesman quoted in every article): each claim joins one of two large identities.

    PYTHONPATH=. .venv/bin/python benchmarks/identity_cluster.py --claims 5000 20000 100000

Times by this process's CPU time (a shared host); run it with ``PYTHONPATH`` at another
checkout for a before figure.
"""

from __future__ import annotations

import argparse
import time

from ledger.identity import Attribution, cluster


def attributions(claims: int) -> list[Attribution]:
    """Claims alternating between a person and an organisation, nine to a source."""
    return [
        Attribution(
            ref=f"r{i:07d}",
            source=f"s{i // 9}",
            name="Ama Kobe" if i % 2 else "the Health Ministry",
            role="spokesman",
            affiliation="Chile",
            made_on="2020-01-01",
        )
        for i in range(claims)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[5_000, 20_000, 100_000])
    args = parser.parse_args()
    for claims in args.claims:
        found = attributions(claims)
        start = time.process_time()
        identities = cluster(found)
        spent = time.process_time() - start
        print(f"{claims:>9,} claims  {spent:7.2f} s CPU  {len(identities.by_id)} identities")


if __name__ == "__main__":
    main()
