"""Known-answer and refusal tests for ledger.checkpoint (signed notes, checkpoints, proofs)."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import (
    MAX_NOTE_BYTES,
    Checkpoint,
    KeyId,
    NoteSignature,
    ProofFile,
    SignedNote,
    Verifier,
    key_id,
    open_note,
    parse_verifier_key,
    read_note_file,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
    verify_proof_file,
)
from ledger.errors import FormatError, ProofError, SignatureError, VerificationError
from ledger.merkle import DictNodeReader, Hash, inclusion_proof, leaf_hash, node_hash, root_at

# golang.org/x/mod/sumdb/note (note.go doc example and note_test.go).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
PETER = parse_verifier_key(PETER_VKEY)
ENOCH = parse_verifier_key(ENOCH_VKEY)


def peter_private_key() -> Ed25519PrivateKey:
    # The Go signer key is PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed).
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


# The worked example of docs/formats/merkle-and-checkpoints.md.
EXAMPLE_SEED = hashlib.sha256(b"claims-ledger example key").digest()
EXAMPLE_NAME = "claims-ledger/example"
EXAMPLE_VKEY = "claims-ledger/example+90e7248d+AUxDqoVuXkjMQK8SuztmqevZuR1RSMEGh0ySuwYiUzQa"
EXAMPLE_NOTE = (
    "claims-ledger/example\n"
    "5\n"
    "p4GnZEHR02yif2nX5umh0IxJNqDLNEs3JnOidpmTxZ0=\n"
    "\n"
    "— claims-ledger/example "
    "kOckjaQu1Cm0R4joicQetlBZvFneD8CeQdPioKaurSJngCKqyVbmjSz+6Qmf6Qv0QdBwNRSfxyUSBQOUzpZyZXBZwww=\n"
)
EXAMPLE_PROOF = (
    "c2sp.org/tlog-proof@v1\n"
    "index 3\n"
    "MOxR44jXVf3T+QK2bqPL5jX7biNvQqyV5xpIFIVM3aU=\n"
    "kabtYwokrKy4yK0vyyiOaV/G0VcuFQ2zXr+U+8GUrfA=\n"
    "cmepYl+m0+Ky/4aQuV+YMr7u3dObPmkDO+Hy0+FzgW8=\n"
    "\n" + EXAMPLE_NOTE
)
EXAMPLE_LEAVES = [leaf_hash(f"example entry {i}".encode()) for i in range(5)]
EXAMPLE_KEY = Ed25519PrivateKey.from_private_bytes(EXAMPLE_SEED)
EXAMPLE_VERIFIER = parse_verifier_key(EXAMPLE_VKEY)


# --- Keys ---------------------------------------------------------------------------------


def test_go_signer_reproduces_published_note_byte_for_byte() -> None:
    key = peter_private_key()
    assert verifier_key("PeterNeumann", key.public_key()) == PETER_VKEY
    assert sign_note(GO_TEXT, "PeterNeumann", key) == GO_TEXT + "\n" + PETER_SIG


def test_key_id_is_truncated_sha256_of_name_newline_type_and_key() -> None:
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + PETER.public_key).digest()[:4]
    assert key_id("PeterNeumann", PETER.public_key) == expected
    assert expected.hex() == "c74f20a3"
    assert PETER.key_id == expected and PETER.name == "PeterNeumann"
    assert PETER.key_text() == PETER_VKEY


def test_mangled_verifier_keys_are_refused() -> None:
    # Every proper substring and every one-character change (note_test.go TestNewVerifier).
    n = len(PETER_VKEY)
    for i in range(n + 1):
        for j in range(i + 1, n + 1):
            if (i, j) != (0, n):
                with pytest.raises(FormatError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i in range(n):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(FormatError):
            parse_verifier_key(mangled)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "base64"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "0x01"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "hex"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "name"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann", "must be"),
    ],
)
def test_bad_verifier_keys_name_the_problem(text: str, reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        parse_verifier_key(text)


def test_verifier_rejects_inconsistent_fields() -> None:
    with pytest.raises(FormatError):
        Verifier("PeterNeumann", KeyId(b"\x00\x00\x00\x00"), PETER.public_key)
    with pytest.raises(FormatError):
        Verifier("PeterNeumann", PETER.key_id, PETER.public_key[:31])


# --- Notes --------------------------------------------------------------------------------


def test_open_note_verifies_known_and_ignores_unknown_keys() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER]).verified_by == (PETER,)
    assert open_note(note, [ENOCH]).verified_by == (ENOCH,)
    both = open_note(note.encode(), [PETER, ENOCH])
    assert both.text == GO_TEXT and both.verified_by == (PETER, ENOCH)


def test_open_note_without_trusted_signature_fails() -> None:
    with pytest.raises(SignatureError, match=r"no signature from a trusted key \(trusted: none\)"):
        open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    # Same name, other key: still unknown, so ignored, so nothing verifies.
    other = Verifier.from_public_key("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError, match=rf"\(trusted: PeterNeumann\+{other.key_id.hex()}\)"):
        open_note(GO_TEXT + "\n" + PETER_SIG, [other])


def test_tampered_text_or_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match=r"PeterNeumann\+c74f20a3"):
        open_note(GO_TEXT.replace("cryptography", "cryptographY") + "\n" + PETER_SIG, [PETER])
    bad_sig = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(SignatureError):
        open_note(GO_TEXT + "\n" + bad_sig, [PETER])
    # A known key's bad signature sinks the note even next to a good one.
    with pytest.raises(SignatureError):
        open_note(GO_TEXT + "\n" + ENOCH_SIG + bad_sig, [PETER, ENOCH])


def test_duplicate_signatures_and_unknown_garbage() -> None:
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    note = GO_TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + bad_enoch
    assert open_note(note, [PETER]).verified_by == (PETER,)
    assert len(SignedNote.from_text(note).signatures) == 5


def test_signature_count_limit() -> None:
    assert open_note(GO_TEXT + "\n" + PETER_SIG * 100, [PETER]).verified_by == (PETER,)
    for verifiers in ([PETER], []):
        with pytest.raises(FormatError, match="101 signature lines"):
            open_note(GO_TEXT + "\n" + PETER_SIG * 101, verifiers)


def test_ambiguous_verifiers_are_refused() -> None:
    twin = Verifier.__new__(Verifier)  # bypasses validation to fake a key-ID collision
    object.__setattr__(twin, "name", ENOCH.name)
    object.__setattr__(twin, "key_id", ENOCH.key_id)
    object.__setattr__(twin, "public_key", PETER.public_key)
    with pytest.raises(VerificationError, match=r"ambiguous verifier keys for EnochRoot\+af0cfe78"):
        open_note(GO_TEXT + "\n" + ENOCH_SIG, [ENOCH, PETER, twin])
    assert open_note(GO_TEXT + "\n" + ENOCH_SIG, [ENOCH, ENOCH]).verified_by == (ENOCH,)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(),
        "\ud800" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace("— ", "- "),
        GO_TEXT + "\n" + PETER_SIG.replace("— ", "—"),
        GO_TEXT + "\n" + "— PeterNeumann\n",
        GO_TEXT + "\n" + "— PeterNeumann x08g\n",  # key ID only, no signature
        GO_TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),  # non-canonical base64
        GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),  # missing padding
        GO_TEXT + "\n" + PETER_SIG + "\n",
        GO_TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
        "",
    ],
)
def test_malformed_notes_are_format_errors(note: str | bytes) -> None:
    with pytest.raises(FormatError):
        SignedNote.from_text(note)
    with pytest.raises(FormatError):
        open_note(note, [PETER])


def test_oversized_note_is_refused_before_parsing() -> None:
    text = ("x" * 99 + "\n") * (MAX_NOTE_BYTES // 100)
    with pytest.raises(FormatError, match="over the limit"):
        SignedNote.from_text(text + "\n" + PETER_SIG)


def test_note_text_may_contain_blank_lines() -> None:
    text = "first\n\nthird\n\n"
    note = sign_note(text, "PeterNeumann", peter_private_key())
    assert open_note(note, [PETER]).text == text
    assert SignedNote.from_text(note).to_text() == note


@pytest.mark.parametrize("text", ["", "no newline", "bell\x07\n"])
def test_sign_note_refuses_bad_text(text: str) -> None:
    with pytest.raises(FormatError):
        sign_note(text, "PeterNeumann", peter_private_key())


def test_sign_note_refuses_bad_name() -> None:
    for name in ["", "a b", "a+b", "tab\tname", "nbsp\u00a0name"]:
        with pytest.raises(FormatError):
            sign_note(GO_TEXT, name, peter_private_key())


def test_signed_note_object_checks() -> None:
    with pytest.raises(FormatError):
        SignedNote(GO_TEXT, ())
    with pytest.raises(FormatError):
        NoteSignature("PeterNeumann", KeyId(b"\x00\x00\x00"), b"sig")
    with pytest.raises(FormatError):
        NoteSignature("PeterNeumann", KeyId(b"\x00\x00\x00\x00"), b"")
    for bad_name in ("", "Peter Neumann", "Peter+Neumann", "Peter\ud800"):
        with pytest.raises(FormatError, match="key name"):
            NoteSignature(bad_name, KeyId(b"\x00\x00\x00\x00"), b"sig")


# --- Checkpoints --------------------------------------------------------------------------

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_spec_example_checkpoint_body_round_trips() -> None:
    cp = Checkpoint.from_body(SPEC_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.to_body() == SPEC_BODY


def test_checkpoint_extensions_round_trip() -> None:
    body = SPEC_BODY + "ext one\n— ext two\n"
    cp = Checkpoint.from_body(body)
    assert cp.extensions == ("ext one", "— ext two")
    assert cp.to_body() == body


@pytest.mark.parametrize(
    "body",
    [
        "",
        "origin\n",
        "origin\n1\n",
        SPEC_BODY[:-1],
        "\n1\n" + SPEC_BODY.split("\n")[2] + "\n",
        SPEC_BODY.replace("20852163", "020852163"),
        SPEC_BODY.replace("20852163", "00"),
        SPEC_BODY.replace("20852163", "-1"),
        SPEC_BODY.replace("20852163", "+1"),
        SPEC_BODY.replace("20852163", " 1"),
        SPEC_BODY.replace("20852163", "1_000"),
        SPEC_BODY.replace("20852163", "١٢"),  # non-ASCII digits
        SPEC_BODY.replace("20852163", "18446744073709551616"),
        SPEC_BODY.replace("20852163", ""),
        SPEC_BODY.replace("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "AAAA"),
        SPEC_BODY.replace("2I=", "2J="),  # non-canonical base64
        SPEC_BODY.replace("=", ""),
        SPEC_BODY.replace("/", "_"),  # URL-safe alphabet
        SPEC_BODY + "\n",
        SPEC_BODY + "ext\n\n",
        SPEC_BODY + "bell\x07\n",
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.from_body(body)


ZERO = Hash(bytes(32))


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ZERO, ()),
        ("a\nb", 1, ZERO, ()),
        ("o", -1, ZERO, ()),
        ("o", 2**64, ZERO, ()),
        ("o", True, ZERO, ()),
        ("o", 1, Hash(bytes(31)), ()),
        ("o", 1, ZERO, ("",)),
        ("o\ud800", 1, ZERO, ()),  # a lone surrogate has no UTF-8 form
        ("o", 1, ZERO, ("ext \udfff",)),
    ],
)
def test_checkpoint_object_checks(
    origin: str, size: int, root: Hash, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(FormatError):
        Checkpoint(origin, size, root, extensions)


def test_smallest_checkpoint_body() -> None:
    expected = "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    assert Checkpoint("o", 0, ZERO).to_body() == expected


def test_worked_example_checkpoint_matches_docs() -> None:
    assert verifier_key(EXAMPLE_NAME, EXAMPLE_KEY.public_key()) == EXAMPLE_VKEY
    root = root_at(5, DictNodeReader.from_leaves(EXAMPLE_LEAVES))
    cp = Checkpoint(EXAMPLE_NAME, 5, root)
    assert sign_checkpoint(cp, EXAMPLE_NAME, EXAMPLE_KEY) == EXAMPLE_NOTE
    assert verify_checkpoint(EXAMPLE_NOTE, EXAMPLE_VERIFIER, EXAMPLE_NAME) == cp


def test_verify_checkpoint_refusals() -> None:
    with pytest.raises(VerificationError, match="not the expected 'claims-ledger/other'"):
        verify_checkpoint(EXAMPLE_NOTE, EXAMPLE_VERIFIER, "claims-ledger/other")
    with pytest.raises(SignatureError):
        verify_checkpoint(EXAMPLE_NOTE, PETER)
    with pytest.raises(SignatureError):
        verify_checkpoint(EXAMPLE_NOTE.replace("\n5\n", "\n6\n"), EXAMPLE_VERIFIER)
    signed_junk = sign_note("not a checkpoint\n", EXAMPLE_NAME, EXAMPLE_KEY)
    with pytest.raises(FormatError):
        verify_checkpoint(signed_junk, EXAMPLE_VERIFIER)


# --- tlog-proof files ---------------------------------------------------------------------


def test_worked_example_proof_file_matches_docs_and_verifies() -> None:
    reader = DictNodeReader.from_leaves(EXAMPLE_LEAVES)
    proof_file = ProofFile(3, tuple(inclusion_proof(3, 5, reader)), EXAMPLE_NOTE)
    assert proof_file.to_text() == EXAMPLE_PROOF
    assert ProofFile.from_text(EXAMPLE_PROOF) == proof_file
    verified = verify_proof_file(EXAMPLE_PROOF, EXAMPLE_LEAVES[3], EXAMPLE_VERIFIER, EXAMPLE_NAME)
    assert verified.index == 3 and verified.checkpoint.size == 5 and verified.extra is None


def test_proof_file_with_extra_data_round_trips() -> None:
    proof_file = ProofFile(3, ProofFile.from_text(EXAMPLE_PROOF).proof, EXAMPLE_NOTE, b"ctx")
    text = proof_file.to_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra Y3R4\nindex 3\n")
    assert ProofFile.from_text(text) == proof_file
    assert verify_proof_file(text, EXAMPLE_LEAVES[3], EXAMPLE_VERIFIER).extra == b"ctx"
    empty_extra = ProofFile(3, proof_file.proof, EXAMPLE_NOTE, b"")
    assert ProofFile.from_text(empty_extra.to_text()) == empty_extra


def _proof_file_of(total: int) -> str:
    """A well-formed proof file of exactly ``total`` bytes: extra data pads it, and the
    index's digit count fixes the length modulo 4 that base64 cannot."""
    proof = ProofFile.from_text(EXAMPLE_PROOF).proof
    for index in (3, 13, 113, 1113):
        base = len(ProofFile(index, proof, EXAMPLE_NOTE, b"").to_text().encode())
        if (total - base) % 4 == 0:
            text = ProofFile(index, proof, EXAMPLE_NOTE, b"x" * ((total - base) // 4 * 3)).to_text()
            assert len(text.encode()) == total
            return text
    raise AssertionError("unreachable")


def test_a_proof_file_may_fill_its_size_limit_but_not_exceed_it() -> None:
    limit = 1_016_384  # docs/formats/merkle-and-checkpoints.md §7
    at_limit = ProofFile.from_text(_proof_file_of(limit))
    assert at_limit.extra is not None and len(at_limit.extra) > MAX_NOTE_BYTES // 2
    with pytest.raises(FormatError, match="over the limit of 1016384"):
        ProofFile.from_text(_proof_file_of(limit + 1))


@pytest.mark.parametrize("index", [-1, 2**64, True])
def test_a_proof_file_index_must_be_a_uint64(index: int) -> None:
    proof = ProofFile.from_text(EXAMPLE_PROOF).proof
    with pytest.raises(FormatError, match="proof file index"):
        ProofFile(index, proof, EXAMPLE_NOTE)
    assert ProofFile(2**64 - 1, proof, EXAMPLE_NOTE).index == 2**64 - 1


def test_verify_proof_file_refusals() -> None:
    with pytest.raises(ProofError, match="index 3 in tree size 5"):
        verify_proof_file(EXAMPLE_PROOF, EXAMPLE_LEAVES[2], EXAMPLE_VERIFIER)
    with pytest.raises(ProofError):
        verify_proof_file(EXAMPLE_PROOF.replace("index 3", "index 2"), EXAMPLE_LEAVES[3],
                          EXAMPLE_VERIFIER)  # fmt: skip
    tampered = EXAMPLE_PROOF.replace("MOxR", "MOxS")
    with pytest.raises(ProofError):
        verify_proof_file(tampered, EXAMPLE_LEAVES[3], EXAMPLE_VERIFIER)
    with pytest.raises(SignatureError):
        verify_proof_file(EXAMPLE_PROOF, EXAMPLE_LEAVES[3], PETER)
    with pytest.raises(VerificationError):
        verify_proof_file(EXAMPLE_PROOF, EXAMPLE_LEAVES[3], EXAMPLE_VERIFIER, "claims-ledger/x")


HASH_LINE = "MOxR44jXVf3T+QK2bqPL5jX7biNvQqyV5xpIFIVM3aU=\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("wrong-header\nindex 0\n\n" + EXAMPLE_NOTE, "must start with"),
        ("c2sp.org/tlog-proof@v1\nextra !!notbase64!!\nindex 0\n\n" + EXAMPLE_NOTE, "extra"),
        ("c2sp.org/tlog-proof@v1\n\n\n" + EXAMPLE_NOTE, "line 2 must be 'index"),
        ("c2sp.org/tlog-proof@v1\nindex notanumber\n\n" + EXAMPLE_NOTE, "index"),
        ("c2sp.org/tlog-proof@v1\nindex -5\n\n" + EXAMPLE_NOTE, "index"),
        ("c2sp.org/tlog-proof@v1\nindex 03\n\n" + EXAMPLE_NOTE, "leading zeros"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n!!notbase64!!\n\n" + EXAMPLE_NOTE, "line 3"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n" + "A" * 86 + "==\n\n" + EXAMPLE_NOTE, "64-byte"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n" + HASH_LINE * 65 + "\n" + EXAMPLE_NOTE, "65"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n" + EXAMPLE_NOTE.replace("\n\n", "\n"), "blank"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\n", "note"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\nnot a note\n", "note"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\n" + sign_note("x\n", "k", EXAMPLE_KEY), "lines"),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\r\n\n" + EXAMPLE_NOTE, "control"),
        ("c2sp.org/tlog-proof@v1\nindex 0\nextra Y3R4\n\n" + EXAMPLE_NOTE, "line 3"),
    ],
)
def test_malformed_proof_files(text: str, reason: str) -> None:
    with pytest.raises(FormatError, match=reason):
        ProofFile.from_text(text)


def test_docs_show_the_worked_example_verbatim() -> None:
    doc_path = Path(__file__).resolve().parents[2] / "docs/formats/merkle-and-checkpoints.md"
    doc = doc_path.read_text(encoding="utf-8")
    reader = DictNodeReader.from_leaves(EXAMPLE_LEAVES)
    shown = [EXAMPLE_VKEY, EXAMPLE_SEED.hex(), EXAMPLE_KEY.public_key().public_bytes_raw().hex()]
    shown += [leaf.hex() for leaf in EXAMPLE_LEAVES]
    shown += [root_at(size, reader).hex() for size in (4, 5)]
    shown += [node_hash(EXAMPLE_LEAVES[2], EXAMPLE_LEAVES[3]).hex()]
    shown += [inclusion_proof(3, 5, reader)[1].hex()]
    shown += ["```\n" + EXAMPLE_NOTE + "```", "```\n" + EXAMPLE_PROOF + "```"]
    for value in shown:
        assert value in doc


def test_a_note_file_that_is_not_a_regular_file_is_refused_without_reading(
    tmp_path: Path,
) -> None:
    """`verify --checkpoint` names a file: a FIFO with no writer must not hang it, nor
    /dev/zero fill memory."""
    fifo = tmp_path / "note.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path / "missing.txt"):
        with pytest.raises(FormatError, match=r"checkpoint .*: cannot read it"):
            read_note_file(path, "checkpoint")
