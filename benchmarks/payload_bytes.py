"""The canonical bytes of entry bodies with and without the serializer's omitted-field
check (``__omit_when_none__``, decision 0030): a claim extraction and a review, each
serialized by ``ledger.canonical._model_fields`` and by the plain ``__dict__`` default it
replaced, interleaved in one process, CPU time, medians.

    PYTHONPATH=. python benchmarks/payload_bytes.py [--rounds 21] [--n 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import orjson

from ledger import canonical
from ledger.entries import Body, ClaimReviewed, Payload, Rating, entry_hash
from ledger.signing import SigningKey
from tests.helpers import claim_payload, source_payload


def plain_default(value: Any) -> Any:
    """The serializer's default before decision 0030: a model's ``__dict__`` as it is."""
    if getattr(value, "__pydantic_fields__", None) is None:
        raise TypeError(f"{type(value).__name__} is not a JSON value")
    return value.__dict__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    key = SigningKey.generate("bench")
    source = source_payload(0)
    cases: list[tuple[str, str, Payload]] = [
        ("claim.extracted", "claim.extracted", claim_payload("a" * 64, source.sha256)),
        (
            "claim.reviewed",
            "claim.reviewed",
            ClaimReviewed(claim="a" * 64, follows="b" * 64, rating=Rating(textual="False")),
        ),
    ]
    print("| body | before, µs | after, µs | ratio |\n| --- | ---: | ---: | ---: |")
    for name, kind, payload in cases:
        body = Body(
            log="bench",
            seq=5,
            prev=entry_hash(b"p"),
            ts="2025-01-02T03:04:05.000006Z",
            kind=kind,  # type: ignore[arg-type]
            signer=key.key_id,
            payload=payload,
        )
        value = {**body.to_json_head(), "payload": body.payload}
        assert orjson.dumps(value, default=canonical._model_fields, option=canonical._OPTIONS) == (
            body.to_bytes()
        )
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label, default in (("before", plain_default), ("after", canonical._model_fields)):
                start = time.process_time()
                for _ in range(args.n):
                    orjson.dumps(value, default=default, option=canonical._OPTIONS)
                times[label].append((time.process_time() - start) / args.n * 1e6)
        before, after = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"| {name} | {before:.2f} | {after:.2f} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
