"""docs/operations.md, "Rotating keys", end to end: a new key is
registered, signs; the old one is revoked and refused from then on; everything it signed
before stays valid, for `claims-ledger verify` and for the verifying client over HTTP.
The log key is rotated by its own block (`keys rotate-log`), which a client that pinned
the old key follows.

Both signing paths are rotated: the CLI's ingestion key (LEDGER_WRITER_KEY names it) and
an API writer (a bearer token is bound to a key: a new token for the new key)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ledger.client import LedgerClient
from ledger.config import Settings
from ledger.errors import ConfigError
from tests.api.conftest import launch
from tests.helpers import ROOT, run_cli, source_bytes

PW = {"LEDGER_KEY_PASSPHRASE": "pw"}
RETRACT = """mutation($c: String!, $f: String!) {
  retractClaim(claimId: $c, follows: $f, reason: "rotation test") { __typename } }"""


def cli(home: Path, *args: str, ok: bool = True, **env: str) -> str:
    """stdout (a token, a listing) if it should succeed, stderr (the error) if not."""
    done = run_cli(home, *args, **PW, **env)
    assert (done.returncode == 0) == ok, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout if ok else done.stderr


def key_ids(home: Path) -> dict[str, str]:
    listing = cli(home, "keys", "list")
    return dict(re.findall(r"^(\S+)\s+roles .*\n\s+key id\s+([0-9a-f]{64})", listing, re.M))


def log_vkey(home: Path) -> str:
    found = re.search(r"verifier\s+(claims-ledger/local\+\S+)", cli(home, "keys", "list"))
    assert found
    return found.group(1)


def signers(home: Path) -> list[str]:
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT signer FROM entries ORDER BY seq")]


def article(tmp_path: Path, n: int) -> str:
    path = tmp_path / f"article-{n}.txt"
    path.write_bytes(source_bytes(n))
    return str(path)


def test_writer_key_setting_is_checked() -> None:
    assert Settings.from_env({"LEDGER_HOME": "/tmp/x"}).writer_key_name == "ingest"
    assert (
        Settings.from_env({"LEDGER_HOME": "/x", "LEDGER_WRITER_KEY": "ingest-2"}).writer_key_name
        == "ingest-2"
    )
    for bad in ("Ingest", "../keys", "log", "a b"):
        with pytest.raises(ConfigError, match="LEDGER_WRITER_KEY"):
            Settings.from_env({"LEDGER_HOME": "/x", "LEDGER_WRITER_KEY": bad})


def test_rotating_the_ingestion_key_and_an_api_writer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    old = key_ids(home)["ingest"]
    old_token = cli(home, "tokens", "create", "api-old", "--key", "ingest").strip()
    assert old_token and " " not in old_token

    # 1. A new key, registered (signed by the log key) before the old one goes.
    cli(home, "keys", "create", "ingest-2", "--role", "writer")
    new = key_ids(home)["ingest-2"]
    cli(home, "ingest", article(tmp_path, 1))  # the old key still signs meanwhile
    signed_by_old = len(signers(home))

    # 2. Revoke the old key: from the next entry on it is refused, on every path.
    cli(home, "keys", "revoke", old, "--reason", "rotated: yearly key change")
    before = signers(home)
    refused = cli(home, "ingest", article(tmp_path, 2), ok=False)
    assert "revoked" in refused.lower()
    assert signers(home) == before  # nothing written

    # 3. The new key signs ingestion (LEDGER_WRITER_KEY) and API writes (a new token).
    cli(home, "ingest", article(tmp_path, 2), LEDGER_WRITER_KEY="ingest-2")
    assert signers(home)[-1] == new
    new_token = cli(home, "tokens", "create", "api-new", "--key", "ingest-2").strip()
    cli(home, "tokens", "revoke", "api-old")

    # 4. `verify` passes: the old key's entries stay valid, checked against the key as
    # it was when they were signed.
    verified = cli(home, "verify")
    assert verified.startswith("ok ")
    assert signers(home)[:signed_by_old].count(old) >= 2

    proc, url = launch(home, f"sqlite:///{home / 'ledger.sqlite3'}")
    try:
        claims = httpx.post(
            f"{url}/graphql",
            json={"query": "{ claims(first: 100) { edges { node { claimId head } } } }"},
            timeout=10,
        ).json()["data"]["claims"]["edges"]
        first, last = claims[0]["node"], claims[-1]["node"]

        def retract(token: str, node: dict[str, str]) -> dict[str, object]:
            return httpx.post(
                f"{url}/graphql",
                json={"query": RETRACT, "variables": {"c": node["claimId"], "f": node["head"]}},
                headers={"authorization": f"Bearer {token}"},
                timeout=10,
            ).json()

        assert retract(old_token, first)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
        changed = retract(new_token, first)
        assert changed["data"] == {"retractClaim": {"__typename": "ClaimChanged"}}, changed

        # 5. The verifying client, pinning the log key: the whole log, and claims signed
        # by the old key (before its revocation) and by the new one.
        client = LedgerClient(url, log_key=log_vkey(home))
        report = client.verify_log()
        assert report.entries == len(signers(home))
        old_claim = client.verify_claim(first["claimId"])
        new_claim = client.verify_claim(last["claimId"])
        assert {e.body.signer for e in old_claim.links} >= {old, new}  # extracted, retracted
        assert new in {e.body.signer for e in new_claim.links}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def rotation_block() -> str:
    """The command block of operations.md's "Rotating keys", as printed there."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Rotating keys", 1)[1]
    block = re.search(r"```\n(claims-ledger keys create.*?)```", section, re.S)
    assert block
    return block.group(1)


def test_the_documented_rotation_commands_run_as_printed(tmp_path: Path) -> None:
    """The block itself, run by bash; only `…` (a document) and `<old key id>` filled in,
    after a token `api-2026` bound to the old key."""
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    old = key_ids(home)["ingest"]
    cli(home, "tokens", "create", "api-2026", "--key", "ingest")
    block = rotation_block()
    assert block.count("…") == 1 and block.count("<old key id>") == 1
    script = block.replace("…", article(tmp_path, 7)).replace("<old key id>", old)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LEDGER_HOME": str(home), **PW},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\nok " in "\n" + done.stdout
    keys = cli(home, "keys", "list")
    assert re.search(
        r"^ingest  roles writer\n.*\n.*\n\s+registered at entry 1, revoked at", keys, re.M
    )
    new = key_ids(home)["ingest-2027"]
    assert signers(home)[-2:] != [old, old] and new in signers(home)


def log_rotation_block() -> str:
    """The log-key command block of operations.md's "Rotating keys", as printed there."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Rotating keys", 1)[1]
    block = re.search(r"```\n(claims-ledger keys list --json.*?)```", section, re.S)
    assert block
    return block.group(1)


def test_the_documented_log_key_rotation_runs_as_printed(tmp_path: Path) -> None:
    """The log-key block run by bash on a served ledger: a verifying client that pinned
    the old key before keeps verifying after, having followed the rotation, and a new
    append through the running server (which loaded the old key) is signed by the new one."""
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    cli(home, "ingest", article(tmp_path, 1))
    old_vkey = log_vkey(home)
    token = cli(home, "tokens", "create", "api", "--key", "ingest").strip()
    proc, url = launch(home, f"sqlite:///{home / 'ledger.sqlite3'}")
    try:
        state = tmp_path / "client.state"
        client = LedgerClient(url, log_key=old_vkey, state=state)
        client.sync()
        before = client.checkpoint().size
        # Make the server sign once with the old key, so it holds it in memory.
        mutation = "mutation($t: String!) { ingestSource(text: $t) { __typename } }"

        def ingest(text: str) -> None:
            answer = httpx.post(
                f"{url}/graphql",
                json={"query": mutation, "variables": {"t": text}},
                headers={"authorization": f"Bearer {token}"},
                timeout=30,
            ).json()
            assert "errors" not in answer, answer

        ingest("The port authority said 14 ships left on Monday.")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        shim = bin_dir / "claims-ledger"
        shim.write_text(
            f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n'
        )
        shim.chmod(0o755)
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + log_rotation_block()],
            env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LEDGER_HOME": str(home), **PW},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "log key rotated at entry" in done.stdout and "\nok " in done.stdout
        assert re.search(r"^log-2  roles admin,writer,reviewer,log$", done.stdout, re.M)
        before_keys = json.loads((tmp_path / "keys-before.json").read_text())["keys"]
        assert next(k for k in before_keys if k["name"] == "log")["verifier_key"] == old_vkey
        new_vkey = log_vkey_named(home, "log-2")
        ingest("The port authority said 15 ships left on Tuesday.")  # the server follows
        checkpoint = client.checkpoint()
        assert checkpoint.size > before
        assert client.log_key.key_text() == new_vkey
        assert client.sync().kinds["log.key.rotated"] == 1
        assert json.loads(state.read_text())["log_keys"] == [old_vkey, new_vkey]
        assert cli(home, "verify").startswith("ok ")
        # Refused: a name already taken (exit 1, one line, nothing written).
        entries = len(signers(home))
        done = run_cli(home, "keys", "rotate-log", "--name", "log-2", **PW)
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "already registered" in done.stderr and len(signers(home)) == entries
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def log_vkey_named(home: Path, name: str) -> str:
    listing = json.loads(cli(home, "keys", "list", "--json"))["keys"]
    return str(next(k["verifier_key"] for k in listing if k["name"] == name))


def test_rotate_log_refuses_without_the_passphrase_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    keys_dir = home / "keys"
    files = sorted(p.name for p in keys_dir.iterdir())
    entries = len(signers(home))
    done = run_cli(home, "keys", "rotate-log", "--reason", "no passphrase")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "LEDGER_KEY_PASSPHRASE" in done.stderr
    assert sorted(p.name for p in keys_dir.iterdir()) == files
    assert len(signers(home)) == entries
    rotated = json.loads(cli(home, "keys", "rotate-log", "--json"))
    assert rotated["new_key"]["name"] == "log-2" and rotated["old_key"]["revoked_seq"] == entries
    assert rotated["last_old_checkpoint"] == entries + 1
    assert "log-2.key.pem" in {p.name for p in keys_dir.iterdir()}
