"""Timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature) and the k-of-n check."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, SignedNote, Verifier, sign_checkpoint
from ledger.cosignature import (
    Cosigner,
    CosignerKey,
    WitnessPolicy,
    cosigned_message,
    verify_cosignatures,
)
from ledger.errors import FormatError, QuorumNotMet, SignatureError, VerificationError

ORIGIN = "ledger.example/tiles"
NOW = 1_760_000_000


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG_KEY = _key(1)
LOG = Verifier.from_public_key(ORIGIN, LOG_KEY.public_key())
WITNESSES = [Cosigner(f"witness.example/w{n}", _key(10 + n)) for n in range(3)]
POLICY = WitnessPolicy(tuple(w.key for w in WITNESSES), quorum=2)


def _checkpoint(size: int = 5, fill: int = 7) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.Hash(bytes([fill]) * 32))


def _with_lines(note: str, *lines: str) -> str:
    return note + "".join(lines)


# --- The format, checked byte by byte against the spec's text -----------------------------


def test_cosignature_vector_follows_the_spec() -> None:
    """Key ID, vkey, signed message and signature line built by hand from
    c2sp.org/tlog-cosignature and c2sp.org/signed-note, then compared."""
    private = _key(42)
    public = private.public_key().public_bytes_raw()
    name = "witness.example/vector"
    body = "ledger.example/tiles\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    timestamp = 1679315147
    key = Cosigner(name, private).key

    # key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte public key)[:4]
    expected_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert key.key_id == expected_id
    # vkey = <name>+<hex key ID>+base64(0x04 || public key)
    encoded = base64.b64encode(bytes([0x04]) + public).decode()
    assert key.vkey() == f"{name}+{expected_id.hex()}+{encoded}"

    # Signed message: "cosignature/v1\n", "time <decimal>\n", then the whole note text.
    message = b"cosignature/v1\ntime 1679315147\n" + body.encode()
    assert cosigned_message(body, timestamp) == message

    line = Cosigner(name, private).cosign(body, timestamp).to_line()
    prefix = "\u2014 " + name + " "
    assert line.startswith(prefix) and line.endswith("\n")
    raw = base64.b64decode(line[len(prefix) : -1], validate=True)
    # base64(key ID || timestamped_signature{u64 big-endian timestamp, 64-byte signature})
    assert len(raw) == 4 + 8 + 64
    assert raw[:4] == expected_id
    assert raw[4:12] == (1679315147).to_bytes(8, "big") == bytes.fromhex("00000000641850cb")
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if wrong
    # Ed25519 is deterministic: the key and the whole line are pinned so neither can drift.
    assert (
        key.vkey() == "witness.example/vector+ec775255+BBl/ayPhbIUyxqvIOPrNXqeJvgx2spIDNAOb+os9No1h"
    )
    assert line == (
        "\u2014 witness.example/vector 7HdSVQAAAABkGFDLmYIPvvYUfGAD+QtpzOKTsX0AB4rSQf31b0GRiuVRNb"
        "Ptq39PqZtoKxHNAIK0cn8PcBuAZwnCR4NI+mcwzTNWCQ==\n"
    )


def test_the_spec_example_has_the_same_layout() -> None:
    """The example cosignature in c2sp.org/tlog-cosignature (time 1679315147): 4-byte key
    ID, then the big-endian timestamp, then a 64-byte signature."""
    example = (
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0"
        "xUe+mbIUBkBIfZ+qnA=="
    )
    raw = base64.b64decode(example, validate=True)
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147


def test_vkey_round_trips_and_refuses_other_types() -> None:
    key = WITNESSES[0].key
    assert CosignerKey.from_vkey(key.vkey()) == key
    note_key = Verifier.from_public_key("witness.example/w0", _key(10).public_key()).key_text()
    with pytest.raises(FormatError, match="0x04"):
        CosignerKey.from_vkey(note_key)  # a plain 0x01 note key is not a cosigner key
    name, hex_id, encoded = key.vkey().split("+", 2)
    with pytest.raises(FormatError, match="does not match"):
        CosignerKey.from_vkey(f"{name}+{'0' * 8}+{encoded}")
    with pytest.raises(FormatError):
        CosignerKey.from_vkey(f"wit ness+{hex_id}+{encoded}")


def test_timestamp_must_fit_in_63_bits() -> None:
    with pytest.raises(FormatError):
        cosigned_message("a\n1\nAAAA\n", 2**63)


def test_a_note_signature_does_not_pass_as_a_cosignature() -> None:
    """Same key, plain note signature (type 0x01) under the witness name: its key ID
    differs, so the line is ignored and does not count towards the quorum."""
    note = sign_checkpoint(_checkpoint(), ORIGIN, LOG_KEY)
    text = SignedNote.from_text(note).text
    plain = sign_checkpoint(_checkpoint(), WITNESSES[0].name, WITNESSES[0].private_key)
    plain_line = plain[len(text) + 1 :]
    w1 = WITNESSES[1].cosign(text, NOW).to_line()
    with pytest.raises(QuorumNotMet, match="1 of the 3"):
        verify_cosignatures(_with_lines(note, plain_line, w1), LOG, POLICY, now=NOW)


# --- k of n -------------------------------------------------------------------------------


def _cosigned(*witnesses: Cosigner, checkpoint: Checkpoint | None = None) -> str:
    note = sign_checkpoint(checkpoint or _checkpoint(), ORIGIN, LOG_KEY)
    text = SignedNote.from_text(note).text
    return _with_lines(note, *(w.cosign(text, NOW - 5).to_line() for w in witnesses))


def test_two_of_three_accepts_two_or_three_cosignatures() -> None:
    result = verify_cosignatures(_cosigned(WITNESSES[0], WITNESSES[2]), LOG, POLICY, now=NOW)
    assert result.checkpoint == _checkpoint()
    assert {c.witness.name for c in result.cosignatures} == {
        "witness.example/w0",
        "witness.example/w2",
    }
    assert all(c.timestamp == NOW - 5 for c in result.cosignatures)
    assert len(verify_cosignatures(_cosigned(*WITNESSES), LOG, POLICY, now=NOW).cosignatures) == 3


def test_one_witness_twice_counts_once() -> None:
    note = _cosigned(WITNESSES[1])
    text = SignedNote.from_text(note).text
    again = WITNESSES[1].cosign(text, NOW - 1).to_line()
    with pytest.raises(QuorumNotMet, match="needs 2"):
        verify_cosignatures(note + again, LOG, POLICY, now=NOW)


def test_unknown_witnesses_are_ignored() -> None:
    stranger = Cosigner("witness.example/stranger", _key(99))
    note = _cosigned(stranger, WITNESSES[0])
    with pytest.raises(QuorumNotMet):
        verify_cosignatures(note, LOG, POLICY, now=NOW)
    assert verify_cosignatures(_cosigned(stranger, *WITNESSES[:2]), LOG, POLICY, now=NOW)


def test_cosignatures_of_another_checkpoint_reject_the_note() -> None:
    """Cosignatures moved onto a forked checkpoint (same size, other root) fail to verify."""
    honest = _cosigned(*WITNESSES)
    lines = honest[honest.index("\n\n") + 2 :].split("\n")[1:]  # drop the log's own line
    forked = sign_checkpoint(_checkpoint(fill=8), ORIGIN, LOG_KEY)
    with pytest.raises(SignatureError, match=r"cosignature by witness\.example/w0"):
        verify_cosignatures(forked + "\n".join(lines), LOG, POLICY, now=NOW)


def test_future_timestamps_are_refused() -> None:
    note = sign_checkpoint(_checkpoint(), ORIGIN, LOG_KEY)
    text = SignedNote.from_text(note).text
    late = [w.cosign(text, NOW + 3600).to_line() for w in WITNESSES[:2]]
    with pytest.raises(SignatureError, match="future"):
        verify_cosignatures(_with_lines(note, *late), LOG, POLICY, now=NOW)
    assert verify_cosignatures(_with_lines(note, *late), LOG, POLICY, now=NOW + 3600)


def test_the_log_signature_and_origin_are_checked() -> None:
    note = _cosigned(*WITNESSES)
    other_log = Verifier.from_public_key(ORIGIN, _key(2).public_key())
    with pytest.raises(SignatureError):
        verify_cosignatures(note, other_log, POLICY, now=NOW)
    with pytest.raises(VerificationError, match="origin"):
        verify_cosignatures(note, LOG, POLICY, now=NOW, expected_origin="other.example/log")


def test_policy_is_checked() -> None:
    keys = tuple(w.key for w in WITNESSES)
    with pytest.raises(FormatError):
        WitnessPolicy(keys, quorum=4)
    with pytest.raises(FormatError):
        WitnessPolicy(keys, quorum=0)
    with pytest.raises(FormatError, match="twice"):
        WitnessPolicy((keys[0], keys[0], keys[1]), quorum=2)
