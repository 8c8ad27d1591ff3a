"""Round trips both ways for signed notes, checkpoints and tlog-proof files, and the parsers'
canonical-form property: any text they accept re-serializes to exactly itself."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    Checkpoint,
    KeyId,
    NoteSignature,
    ProofFile,
    SignedNote,
    Verifier,
    open_note,
    parse_verifier_key,
    read_note_file,
    sign_checkpoint,
    sign_note,
)
from ledger.errors import FormatError, SignatureError
from ledger.merkle import Hash

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

# Printable text: no surrogates (not UTF-8) and no ASCII controls (forbidden in notes).
line_chars = st.characters(codec="utf-8", min_codepoint=0x20)
lines = st.text(line_chars, max_size=20)
nonempty_lines = st.text(line_chars, min_size=1, max_size=20)
key_names = st.text(
    st.characters(codec="utf-8", min_codepoint=0x21, exclude_characters="+"),
    min_size=1,
    max_size=12,
).filter(lambda name: not any(ch.isspace() for ch in name))
note_texts = st.lists(lines, min_size=1, max_size=5).map(lambda ls: "\n".join(ls) + "\n")
signatures = st.builds(
    NoteSignature,
    name=key_names,
    key_id=st.binary(min_size=4, max_size=4).map(KeyId),
    signature=st.binary(min_size=1, max_size=80),
)
signed_notes = st.builds(
    SignedNote, text=note_texts, signatures=st.lists(signatures, min_size=1, max_size=4).map(tuple)
)
hashes = st.binary(min_size=32, max_size=32).map(Hash)
checkpoints = st.builds(
    Checkpoint,
    origin=nonempty_lines,
    size=st.integers(0, 2**64 - 1),
    root_hash=hashes,
    extensions=st.lists(nonempty_lines, max_size=3).map(tuple),
)
# Raw material for "maybe valid" texts: the characters the formats give meaning to.
format_chars = st.sampled_from(list("—\n +=/Aa0189xo\x00\u00a0\r٣"))


def checkpoint_note(cp: Checkpoint) -> str:
    return sign_checkpoint(cp, "log.example/key", KEY)


@settings(max_examples=150, deadline=None)
@given(note=signed_notes)
def test_signed_note_object_round_trip(note: SignedNote) -> None:
    assert SignedNote.from_text(note.to_text()) == note
    assert SignedNote.from_text(note.to_text().encode("utf-8")) == note


@settings(max_examples=150, deadline=None)
@given(
    text=note_texts,
    sig_lines=st.lists(
        st.tuples(key_names, st.binary(min_size=5, max_size=70)), min_size=1, max_size=4
    ),
)
def test_signed_note_text_round_trip(text: str, sig_lines: list[tuple[str, bytes]]) -> None:
    block = "".join(f"— {name} {base64.b64encode(raw).decode()}\n" for name, raw in sig_lines)
    note_text = text + "\n" + block
    parsed = SignedNote.from_text(note_text)
    assert parsed.text == text
    assert [(s.name, s.key_id + s.signature) for s in parsed.signatures] == sig_lines
    assert parsed.to_text() == note_text


def mutated(text: str, data: st.DataObject) -> str:
    """`text` after one to three random edits made of format-relevant characters."""
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 2))
        text = text[:at] + data.draw(st.text(format_chars, max_size=2)) + text[at + cut :]
    return text


@settings(max_examples=300, deadline=None)
@given(note=signed_notes, data=st.data())
def test_accepted_note_texts_are_canonical(note: SignedNote, data: st.DataObject) -> None:
    text = mutated(note.to_text(), data)
    try:
        parsed = SignedNote.from_text(text)
    except FormatError:
        return
    assert parsed.to_text() == text


@settings(max_examples=40, deadline=None)
@given(text=note_texts, name=key_names, data=st.data())
def test_sign_then_open_and_tamper(text: str, name: str, data: st.DataObject) -> None:
    verifier = Verifier.from_public_key(name, KEY.public_key())
    assert parse_verifier_key(verifier.key_text()) == verifier
    note = sign_note(text, name, KEY)
    assert open_note(note, [verifier]).text == text
    at = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(line_chars.filter(lambda ch: ch != text[at]))
    tampered = text[:at] + replacement + text[at + 1 :]
    with pytest.raises((SignatureError, FormatError)):
        open_note(tampered + note[len(text) :], [verifier])


@settings(max_examples=150, deadline=None)
@given(cp=checkpoints)
def test_checkpoint_object_round_trip(cp: Checkpoint) -> None:
    assert Checkpoint.from_body(cp.to_body()) == cp


@settings(max_examples=150, deadline=None)
@given(
    origin=nonempty_lines,
    size=st.integers(0, 2**64 - 1),
    root=hashes,
    extensions=st.lists(nonempty_lines, max_size=3),
)
def test_checkpoint_body_round_trip(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    body = "".join(f"{x}\n" for x in [origin, str(size), base64.b64encode(root).decode()])
    body += "".join(f"{x}\n" for x in extensions)
    cp = Checkpoint.from_body(body)
    assert (cp.origin, cp.size, cp.root_hash, list(cp.extensions)) == (
        origin,
        size,
        root,
        extensions,
    )
    assert cp.to_body() == body


@settings(max_examples=300, deadline=None)
@given(cp=checkpoints, data=st.data())
def test_accepted_checkpoint_bodies_are_canonical(cp: Checkpoint, data: st.DataObject) -> None:
    body = mutated(cp.to_body(), data)
    try:
        cp = Checkpoint.from_body(body)
    except FormatError:
        return
    assert cp.to_body() == body


@settings(max_examples=80, deadline=None)
@given(
    index=st.integers(0, 2**64 - 1),
    proof=st.lists(hashes, max_size=64).map(tuple),
    cp=checkpoints,
    extra=st.none() | st.binary(max_size=40),
)
def test_proof_file_object_round_trip(
    index: int, proof: tuple[Hash, ...], cp: Checkpoint, extra: bytes | None
) -> None:
    proof_file = ProofFile(index, proof, checkpoint_note(cp), extra)
    assert ProofFile.from_text(proof_file.to_text()) == proof_file


@settings(max_examples=80, deadline=None)
@given(
    index=st.integers(0, 2**64 - 1),
    proof=st.lists(hashes, max_size=64),
    cp=checkpoints,
    extra=st.none() | st.binary(max_size=40),
)
def test_proof_file_text_round_trip(
    index: int, proof: list[bytes], cp: Checkpoint, extra: bytes | None
) -> None:
    head = ["c2sp.org/tlog-proof@v1"]
    if extra is not None:
        head.append("extra " + base64.b64encode(extra).decode())
    head.append(f"index {index}")
    head.extend(base64.b64encode(h).decode() for h in proof)
    text = "".join(x + "\n" for x in head) + "\n" + checkpoint_note(cp)
    parsed = ProofFile.from_text(text)
    assert (parsed.index, list(parsed.proof), parsed.extra) == (index, proof, extra)
    assert parsed.to_text() == text


@settings(max_examples=200, deadline=None)
@given(
    proof=st.lists(hashes, max_size=3).map(tuple),
    extra=st.none() | st.binary(max_size=6),
    cp=checkpoints,
    data=st.data(),
)
def test_accepted_proof_files_are_canonical(
    proof: tuple[Hash, ...], extra: bytes | None, cp: Checkpoint, data: st.DataObject
) -> None:
    text = mutated(ProofFile(7, proof, checkpoint_note(cp), extra).to_text(), data)
    try:
        parsed = ProofFile.from_text(text)
    except FormatError:
        return
    assert parsed.to_text() == text


# CRLF line ends: the format says malformed (docs/formats/merkle-and-checkpoints.md), on
# every path a note comes in by — text, bytes, a file on disk, a proof file.


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@settings(max_examples=60, deadline=None)
@given(cp=checkpoints, name=key_names)
def test_a_note_with_crlf_line_ends_is_refused_and_lf_round_trips(
    cp: Checkpoint, name: str
) -> None:
    note = sign_checkpoint(cp, name, KEY)
    verifier = Verifier.from_public_key(name, KEY.public_key())
    assert Checkpoint.from_body(open_note(note, [verifier]).text) == cp
    for crlf in (_crlf(note), _crlf(note).encode("utf-8")):
        with pytest.raises(FormatError, match="carriage return"):
            SignedNote.from_text(crlf)
        with pytest.raises(FormatError, match="carriage return"):
            open_note(crlf, [verifier])
    with pytest.raises(FormatError, match="carriage return"):
        Checkpoint.from_body(_crlf(cp.to_body()))
    # Only the note's own line ends changed to CRLF: the same refusal.
    with pytest.raises(FormatError, match="carriage return"):
        ProofFile.from_text(ProofFile(3, (), note).to_text()[: -len(note)] + _crlf(note))


@settings(max_examples=30, deadline=None)
@given(cp=checkpoints, crlf_at=st.integers(0, 3))
def test_note_files_are_read_byte_for_byte(cp: Checkpoint, crlf_at: int) -> None:
    """Reading a file must not translate newlines: LF notes come back byte-exact, a note
    with any CRLF line end is refused (text-mode reading would silently accept it)."""
    note = checkpoint_note(cp)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.txt"
        path.write_bytes(note.encode("utf-8"))
        assert read_note_file(path, "checkpoint") == note
        lines = note.split("\n")
        at = min(crlf_at, len(lines) - 2)
        lines[at] += "\r"
        path.write_bytes("\n".join(lines).encode("utf-8"))
        with pytest.raises(FormatError, match="carriage return"):
            read_note_file(path, "checkpoint")
