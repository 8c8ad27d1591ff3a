"""Known answers and edge cases of the claim-state map (ledger/statemap.py), and the worked
example of docs/formats/state-map.md checked against the code."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import ledger.statemap as statemap
from ledger.errors import FormatError, InvalidInput, LedgerError, ProofError, StateMapProofError
from ledger.statemap import (
    EMPTY,
    ProofKind,
    StateMap,
    StateProof,
    claim_key,
    leaf_hash,
    node_hash,
    source_key,
    verify_absence,
    verify_membership,
    verify_proof,
)

DOC = Path(__file__).resolve().parents[2] / "docs/formats/state-map.md"


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def key_with_bits(prefix: str, fill: int = 0) -> bytes:
    """A 32-byte key whose first bits are `prefix`, the rest `fill`."""
    bits = prefix + str(fill) * (256 - len(prefix))
    return int(bits, 2).to_bytes(32, "big")


# --- The worked example -------------------------------------------------------------------

CLAIMS = [claim_key(sha(f"example claim {i}")) for i in range(5)]
SOURCE = source_key(sha("example source 0"))
VALUES = [sha(f"example entry {i}") for i in range(6)]
EXAMPLE = StateMap([*zip(CLAIMS, VALUES, strict=False), (SOURCE, VALUES[5])])


def doc_blocks() -> list[bytes]:
    """Every fenced block of the page made only of hex lines, as bytes."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```\n((?:[0-9a-f]+\n)+)```", text)
    return [bytes.fromhex("".join(block.split())) for block in blocks]


def test_worked_example_matches_the_docs() -> None:
    doc = DOC.read_text(encoding="utf-8")
    leaf = {i: leaf_hash(CLAIMS[i], VALUES[i]) for i in range(5)}
    n00111 = node_hash(leaf[4], leaf[1])
    n0011 = node_hash(EMPTY, n00111)
    n001 = node_hash(EMPTY, n0011)
    n00 = node_hash(leaf[3], n001)
    n01 = node_hash(leaf[0], leaf_hash(SOURCE, VALUES[5]))
    n0 = node_hash(n00, n01)
    assert EXAMPLE.root == node_hash(n0, leaf[2])
    shown = [*CLAIMS, SOURCE, *leaf.values(), leaf_hash(SOURCE, VALUES[5])]
    shown += [n00111, n0011, n001, n00, n01, n0, EXAMPLE.root, sha("example claim 1"), VALUES[1]]
    shown += [claim_key(sha("example claim 28")), claim_key(sha("example claim 6"))]
    for value in shown:
        assert value.hex() in doc
    proofs = [
        EXAMPLE.prove(CLAIMS[1]).to_bytes(),
        EXAMPLE.prove(claim_key(sha("example claim 28"))).to_bytes(),
        EXAMPLE.prove(claim_key(sha("example claim 6"))).to_bytes(),
    ]
    assert [len(p) for p in proofs] == [164, 132, 164]
    assert doc_blocks() == proofs
    assert StateMap().prove(CLAIMS[0]).to_bytes().hex() == "000000"


def test_worked_example_proofs_verify_as_the_docs_say() -> None:
    member, empty, other = doc_blocks()
    root = EXAMPLE.root
    verify_membership(root, CLAIMS[1], VALUES[1], StateProof.from_bytes(member))
    verify_absence(root, claim_key(sha("example claim 28")), StateProof.from_bytes(empty))
    proof = StateProof.from_bytes(other)
    assert proof.kind is ProofKind.OTHER_LEAF and proof.other_key == CLAIMS[0]
    verify_absence(root, claim_key(sha("example claim 6")), proof)


# --- Keys and hashing ---------------------------------------------------------------------


def test_a_source_hash_equal_to_a_claim_id_gets_another_map_key() -> None:
    """A source whose bytes are 0x00 ‖ entry has that entry's hash (a claim id) as its
    SHA-256; the namespaces keep the two apart."""
    entry = b'{"kind":"claim.extracted","made-up":"for this test"}'
    claim_id = hashlib.sha256(b"\x00" + entry).digest()
    source_sha = hashlib.sha256(b"\x00" + entry).digest()
    assert claim_id == source_sha
    assert claim_key(claim_id) != source_key(source_sha)
    both = StateMap([(claim_key(claim_id), sha("a")), (source_key(source_sha), sha("b"))])
    assert len(both) == 2


def test_state_map_hashes_are_not_log_hashes() -> None:
    from ledger import merkle

    key, value = sha("k"), sha("v")
    assert leaf_hash(key, value) != merkle.leaf_hash(key + value)
    assert node_hash(key, value) != merkle.node_hash(merkle.Hash(key), merkle.Hash(value))


@pytest.mark.parametrize("bad", [b"", b"\x01" * 31, b"\x01" * 33])
def test_keys_and_values_must_be_32_bytes(bad: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"is .* bytes, expected 32"):
        StateMap([(bad, sha("v"))])
    with pytest.raises(InvalidInput):
        StateMap().set(sha("k"), bad)
    with pytest.raises(InvalidInput):
        claim_key(bad)


# --- Small maps ---------------------------------------------------------------------------


def test_empty_map() -> None:
    tree = StateMap()
    assert tree.root == EMPTY and len(tree) == 0 and tree.get(sha("k")) is None
    proof = tree.prove(sha("k"))
    assert proof == StateProof(ProofKind.EMPTY, ())
    verify_absence(EMPTY, sha("k"), proof)


def test_one_key_is_its_own_leaf_at_the_root() -> None:
    key, value = sha("only key"), sha("only value")
    tree = StateMap([(key, value)])
    assert tree.root == leaf_hash(key, value)
    assert tree.prove(key) == StateProof(ProofKind.PRESENT, (), value=value)
    absent = tree.prove(sha("another key"))
    assert absent.kind is ProofKind.OTHER_LEAF and absent.depth == 0
    verify_absence(tree.root, sha("another key"), absent)


def test_two_keys_that_differ_only_in_the_last_bit_sit_at_depth_256() -> None:
    low, high = key_with_bits("1" * 255 + "0"), key_with_bits("1" * 255 + "1")
    tree = StateMap([(low, sha("low")), (high, sha("high"))])
    proof = tree.prove(high)
    assert proof.depth == 256 and proof.siblings[:255] == (EMPTY,) * 255
    assert proof.siblings[255] == leaf_hash(low, sha("low"))
    encoded = proof.to_bytes()
    assert len(encoded) == 3 + 32 + 32 + 32 and encoded[:3] == b"\x01\x01\x00"
    assert StateProof.from_bytes(encoded) == proof
    verify_membership(tree.root, high, sha("high"), proof)
    # A key parting from both at bit 100 ends on the empty side of the chain.
    beside = key_with_bits("1" * 100 + "0", fill=1)
    verify_absence(tree.root, beside, tree.prove(beside))
    assert tree.prove(beside).depth == 101


def test_replacing_a_value_changes_the_root_and_the_proof() -> None:
    keys = [sha(f"k{i}") for i in range(50)]
    tree = StateMap((k, sha("old")) for k in keys)
    before = tree.root
    tree.set(keys[7], sha("new"))
    assert tree.root != before and len(tree) == 50
    assert tree.root == StateMap([*((k, sha("old")) for k in keys), (keys[7], sha("new"))]).root
    verify_membership(tree.root, keys[7], sha("new"), tree.prove(keys[7]))
    with pytest.raises(StateMapProofError):
        verify_membership(before, keys[7], sha("new"), tree.prove(keys[7]))
    tree.set(keys[7], sha("new"))  # the same value again: nothing changes
    assert len(tree) == 50


def test_growing_past_a_power_of_two_adds_dense_levels() -> None:
    tree = StateMap()
    keys = [sha(f"grow {i}") for i in range(70)]
    seen = set()
    for key in keys:
        tree.set(key, sha("v"))
        seen.add(tree.bits)
    # Rebuilt with one level of headroom each time the key count outgrows the levels
    # (at 2, 8 and 32 keys): every fourfold growth, not every doubling.
    assert seen == {0, 2, 4, 6} and tree.bits == 6
    assert tree.root == StateMap((k, sha("v")) for k in keys).root


def test_a_batch_with_a_malformed_pair_changes_nothing() -> None:
    tree = StateMap((sha(f"k{i}"), sha("v")) for i in range(20))
    root = tree.root
    with pytest.raises(InvalidInput):
        tree.update([(sha("new key"), sha("v")), (sha("k3"), b"short")])
    assert tree.root == root and len(tree) == 20 and tree.get(sha("new key")) is None


def test_memory_is_counted_from_the_maps_own_objects() -> None:
    small = StateMap((sha(f"k{i}"), sha("v")) for i in range(100)).memory_bytes()
    large = StateMap((sha(f"k{i}"), sha("v")) for i in range(1000)).memory_bytes()
    assert 64 * 100 < small < 400 * 100 and 64 * 1000 < large < 400 * 1000


def test_an_update_rehashes_one_path_not_the_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """O(log n): replacing one value in a map of 4,096 keys takes a few dozen hashes."""
    tree = StateMap((sha(f"key {i}"), sha("v")) for i in range(4096))
    calls = 0
    real = hashlib.sha256

    def counting(data: bytes = b"") -> hashlib._Hash:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(statemap, "_sha256", counting)
    tree.set(sha("key 123"), sha("w"))
    assert tree.bits == 12 and calls <= tree.bits + 40
    # A batch shares the nodes near the root: 64 keys cost fewer hashes than 64 updates.
    batch = [(sha(f"key {i}"), sha("x")) for i in range(64)]
    twin = StateMap(tree.items())
    calls = 0
    tree.update(batch)
    in_batch, calls = calls, 0
    for key, value in batch:
        twin.set(key, value)
    assert twin.root == tree.root and in_batch < 0.8 * calls
    calls = 0
    tree.prove(sha("key 456"))
    assert calls <= 40


# --- Refusals -----------------------------------------------------------------------------


def test_refusals_name_the_key_the_depth_and_what_failed() -> None:
    root = EXAMPLE.root
    proof = EXAMPLE.prove(CLAIMS[1])
    with pytest.raises(StateMapProofError, match=r"computes root [0-9a-f]{64}, expected") as caught:
        verify_proof(root, CLAIMS[0], proof)
    assert caught.value.key == CLAIMS[0] and caught.value.depth == 6
    assert isinstance(caught.value, ProofError) and isinstance(caught.value, LedgerError)
    with pytest.raises(StateMapProofError, match=r"expected value .* maps to"):
        verify_membership(root, CLAIMS[1], VALUES[0], proof)
    with pytest.raises(StateMapProofError, match="expected absence"):
        verify_absence(root, CLAIMS[1], proof)
    # A leaf of another key that is not on the path.
    off_path = StateProof(ProofKind.OTHER_LEAF, proof.siblings[:3], other_key=CLAIMS[2],
                          other_value=VALUES[2])  # fmt: skip
    with pytest.raises(StateMapProofError, match="differs in the first 3 bits"):
        verify_proof(root, CLAIMS[1], off_path)
    same_key = StateProof(ProofKind.OTHER_LEAF, (), other_key=CLAIMS[1], other_value=VALUES[1])
    with pytest.raises(StateMapProofError, match="the key itself"):
        verify_proof(root, CLAIMS[1], same_key)
    # Stopping beside an empty subtree: the path would have ended higher.
    short = StateProof(ProofKind.EMPTY, proof.siblings[:5])
    with pytest.raises(StateMapProofError, match="sibling at depth 5 is empty"):
        verify_proof(root, CLAIMS[1], short)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter than the 3-byte header"),
        (b"\x03\x00\x00", "proof kind 3"),
        (b"\x00\x01\x01" + b"\x00" * 33, "depth 257 is over 256"),
        (b"\x00\x00\x08", "ends inside the bitmap"),
        (b"\x00\x00\x03\x01", "unused bits are not zero"),
        (b"\x00\x00\x00\x00", "4 bytes, expected 3"),
        (b"\x01\x00\x00", "3 bytes, expected 35"),
        (b"\x00\x00\x01\x80" + EMPTY, "sibling at depth 1 is listed but empty"),
    ],
)
def test_malformed_proof_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        StateProof.from_bytes(data)


def test_proof_objects_check_their_fields() -> None:
    with pytest.raises(InvalidInput, match="value set wrongly"):
        StateProof(ProofKind.EMPTY, (), value=sha("v"))
    with pytest.raises(InvalidInput, match="other leaf set wrongly"):
        StateProof(ProofKind.OTHER_LEAF, (), other_key=sha("k"))
    with pytest.raises(InvalidInput, match="257 siblings"):
        StateProof(ProofKind.EMPTY, (sha("s"),) * 257)


def test_a_lean_map_has_the_same_roots_and_proofs_in_less_memory() -> None:
    """Bucket size is internal: the lean map (verification's) agrees key for key."""
    pairs = [(sha(f"lean {i}"), sha(f"v {i}")) for i in range(3000)]
    lean, fast = StateMap(lean=True), StateMap()
    for start in range(0, len(pairs), 250):
        lean.update(pairs[start : start + 250])
        fast.update(pairs[start : start + 250])
        assert lean.root == fast.root
    assert lean.bits < fast.bits and lean.memory_bytes() < fast.memory_bytes()
    for key in (pairs[7][0], sha("absent")):
        assert lean.prove(key) == fast.prove(key)
    assert StateMap(pairs, lean=True).root == fast.root
