"""After any sequence of appends (sources, claims, revisions, reviews, retractions, key
entries, grouped into batches at random), every checkpoint's state-map root is the root a
plain reference computes from the log's entries by the words of docs/formats/state-map.md,
and ``verify`` (one process, and in chunks of two entries) agrees."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.checkpoint import Checkpoint, SignedNote, state_map_root
from ledger.entries import ClaimChanges, ClaimRetracted, ClaimReviewed, Rating, parse_entry
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.statelog import map_write, map_writes
from ledger.store import Store
from ledger.verify import verify_store
from tests.helpers import add_source, claim_payload, source_sha
from tests.property.statemap_reference import ref_hash

LOG_KEY = SigningKey.generate("log")
CLAIMS = ("claim.extracted", "claim.revised", "claim.retracted", "claim.reviewed")

Op = tuple[str, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["source", "claim", "revise", "review", "retract", "key"]),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=14,
)


def reference_root(store: Store, size: int) -> bytes:
    pairs: dict[bytes, bytes] = {}
    for stored in store.iter_entries(0, size):
        body = json.loads(parse_entry(stored.data, where="test").body_bytes)
        own = bytes.fromhex(stored.hash)
        if body["kind"] == "source.registered":
            key = hashlib.sha256(b"\x12\x02" + bytes.fromhex(body["payload"]["sha256"])).digest()
        elif body["kind"] == "claim.extracted":
            key = hashlib.sha256(b"\x12\x01" + own).digest()
        elif body["kind"] in CLAIMS:
            key = hashlib.sha256(b"\x12\x01" + bytes.fromhex(body["payload"]["claim"])).digest()
        else:
            continue
        pairs[key] = own
    return ref_hash(pairs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.lists(st.integers(1, 4), min_size=14, max_size=14))
def test_checkpoint_roots_equal_the_reference_after_random_appends(
    plan: list[Op], cuts: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'l.sqlite3'}")
        try:
            ledger = Ledger(store, "property.example/log", log_key=LOG_KEY)
            ledger.ensure_genesis(LOG_KEY)
            _run(ledger, plan, cuts)
            for stored in store.iter_checkpoints():
                body = Checkpoint.from_body(SignedNote.from_text(stored.note).text)
                assert state_map_root(body) == reference_root(store, stored.size), stored.size
            entries = [parse_entry(e.data, where="test") for e in store.iter_entries(0, None)]
            reference = [(e.seq, *w) for e in entries if (w := map_write(e)) is not None]
            assert map_writes(entries) == reference  # the append path's loop, inlined
            whole = verify_store(store, workers=0)
            assert verify_store(store, workers=0, chunk_bits=1) == whole
        finally:
            store.close()


def _run(ledger: Ledger, plan: list[Op], cuts: list[int]) -> None:
    sources: list[tuple[str, int]] = []  # (entry hash, n)
    claims: dict[str, tuple[str, bool]] = {}  # id -> (latest entry, retracted)
    step = 0
    for cut in cuts:
        part, plan = plan[:cut], plan[cut:]
        if not part:
            return
        with ledger.batch() as batch:
            for what, n in part:
                step += 1
                open_claims = [c for c, (_, gone) in claims.items() if not gone]
                if what == "source" or (what == "claim" and not sources):
                    entry = add_source(batch, LOG_KEY, 1000 + step)
                    sources.append((entry.hash.hex(), 1000 + step))
                elif what == "claim":
                    source, number = sources[n % len(sources)]
                    entry = batch.add(claim_payload(source, source_sha(number), n), LOG_KEY)
                    claims[entry.hash.hex()] = (entry.hash.hex(), False)
                elif what == "key":
                    from ledger.entries import KeyRegistered

                    key = SigningKey.generate(f"k{step}")
                    batch.add(
                        KeyRegistered(
                            key_id=key.key_id,
                            name=key.name,
                            public_key=key.public_key_b64,
                            roles=("writer",),
                        ),
                        LOG_KEY,
                    )
                elif open_claims:
                    claim = open_claims[n % len(open_claims)]
                    follows = claims[claim][0]
                    if what == "revise":
                        entry = ledger_revision(batch, claim, follows, n)
                    elif what == "review":
                        payload = ClaimReviewed(
                            claim=claim, follows=follows, rating=Rating(textual=f"r{n}")
                        )
                        entry = batch.add(payload, LOG_KEY)
                    else:
                        payload = ClaimRetracted(claim=claim, follows=follows, reason="gone")
                        entry = batch.add(payload, LOG_KEY)
                    claims[claim] = (entry.hash.hex(), what == "retract")


def ledger_revision(batch: object, claim: str, follows: str, n: int) -> object:
    from ledger.batch import Batch
    from ledger.entries import ClaimRevised, build

    assert isinstance(batch, Batch)
    payload = build(
        ClaimRevised,
        where="revision",
        claim=claim,
        follows=follows,
        changes=ClaimChanges(statement=f"Revised {n}."),
        reason="fix",
    )
    return batch.add(payload, LOG_KEY)
