"""Property tests: the bucketed claim-state map agrees with the plain reference
(tests/property/statemap_reference.py) on roots and proofs, for any dense-level count;
every proof verifies, its bytes round-trip both ways, and tampered proofs are refused."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import FormatError, StateMapProofError
from ledger.statemap import (
    StateMap,
    StateProof,
    verify_absence,
    verify_membership,
    verify_proof,
)
from tests.property.statemap_reference import (
    EMPTY,
    ref_encode,
    ref_fold,
    ref_hash,
    ref_proof,
    ref_verify,
)

BASE = int.from_bytes(bytes.fromhex("5c" * 32), "big")


@st.composite
def keys(draw: st.DrawFn) -> bytes:
    """Random keys, and keys sharing a long prefix with one base key (deep paths, down to
    two keys that differ only in their last bit)."""
    noise = draw(st.integers(min_value=0, max_value=2**256 - 1))
    if draw(st.booleans()):
        return noise.to_bytes(32, "big")
    shift = draw(st.integers(min_value=0, max_value=256))
    return (BASE ^ (noise >> shift)).to_bytes(32, "big")


values = st.binary(min_size=32, max_size=32)
maps = st.dictionaries(keys(), values, max_size=24)
bits = st.one_of(st.none(), st.integers(min_value=0, max_value=6))
relaxed = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def neighbours(pairs: dict[bytes, bytes]) -> list[bytes]:
    """Absent keys next to present ones: the last bit flipped, and a middle bit."""
    out = []
    for key in list(pairs)[:6]:
        number = int.from_bytes(key, "big")
        for flip in (1, 1 << 128, 1 << 255):
            other = (number ^ flip).to_bytes(32, "big")
            if other not in pairs:
                out.append(other)
    return out


@relaxed
@given(maps, bits)
def test_root_and_proofs_match_the_reference(pairs: dict[bytes, bytes], dense: int | None) -> None:
    tree = StateMap(pairs.items(), bits=dense)
    assert tree.root == ref_hash(pairs)
    assert len(tree) == len(pairs)
    for key in [*list(pairs)[:6], *neighbours(pairs), bytes(32), b"\xff" * 32]:
        proof = tree.prove(key)
        expected = ref_proof(pairs, key)
        encoded = proof.to_bytes()
        assert encoded == ref_encode(*expected)
        assert StateProof.from_bytes(encoded) == proof
        assert verify_proof(tree.root, key, proof) == pairs.get(key)
        if key in pairs:
            verify_membership(tree.root, key, pairs[key], proof)
            with pytest.raises(StateMapProofError):
                verify_absence(tree.root, key, proof)
        else:
            verify_absence(tree.root, key, proof)
            with pytest.raises(StateMapProofError):
                verify_membership(tree.root, key, bytes(32), proof)


@relaxed
@given(st.lists(st.tuples(keys(), values), max_size=30), bits)
def test_incremental_updates_give_the_root_of_a_fresh_build(
    writes: list[tuple[bytes, bytes]], dense: int | None
) -> None:
    tree = StateMap(bits=dense)
    current: dict[bytes, bytes] = {}
    for key, value in writes:
        tree.set(key, value)
        current[key] = value
        assert tree.root == ref_hash(current)
        assert tree.get(key) == value
    assert tree.items() == sorted(current.items())
    assert tree.root == StateMap(writes).root


@relaxed
@given(maps, st.lists(st.lists(st.tuples(keys(), values), max_size=12), max_size=4), bits)
def test_batches_of_updates_give_the_root_of_a_fresh_build(
    start: dict[bytes, bytes], batches: list[list[tuple[bytes, bytes]]], dense: int | None
) -> None:
    tree = StateMap(start.items(), bits=dense)
    current = dict(start)
    for batch in batches:
        tree.update(batch)
        current.update(batch)
        assert tree.root == ref_hash(current)
        assert len(tree) == len(current)


@relaxed
@given(maps, keys(), st.data())
def test_any_single_bit_flip_in_a_proof_is_refused(
    pairs: dict[bytes, bytes], probe: bytes, data: st.DataObject
) -> None:
    tree = StateMap(pairs.items())
    key = data.draw(st.sampled_from([*pairs, probe]))
    encoded = tree.prove(key).to_bytes()
    position = data.draw(st.integers(min_value=0, max_value=len(encoded) * 8 - 1))
    tampered = bytearray(encoded)
    tampered[position // 8] ^= 1 << (position % 8)
    with pytest.raises((FormatError, StateMapProofError)):
        verify_proof(tree.root, key, StateProof.from_bytes(bytes(tampered)))


@relaxed
@given(maps, keys(), keys())
def test_a_proof_does_not_verify_for_another_key_or_root(
    pairs: dict[bytes, bytes], asked: bytes, other: bytes
) -> None:
    tree = StateMap(pairs.items())
    proof = tree.prove(asked)
    if other != asked:
        # Another key may share the proof only where both are absent behind the same
        # terminal (an empty subtree, or the same other leaf): then it is a true absence.
        try:
            found = verify_proof(tree.root, other, proof)
        except StateMapProofError:
            pass
        else:
            assert found is None and other not in pairs
    changed = StateMap([*pairs.items(), (os.urandom(32), os.urandom(32))]).root
    with pytest.raises(StateMapProofError):
        verify_proof(changed, asked, proof)


@relaxed
@given(maps, keys(), st.binary(max_size=8), st.integers(min_value=0, max_value=200), st.data())
def test_decoding_accepts_only_canonical_bytes(
    pairs: dict[bytes, bytes], key: bytes, junk: bytes, cut: int, data: st.DataObject
) -> None:
    """Bytes that decode are the canonical encoding of what they decode to."""
    encoded = StateMap(pairs.items()).prove(key).to_bytes()
    candidates = [encoded + junk, encoded[:cut], junk + encoded, junk]
    index = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    candidates.append(encoded[:index] + junk + encoded[index:])
    for candidate in candidates:
        try:
            decoded = StateProof.from_bytes(candidate)
        except FormatError:
            continue
        assert decoded.to_bytes() == candidate


def code_verify(root: bytes, key: bytes, data: bytes) -> tuple[bool, bytes | None]:
    try:
        return True, verify_proof(root, key, StateProof.from_bytes(data))
    except (FormatError, StateMapProofError):
        return False, None


@relaxed
@given(maps, keys(), st.data())
def test_the_documented_verifier_and_the_code_agree_on_any_bytes(
    pairs: dict[bytes, bytes], probe: bytes, data: st.DataObject
) -> None:
    """Valid proofs, and variants a forger might try: another kind byte, a deeper or
    shallower path, an EMPTY sibling listed or dropped, a flipped bit, a swapped leaf."""
    tree = StateMap(pairs.items())
    key = data.draw(st.sampled_from([*pairs, probe]))
    proof = tree.prove(key)
    encoded = proof.to_bytes()
    variants = [encoded, bytes([data.draw(st.integers(0, 3))]) + encoded[1:]]
    deeper = (*proof.siblings, EMPTY)
    variants.append(ref_encode(int(proof.kind), list(deeper), *_tail(proof)))
    if proof.depth:
        variants.append(ref_encode(int(proof.kind), list(proof.siblings[:-1]), *_tail(proof)))
        listed = bytearray(encoded)
        listed[3] |= 0x80  # claim the depth-1 sibling is listed
        variants.append(bytes(listed))
    position = data.draw(st.integers(min_value=0, max_value=len(encoded) * 8 - 1))
    flipped = bytearray(encoded)
    flipped[position // 8] ^= 1 << (position % 8)
    variants.append(bytes(flipped))
    if pairs:
        other_key, other_value = data.draw(st.sampled_from(sorted(pairs.items())))
        variants.append(ref_encode(2, list(proof.siblings), other_key, other_value))
        variants.append(ref_encode(1, list(proof.siblings), other_value, b""))
    for variant in variants:
        assert code_verify(tree.root, key, variant) == ref_verify(tree.root, key, variant)
        # Against the root the variant itself implies (a forger's non-canonical tree),
        # only the canonical-shape checks can refuse it: both must refuse alike.
        forged = ref_fold(key, variant, checks=False)
        if forged is not None:
            assert code_verify(forged[0], key, variant) == ref_verify(forged[0], key, variant)
    assert ref_verify(tree.root, key, encoded) == (True, pairs.get(key))


def _tail(proof: StateProof) -> tuple[bytes, bytes]:
    if proof.value is not None:
        return proof.value, b""
    if proof.other_key is not None and proof.other_value is not None:
        return proof.other_key, proof.other_value
    return b"", b""


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.tuples(keys(), values), min_size=1, max_size=150), max_size=5),
    st.data(),
)
def test_a_map_growing_through_rebuilds_keeps_the_reference_root_and_proofs(
    batches: list[list[tuple[bytes, bytes]]], data: st.DataObject
) -> None:
    """Up to 750 keys in batches, so the dense levels are rebuilt several times (the
    rebuild's combine loop, inlined, against the reference's recursion)."""
    tree = StateMap()
    current: dict[bytes, bytes] = {}
    for batch in batches:
        tree.update(batch)
        current.update(batch)
        assert tree.root == ref_hash(current)
        assert tree.items() == sorted(current.items())
    probes = data.draw(st.lists(st.sampled_from([*current, bytes(32)]), max_size=8))
    for key in probes:
        assert tree.prove(key).to_bytes() == ref_encode(*ref_proof(current, key))


@relaxed
@given(
    maps,
    st.lists(
        st.lists(st.tuples(keys(), st.one_of(st.none(), values)), max_size=10),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=0, max_value=4),
    st.data(),
)
def test_buckets_of_one_record_reuse_its_leaf_only_while_it_stays(
    start: dict[bytes, bytes],
    batches: list[list[tuple[bytes, bytes | None]]],
    dense: int,
    data: st.DataObject,
) -> None:
    """Few dense levels, so batches land beside one-record buckets (whose hash ``update``
    reuses as that record's leaf hash): a new key beside it, its own value replaced, it
    deleted, or written twice in one batch; roots and proofs stay the reference's."""
    tree = StateMap(start.items(), bits=dense)
    current = dict(start)
    for batch in batches:
        # Also rewrite keys already present (the record a bucket held) and delete some.
        present = sorted(current)
        if present:
            extra = data.draw(st.lists(st.sampled_from(present), max_size=3))
            batch = [*batch, *((key, data.draw(st.one_of(st.none(), values))) for key in extra)]
        previous = []
        for key, value in batch:
            previous.append(current.get(key))
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        assert tree.update(batch) == previous
        assert tree.root == ref_hash(current)
        assert len(tree) == len(current)
    for key in [*list(current)[:5], *neighbours(current)]:
        assert tree.prove(key).to_bytes() == ref_encode(*ref_proof(current, key))
