"""A served ledger configured with three `claims-ledger witness serve` processes, all on
127.0.0.1: appends made over the API get cosigned in the background, a witness that is
down slows no append and the other two still cosign, a client with a 2-of-3 policy
accepts the served checkpoint, and a fork of the log (same key, other entries) is refused
by the witnesses and fails that policy."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import SignedNote
from ledger.client import LedgerClient
from ledger.config import Settings
from ledger.cosignature import Cosigner, WitnessPolicy, verify_cosignatures
from ledger.cosigning import WitnessSettings, ask_all
from ledger.errors import QuorumNotMet
from ledger.instance import open_instance
from ledger.tokens import create_token
from ledger.witness import encode_private_key
from tests.api.conftest import launch
from tests.e2e.test_witness import Served, _launch, _stop, _wait
from tests.helpers import append_sources, run_cli

pytestmark = pytest.mark.slow

INGEST = "mutation($t: String!) { ingestSource(text: $t) { __typename } }"


def _signatures(note: str) -> int:
    return len(SignedNote.from_text(note).signatures)


def _served_note(url: str, signatures: int, timeout: float = 30) -> str:
    """/checkpoint once it carries ``signatures`` signature lines (the log's included)."""
    deadline = time.monotonic() + timeout
    note = ""
    while time.monotonic() < deadline:
        note = httpx.get(f"{url}/checkpoint", timeout=5).text
        if _signatures(note) >= signatures:
            return note
        time.sleep(0.1)
    pytest.fail(f"no {signatures} signatures on the served checkpoint in time: {note!r}")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Settings, list[Served], str]]:
    """The ledger's settings (with witnesses), the three witnesses, a writer token."""
    settings = Settings(
        home=tmp_path / "ledger", database_url=f"sqlite:///{tmp_path}/ledger.db", passphrase=b"pw"
    )
    instance = open_instance(settings)
    log_vkey = instance.ledger.log_verifier().key_text()
    token = create_token(instance.ledger.store, "writer", instance.writer_key())
    instance.close()
    served: list[Served] = []
    try:
        for n in range(3):
            folder = tmp_path / f"witness{n}"
            folder.mkdir()
            private = Ed25519PrivateKey.generate()
            (folder / "w.pem").write_bytes(encode_private_key(private))
            name = f"witness{n}.test/w"
            config = folder / "witness.toml"
            config.write_text(
                f'name = "{name}"\nkey = "w.pem"\n\n'
                f'[[log]]\norigin = "{settings.origin}"\nkeys = ["{log_vkey}"]\n'
            )
            proc, url = _launch(config, folder / "state")
            served.append(Served(url, Cosigner(name, private).key, config, folder / "state", proc))
        for witness in served:
            _wait(witness.proc, witness.url)
        witnesses = tmp_path / "witnesses.toml"
        witnesses.write_text(
            "quorum = 2\ntimeout = 2\nattempts = 2\n"
            + "".join(f'\n[[witness]]\nvkey = "{w.vkey.vkey()}"\nurl = "{w.url}"\n' for w in served)
        )
        settings = replace(settings, witnesses=WitnessSettings.load(witnesses))
        (tmp_path / "witnesses.path").write_text(str(witnesses))
        yield settings, served, token
    finally:
        for witness in served:
            if witness.proc.poll() is None:
                _stop(witness.proc)


def test_a_served_ledger_is_witnessed_and_its_fork_is_not(
    setup: tuple[Settings, list[Served], str], tmp_path: Path
) -> None:
    settings, witnesses, token = setup
    witnesses_file = (tmp_path / "witnesses.path").read_text()
    proc, url = launch(
        settings.home, settings.database_url, env={"LEDGER_WITNESSES": witnesses_file}
    )
    try:
        log_vkey = httpx.get(f"{url}/checkpoint").text.split("\n")[0]
        assert log_vkey == settings.origin
        policy = WitnessPolicy(tuple(w.vkey for w in witnesses), 2)
        auth = {"authorization": f"Bearer {token}"}

        def ingest(text: str) -> float:
            started = time.monotonic()
            answer = httpx.post(
                f"{url}/graphql",
                json={"query": INGEST, "variables": {"t": text}},
                headers=auth,
                timeout=30,
            )
            assert answer.json()["data"]["ingestSource"]["__typename"] == "SourceIngested"
            return time.monotonic() - started

        # The server catches up on start, and each append is cosigned by all three.
        _served_note(url, 1 + 3)
        ingest("The port authority said 40 ships docked on Monday.")
        note = _served_note(url, 1 + 3)
        verifier = LedgerClient(url, log_key=_log_vkey(url)).log_key
        cosigned = verify_cosignatures(note, verifier, policy)
        assert len(cosigned.cosignatures) == 3
        client = LedgerClient(url, log_key=_log_vkey(url), witness_policy=policy)
        first = client.checkpoint()
        assert first.size == cosigned.checkpoint.size

        # One witness down: appends stay fast, the other two cosign.
        _stop(witnesses[2].proc)
        took = ingest("The mayor said 12 bridges would close for repairs.")
        assert took < 5, f"an append took {took:.1f} s with a witness down"
        note = _served_note(url, 1 + 2)
        signed_by = {s.name for s in SignedNote.from_text(note).signatures[1:]}
        assert signed_by == {"witness0.test/w", "witness1.test/w"}
        assert client.checkpoint().size > first.size  # 2 of 3: accepted, and consistent
        with pytest.raises(QuorumNotMet) as refused:
            verify_cosignatures(note, verifier, replace(policy, quorum=3))
        assert refused.value.missing == (f"witness2.test/w+{witnesses[2].vkey.key_id.hex()}",)

        # The one-shot command asks now and reports who answered.
        asked = run_cli(
            settings.home,
            "witness",
            "ask",
            LEDGER_DATABASE_URL=settings.database_url,
            LEDGER_KEY_PASSPHRASE="pw",
            LEDGER_WITNESSES=witnesses_file,
        )
        assert asked.returncode == 0, asked.stderr
        assert "witness2.test/w: unreachable" in asked.stdout
        assert "cosigned by 2 of 3" in asked.stdout

        # A one-shot command's append is cosigned before the command exits.
        env = {
            "LEDGER_DATABASE_URL": settings.database_url,
            "LEDGER_KEY_PASSPHRASE": "pw",
            "LEDGER_WITNESSES": witnesses_file,
        }
        article = tmp_path / "article.txt"
        article.write_text("The council said on Friday that 300 homes lost power.\n")
        ingested = run_cli(settings.home, "ingest", str(article), **env)
        assert ingested.returncode == 0, ingested.stderr
        shown = run_cli(settings.home, "checkpoint", **env).stdout
        assert _signatures(shown) == 1 + 2
        assert shown == httpx.get(f"{url}/checkpoint").text
        claim_id = httpx.post(
            f"{url}/graphql", json={"query": "{ claims(first: 1) { edges { node { claimId } } } }"}
        ).json()["data"]["claims"]["edges"][0]["node"]["claimId"]
        verified = client.verify_claim(claim_id)  # its provenance checkpoint: 2 of 3 too
        assert verified.checkpoint.size == int(shown.split("\n")[1])
        strict = LedgerClient(url, log_key=_log_vkey(url), witness_policy=replace(policy, quorum=3))
        with pytest.raises(QuorumNotMet):
            strict.verify_claim(claim_id)

        # Bundles carry the cosignatures; verify enforces a policy on them.
        bundle = tmp_path / "bundle"
        assert run_cli(settings.home, "export", str(bundle), **env).returncode == 0
        vkeys = [arg for w in witnesses for arg in ("--witness", w.vkey.vkey())]
        args = ["verify", "--bundle", str(bundle), "--log-key", _log_vkey(url), *vkeys]
        assert run_cli(settings.home, *args, "--quorum", "2").returncode == 0
        all_three = run_cli(settings.home, *args)
        assert all_three.returncode == 2 and "missing: witness2.test/w" in all_three.stderr
        local = run_cli(settings.home, "verify", *vkeys, "--quorum", "2", **env)
        assert local.returncode == 0, local.stderr
        held = cosigned.checkpoint.size
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            print(proc.stderr.read().decode()[-5000:])

    # A fork: the same origin and log key (its key files copied), other entries.
    home = tmp_path / "forked"
    shutil.copytree(settings.keys_dir, home / "keys")
    forked_settings = replace(
        settings, home=home, database_url=f"sqlite:///{tmp_path}/forked.db", witnesses=None
    )
    forked = open_instance(forked_settings)
    try:
        append_sources(forked.ledger, forked.writer_key(), range(20, 20 + held))
        assert settings.witnesses is not None
        results = ask_all(forked.ledger, settings.witnesses)
        assert {r.witness: r.outcome for r in results} == {
            "witness0.test/w": "refused",
            "witness1.test/w": "refused",
            "witness2.test/w": "unreachable",
        }
        fork_note = forked.ledger.cosigned_note()
        assert _signatures(fork_note) == 1  # nothing was stored for it
        with pytest.raises(QuorumNotMet):
            verify_cosignatures(fork_note, forked.ledger.log_verifier(), policy)
    finally:
        forked.close()


def _log_vkey(url: str) -> str:
    keys = httpx.post(
        f"{url}/graphql", json={"query": "{ keys { registeredSeq verifierKey } }"}
    ).json()["data"]["keys"]
    return str(next(k["verifierKey"] for k in keys if k["registeredSeq"] == 0))
