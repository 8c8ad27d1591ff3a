"""The witness core (c2sp.org/tlog-witness): every status of add-checkpoint, its durable
per-origin state and the compare-and-swap on the old size, and its HTTP face."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, SignedNote, Verifier, sign_checkpoint
from ledger.cosignature import Cosigner, WitnessPolicy, verify_cosignatures
from ledger.errors import (
    ConfigError,
    ForkedCheckpoint,
    FormatError,
    InvalidInput,
    LedgerError,
    ProofError,
    SignatureError,
    StorageError,
    TreeSizeConflict,
    UnknownLog,
)
from ledger.witness import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    LogConfig,
    Witness,
    WitnessConfig,
    WitnessState,
    _Slot,
    encode_private_key,
    http_status,
)
from ledger.witness_http import make_server

ORIGIN = "news-log.example/one"
NOW = 1_750_000_000


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


LOG_KEY = _key(3)
LOG = Verifier.from_public_key(ORIGIN, LOG_KEY.public_key())
COSIGNER = Cosigner("witness.test/alpha", _key(4))


class Tree:
    """A log's leaves: checkpoints and consistency proofs at any size (reference code)."""

    def __init__(self, tag: str, size: int) -> None:
        self.leaves = [merkle.leaf_hash(f"{tag} {n}".encode()) for n in range(size)]

    def checkpoint(self, size: int, key: Ed25519PrivateKey = LOG_KEY, origin: str = ORIGIN) -> str:
        root = merkle.reference_root(self.leaves[:size])
        return sign_checkpoint(Checkpoint(origin, size, root), origin, key)

    def proof(self, old: int, new: int) -> tuple[merkle.Hash, ...]:
        return tuple(merkle.reference_consistency_proof(old, self.leaves[:new]))

    def request(
        self, old: int, new: int, key: Ed25519PrivateKey = LOG_KEY, origin: str = ORIGIN
    ) -> bytes:
        note = self.checkpoint(new, key, origin)
        return AddCheckpoint(old, self.proof(old, new) if old else (), note).to_bytes()


HONEST = Tree("honest", 40)
FORK = Tree("fork", 40)


def _config() -> WitnessConfig:
    return WitnessConfig(COSIGNER, {ORIGIN: LogConfig(ORIGIN, (LOG,))})


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(_config(), WitnessState(tmp_path / "state"), clock=lambda: NOW)


def _status(witness: Witness, body: bytes) -> int:
    try:
        witness.add_checkpoint(body)
    except LedgerError as exc:
        return http_status(exc)
    return 200


# --- 200 ----------------------------------------------------------------------------------


def test_first_checkpoint_then_advances_with_proofs(witness: Witness) -> None:
    line = witness.add_checkpoint(HONEST.request(0, 5))
    note = HONEST.checkpoint(5)
    policy = WitnessPolicy((COSIGNER.key,), quorum=1)
    cosigned = verify_cosignatures(note + line, LOG, policy, now=NOW)
    assert cosigned.cosignatures[0].timestamp == NOW
    for old, new in [(5, 6), (6, 13), (13, 16), (16, 16), (16, 39)]:
        witness.add_checkpoint(HONEST.request(old, new))
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.size == 39


def test_unknown_key_signatures_are_ignored(witness: Witness) -> None:
    note = HONEST.checkpoint(3)
    stranger = sign_checkpoint(Checkpoint.from_body(SignedNote.from_text(note).text), "x", _key(9))
    extra = stranger[stranger.rindex("\u2014") :]
    witness.add_checkpoint(AddCheckpoint(0, (), note + extra).to_bytes())


# --- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"old 0\n",  # no empty line, no checkpoint
        b"old 01\n\n",  # leading zero
        b"old -1\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\nAAAA\n\n",  # 3 bytes, not a hash
        b"\xff\xfe\n\n",
    ],
)
def test_malformed_bodies_are_400(witness: Witness, body: bytes) -> None:
    assert _status(witness, body + HONEST.checkpoint(2).encode()) == 400


def test_too_many_proof_lines_is_400(witness: Witness) -> None:
    lines = b"".join(b"A" * 43 + b"=\n" for _ in range(MAX_PROOF_LINES + 1))
    with pytest.raises(FormatError, match="over 63"):
        witness.add_checkpoint(b"old 3\n" + lines + b"\n" + HONEST.checkpoint(9).encode())


def test_old_size_above_the_checkpoint_is_400(witness: Witness) -> None:
    witness.add_checkpoint(HONEST.request(0, 8))
    body = AddCheckpoint(8, (), HONEST.checkpoint(4)).to_bytes()  # a rollback
    with pytest.raises(InvalidInput, match="above"):
        witness.add_checkpoint(body)
    assert http_status(InvalidInput("x")) == 400


# --- 404, 403 -----------------------------------------------------------------------------


def test_unknown_origin_is_404(witness: Witness) -> None:
    other = HONEST.checkpoint(2, origin="elsewhere.example/log")
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(AddCheckpoint(0, (), other).to_bytes())
    assert _status(witness, AddCheckpoint(0, (), other).to_bytes()) == 404


def test_untrusted_or_bad_signature_is_403(witness: Witness) -> None:
    with pytest.raises(SignatureError):
        witness.add_checkpoint(HONEST.request(0, 4, key=_key(8)))
    note = HONEST.checkpoint(4)
    tampered = note.replace("\n4\n", "\n5\n", 1)  # body changed under the log's signature
    assert _status(witness, AddCheckpoint(0, (), tampered).to_bytes()) == 403
    assert witness.state.latest(ORIGIN) is None


# --- 409 ----------------------------------------------------------------------------------


def test_old_size_not_the_one_held_is_409_with_the_size(witness: Witness) -> None:
    assert _status(witness, HONEST.request(3, 10)) == 409  # nothing held: the size is 0
    witness.add_checkpoint(HONEST.request(0, 10))
    with pytest.raises(TreeSizeConflict) as raised:
        witness.add_checkpoint(HONEST.request(0, 12))
    assert raised.value.size == 10
    with pytest.raises(TreeSizeConflict) as raised:
        witness.add_checkpoint(HONEST.request(7, 12))
    assert raised.value.size == 10


def test_same_size_other_root_is_409(witness: Witness) -> None:
    witness.add_checkpoint(HONEST.request(0, 10))
    with pytest.raises(ForkedCheckpoint, match="forked") as raised:
        witness.add_checkpoint(FORK.request(10, 10))
    assert raised.value.size == 10
    assert http_status(raised.value) == 409


# --- 422 ----------------------------------------------------------------------------------


def test_bad_consistency_proof_is_422(witness: Witness) -> None:
    witness.add_checkpoint(HONEST.request(0, 10))
    # The fork's own proof from its size 10 does not lead to the root the witness holds.
    forked = AddCheckpoint(10, FORK.proof(10, 20), FORK.checkpoint(20)).to_bytes()
    with pytest.raises(ProofError):
        witness.add_checkpoint(forked)
    short = AddCheckpoint(10, HONEST.proof(10, 20)[:-1], HONEST.checkpoint(20)).to_bytes()
    assert _status(witness, short) == 422
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.size == 10


def test_a_proof_from_size_zero_must_be_empty(witness: Witness) -> None:
    body = AddCheckpoint(0, HONEST.proof(3, 6), HONEST.checkpoint(6)).to_bytes()
    assert _status(witness, body) == 422


# --- Durable, atomic state ----------------------------------------------------------------


def test_state_survives_a_new_witness_on_the_same_directory(tmp_path: Path) -> None:
    first = Witness(_config(), WitnessState(tmp_path / "s"))
    first.add_checkpoint(HONEST.request(0, 7))
    again = Witness(_config(), WitnessState(tmp_path / "s"))
    with pytest.raises(TreeSizeConflict) as raised:
        again.add_checkpoint(FORK.request(0, 9))
    assert raised.value.size == 7
    files = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert len([f for f in files if f.endswith(".checkpoint")]) == 1
    assert not [f for f in files if f.endswith(".tmp")]


def test_a_failed_write_leaves_the_old_record_whole(
    witness: Witness, monkeypatch: pytest.MonkeyPatch
) -> None:
    witness.add_checkpoint(HONEST.request(0, 6))
    before = witness.state.path(ORIGIN).read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageError):
        witness.add_checkpoint(HONEST.request(6, 9))
    monkeypatch.undo()
    assert witness.state.path(ORIGIN).read_bytes() == before
    witness.add_checkpoint(HONEST.request(6, 9))  # no cosignature was given for 9: retry
    latest = witness.state.latest(ORIGIN)
    assert latest is not None and latest.size == 9


def _race(racers: list[Witness], bodies: list[bytes]) -> list[int]:
    """Submit ``bodies[i]`` to ``racers[i]`` at the same moment; -1 for a cosignature,
    else the size a TreeSizeConflict named."""
    barrier = threading.Barrier(len(racers))
    results = [0] * len(racers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            racers[i].add_checkpoint(bodies[i])
            results[i] = -1
        except TreeSizeConflict as exc:
            results[i] = exc.size

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_requests_from_one_old_size_advance_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two witness objects (two processes' worth of locks) on one state directory get
    requests from the same old size at once: one wins, the other gets 409 with the
    winner's size, and the recorded size never goes back. Reading the record is slowed
    down so that without the lock both requests would pass the old-size check."""
    state_dir = tmp_path / "shared"
    Witness(_config(), WitnessState(state_dir)).add_checkpoint(HONEST.request(0, 4))
    read = _Slot.read

    def slow_read(self: _Slot) -> Checkpoint | None:
        found = read(self)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(_Slot, "read", slow_read)
    old = 4
    for a, b in [(9, 17), (20, 30), (33, 35)]:
        racers = [Witness(_config(), WitnessState(state_dir)) for _ in range(2)]
        bodies = [HONEST.request(old, a), HONEST.request(old, b)]
        results = _race(racers, bodies)
        latest = racers[0].state.latest(ORIGIN)
        assert latest is not None and latest.size in (a, b)
        assert sorted(results) == [-1, latest.size]
        old = latest.size


# --- Configuration ------------------------------------------------------------------------


def test_config_file(tmp_path: Path) -> None:
    (tmp_path / "w.pem").write_bytes(encode_private_key(COSIGNER.private_key))
    config = tmp_path / "witness.toml"
    config.write_text(
        f'name = "witness.test/alpha"\nkey = "w.pem"\n\n'
        f'[[log]]\norigin = "{ORIGIN}"\nkeys = ["{LOG.key_text()}"]\n'
    )
    loaded = WitnessConfig.load(config)
    assert loaded.cosigner.key == COSIGNER.key
    assert loaded.logs[ORIGIN].verifiers == (LOG,)
    config.write_text(
        'name = "witness.test/alpha"\nkey = "w.pem"\n[[log]]\norigin = "a"\nkeys = ["nope"]\n'
    )
    with pytest.raises(ConfigError, match="verifier key"):
        WitnessConfig.load(config)
    (tmp_path / "e.pem").write_bytes(encode_private_key(COSIGNER.private_key, b"secret"))
    config.write_text(
        f'name = "witness.test/alpha"\nkey = "e.pem"\n[[log]]\norigin = "{ORIGIN}"\n'
        f'keys = ["{LOG.key_text()}"]\n'
    )
    assert WitnessConfig.load(config, passphrase=b"secret").cosigner.key == COSIGNER.key


# --- HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def served(witness: Witness) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, witness, timeout=10)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_http_statuses_and_bodies(served: str) -> None:
    url = f"{served}/add-checkpoint"
    with httpx.Client(timeout=5) as client:  # one keep-alive connection for all of them
        ok = client.post(url, content=HONEST.request(0, 5))
        assert ok.status_code == 200
        assert ok.text.startswith("\u2014 witness.test/alpha ") and ok.text.endswith("\n")
        conflict = client.post(url, content=HONEST.request(0, 6))
        assert conflict.status_code == 409
        assert conflict.headers["content-type"] == "text/x.tlog.size"
        assert conflict.text == "5\n"
        assert client.post(url, content=FORK.request(5, 5)).status_code == 409
        bad = AddCheckpoint(5, FORK.proof(5, 8), FORK.checkpoint(8)).to_bytes()
        assert client.post(url, content=bad).status_code == 422
        assert client.post(url, content=HONEST.request(0, 5, key=_key(8))).status_code == 403
        other = AddCheckpoint(0, (), HONEST.checkpoint(2, origin="x.example/y")).to_bytes()
        assert client.post(url, content=other).status_code == 404
        assert client.post(url, content=b"old 1\n\n").status_code == 400
        assert client.post(url, content=HONEST.request(5, 8)).status_code == 200
        assert client.get(f"{served}/healthz").status_code == 200
        assert client.post(f"{served}/elsewhere", content=b"x").status_code == 404
    too_big = httpx.post(url, content=b"o" * (300 * 1024), timeout=5)
    assert too_big.status_code == 413


def test_a_silent_client_does_not_block_others(served: str) -> None:
    """A client that promised a body and sends nothing holds only its own connection:
    another is answered long before the server's 10 s timeout would free the first."""
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as idle:
        idle.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        response = httpx.post(f"{served}/add-checkpoint", content=HONEST.request(0, 3), timeout=3)
        assert response.status_code == 200


def test_a_body_without_content_length_is_411(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(
            b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nold 0\r\n0\r\n\r\n"
        )
        assert client.recv(100).startswith(b"HTTP/1.1 411")


def test_connections_past_the_cap_get_503(witness: Witness) -> None:
    server = make_server("127.0.0.1", 0, witness, timeout=3, max_connections=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(100).startswith(b"HTTP/1.1 200")  # holds the only slot
            url = f"http://127.0.0.1:{server.server_port}/add-checkpoint"
            assert httpx.post(url, content=HONEST.request(0, 3), timeout=5).status_code == 503
        time.sleep(0.2)  # the idle connection closed: its slot is free again
        assert httpx.post(url, content=HONEST.request(0, 3), timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
