"""Three `claims-ledger witness serve` processes on 127.0.0.1 watching a real ledger: its
checkpoints advance through them, a fork signed with the same log key is refused by
every witness that saw the honest log, and a 2-of-3 policy tells the two apart."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import SignedNote, Verifier
from ledger.config import Settings
from ledger.cosignature import Cosigner, CosignerKey, WitnessPolicy, verify_cosignatures
from ledger.errors import QuorumNotMet, SignatureError
from ledger.instance import Instance, open_instance
from ledger.witness import AddCheckpoint, encode_private_key
from tests.helpers import ROOT, append_sources, run_cli
from tests.liveness import wait_until_healthy

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str
    vkey: CosignerKey
    config: Path
    state: Path
    proc: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(config: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "witness",
            "serve",
            "--config",
            str(config),
            "--state",
            str(state),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait(proc: subprocess.Popen[bytes], url: str) -> None:
    wait_until_healthy(url, proc, timeout=60, what="witness")


def _start(config: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc, url = _launch(config, state)
    _wait(proc, url)
    return proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def honest(tmp_path: Path) -> Iterator[Instance]:
    instance = open_instance(
        Settings(
            home=tmp_path / "honest",
            database_url=f"sqlite:///{tmp_path}/honest.db",
            passphrase=b"pw",
        )
    )
    yield instance
    instance.close()


@pytest.fixture
def forked(tmp_path: Path, honest: Instance) -> Iterator[Instance]:
    """Another ledger under the same origin and the same log key (its key files copied):
    what a log operator showing two histories would run."""
    home = tmp_path / "forked"
    shutil.copytree(honest.settings.keys_dir, home / "keys")
    settings = Settings(home=home, database_url=f"sqlite:///{tmp_path}/forked.db", passphrase=b"pw")
    instance = open_instance(settings)
    assert instance.ledger.log_verifier() == honest.ledger.log_verifier()
    yield instance
    instance.close()


@pytest.fixture
def witnesses(tmp_path: Path, honest: Instance) -> Iterator[list[Served]]:
    log_vkey = honest.ledger.log_verifier().key_text()
    served: list[Served] = []
    try:
        for n in range(3):
            folder = tmp_path / f"witness{n}"
            folder.mkdir()
            name = f"witness{n}.test/w"
            if n == 0:  # one key made by the command, as an operator would
                made = run_cli(
                    folder, "witness", "keygen", "--name", name, "--key", str(folder / "w.pem")
                )
                assert made.returncode == 0, made.stderr
                vkey = CosignerKey.from_vkey(made.stdout.strip())
            else:
                private = Ed25519PrivateKey.generate()
                (folder / "w.pem").write_bytes(encode_private_key(private))
                vkey = Cosigner(name, private).key
            config = folder / "witness.toml"
            config.write_text(
                f'name = "{name}"\nkey = "w.pem"\n\n'
                f'[[log]]\norigin = "{honest.settings.origin}"\nkeys = ["{log_vkey}"]\n'
            )
            state = folder / "state"
            proc, url = _launch(config, state)  # the three start side by side
            served.append(Served(url, vkey, config, state, proc))
        for witness in served:
            _wait(witness.proc, witness.url)
        yield served
    finally:
        for witness in served:
            _stop(witness.proc)


def _submit(url: str, old: int, instance: Instance, size: int | None = None) -> httpx.Response:
    ledger = instance.ledger
    checkpoint = ledger.checkpoint(size)
    proof = ledger.consistency_proof(old, checkpoint.size).hashes if old else ()
    body = AddCheckpoint(old, proof, checkpoint.note).to_bytes()
    return httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)


def _cosign(witnesses: list[Served], old: int, instance: Instance) -> str:
    """The instance's latest checkpoint with every witness's cosignature appended."""
    note = instance.ledger.checkpoint().note
    for witness in witnesses:
        response = _submit(witness.url, old, instance)
        assert response.status_code == 200, response.text
        note += response.text
    return note


def test_three_witnesses_refuse_a_forked_log(
    witnesses: list[Served], honest: Instance, forked: Instance
) -> None:
    ledger, writer = honest.ledger, honest.writer_key()
    policy = WitnessPolicy(tuple(w.vkey for w in witnesses), quorum=2)
    log = ledger.log_verifier()

    # The honest log's checkpoints advance through all three witnesses.
    first = ledger.checkpoint().size
    _cosign(witnesses, 0, honest)
    append_sources(ledger, writer, [0, 1])
    second = ledger.checkpoint().size
    assert second > first
    _cosign(witnesses, first, honest)
    append_sources(ledger, writer, [2])
    cosigned = _cosign(witnesses, second, honest)
    held = ledger.checkpoint().size

    # 2 of 3 accept the honest checkpoint (all three cosigned; two are enough).
    result = verify_cosignatures(cosigned, log, policy)
    assert result.checkpoint.size == held
    assert len(result.cosignatures) == 3
    note = SignedNote.from_text(cosigned)
    two = note.text + "\n" + "".join(s.to_line() for s in note.signatures[:3])
    assert len(verify_cosignatures(two, log, policy).cosignatures) == 2
    one = note.text + "\n" + "".join(s.to_line() for s in note.signatures[:2])
    with pytest.raises(QuorumNotMet):
        verify_cosignatures(one, log, policy)

    # The fork: same key and origin, other entries, first at the same size.
    append_sources(forked.ledger, forked.writer_key(), range(10, 10 + held - 2))
    fork_point = forked.ledger.checkpoint()
    assert fork_point.size == held and fork_point.root != ledger.checkpoint().root
    for witness in witnesses:
        unaware = _submit(witness.url, 0, forked)  # the fork never had a cosignature
        assert unaware.status_code == 409
        assert unaware.headers["content-type"] == "text/x.tlog.size"
        assert unaware.text == f"{held}\n"
        same_size = _submit(witness.url, held, forked)  # claims to be what they hold
        assert same_size.status_code == 409
        assert same_size.text == f"{held}\n"

    # ... then larger.
    append_sources(forked.ledger, forked.writer_key(), [50, 51])
    larger = forked.ledger.checkpoint()
    assert larger.size > held
    for witness in witnesses:
        assert _submit(witness.url, 0, forked).status_code == 409
        # With its own consistency proof from the size they hold, the proof fails.
        assert _submit(witness.url, held, forked).status_code == 422

    # Nothing cosigned the fork: the policy rejects it bare, and with the honest
    # cosignatures grafted on.
    with pytest.raises(QuorumNotMet):
        verify_cosignatures(larger.note, log, policy)
    same_size_fork = fork_point.note + "".join(s.to_line() for s in note.signatures[1:])
    with pytest.raises(SignatureError):
        verify_cosignatures(same_size_fork, log, policy)

    # A witness restarted on its state still holds the honest size, and the honest log
    # goes on advancing through all three.
    _stop(witnesses[0].proc)
    witnesses[0].proc, witnesses[0].url = _start(witnesses[0].config, witnesses[0].state)
    assert _submit(witnesses[0].url, 0, forked).text == f"{held}\n"
    append_sources(ledger, writer, [3, 4, 5])
    final = _cosign(witnesses, held, honest)
    assert verify_cosignatures(final, log, policy).checkpoint.size > held


def test_keygen_and_vkey_commands(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "w.pem"
    made = run_cli(tmp_path, "witness", "keygen", "--name", "w.example/one", "--key", str(key))
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    log_vkey = Verifier.from_public_key("a.example/log", Ed25519PrivateKey.generate().public_key())
    config = tmp_path / "witness.toml"
    config.write_text(
        'name = "w.example/one"\nkey = "keys/w.pem"\n\n[[log]]\norigin = "a.example/log"\n'
        f'keys = ["{log_vkey.key_text()}"]\n'
    )
    shown = run_cli(tmp_path, "witness", "vkey", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == made.stdout
    assert CosignerKey.from_vkey(shown.stdout.strip()).name == "w.example/one"
    config.write_text(config.read_text().replace(log_vkey.key_text().split("+")[1], "00000000"))
    refused = run_cli(tmp_path, "witness", "vkey", "--config", str(config))
    assert refused.returncode == 1 and "witness config" in refused.stderr
    again = run_cli(tmp_path, "witness", "keygen", "--name", "w.example/one", "--key", str(key))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
