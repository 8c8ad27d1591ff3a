"""docs/examples/independent_verifier.py, a verifier written from the docs alone, against a
real server on 127.0.0.1: a ledger built with the CLI (sources, claims, a revision, reviews,
a retraction, a key registered and revoked, a log key rotation, a claimant link) passes;
copies of it tampered in the database (an entry byte, a projection field, a claim's last
entry dropped, a checkpoint root re-signed by the log key, a source byte) fail with exit
status 2, naming the place; a head checkpoint missing a required witness cosignature too.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import given
from hypothesis import strategies as st

from ledger.config import Settings
from tests.api.conftest import launch
from tests.conftest import SEED, postgres_schema
from tests.e2e.test_witnessed_log import (
    INGEST,
    Served,
    _log_vkey,
    _served_note,
    _stop,
    setup,  # noqa: F401  (the fixture: a ledger and its three witnesses)
)
from tests.helpers import ROOT, run_cli

VERIFIER = ROOT / "docs" / "examples" / "independent_verifier.py"
PW = {"LEDGER_KEY_PASSPHRASE": "pw"}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("independent_verifier", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load()


def cli(home: Path, *args: str, **env: str) -> str:
    done = run_cli(home, *args, **PW, **env)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def build(base: Path, **env: str) -> tuple[Path, dict[str, str]]:
    """A ledger holding every kind of entry the CLI writes; its log ends with a review.
    ``env``: LEDGER_DATABASE_URL for PostgreSQL (else SQLite in the home)."""
    home, docs = base / "home", base / "docs"
    docs.mkdir()
    (docs / "grain.md").write_text(
        "# Grain exports rise\n\nAgriculture Minister Ana Lopez said on Friday that the country "
        "exported more than 12,000 tons of wheat in March.\n\nThe ministry's annual report "
        "estimates that about 40 percent of farms now use irrigation.\n"
    )
    (docs / "beds.txt").write_text(
        "Health Minister Maria Chen said on Wednesday that 350 new hospital beds would open."
    )

    def run(*args: str) -> str:
        return cli(home, *args, **env)

    def keys() -> dict[str, str]:
        listed = json.loads(run("keys", "list", "--json"))["keys"]
        return {k["name"]: k["verifier_key"] for k in listed}

    run("ingest", str(SEED))
    run("ingest", str(docs / "grain.md"))
    ids = [c["claim_id"] for c in json.loads(run("claims", "--json"))["claims"]]
    (first, second, _, fourth), grain = ids[:4], ids[4:]
    run("claim", "revise", first, "--statement", "North Korea sent about 7,000 containers.",
        "--reason", "shorter")  # fmt: skip
    run("claim", "review", first, "--rating", "Mostly true", "--value", "4", "--best", "5",
        "--worst", "1")  # fmt: skip
    run("claim", "retract", fourth, "--reason", "not a claim")
    run("keys", "create", "alice", "--role", "reviewer")
    run("claim", "review", second, "--rating", "True", "--key", "alice")
    run("keys", "revoke", "alice", "--reason", "left")
    old = keys()["log"]
    run("keys", "rotate-log", "--reason", "yearly")
    run("ingest", str(docs / "beds.txt"))
    run("link", second, grain[0], "--reason", "same desk", "--key", "log-2")
    run("claim", "review", grain[1], "--rating", "False", "--key", "log-2")
    run("verify")
    return home, {"old": old, "new": keys()["log-2"], "last_claim": grain[1], "first": first}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return build(tmp_path_factory.mktemp("independent"))


def copy_of(home: Path, to: Path) -> Path:
    shutil.copytree(home, to)
    return to


@pytest.fixture
def served() -> Iterator[Callable[[Path], str]]:
    procs: list[subprocess.Popen[bytes]] = []

    def serve(home: Path, db_url: str | None = None) -> str:
        proc, url = launch(home, db_url or f"sqlite:///{home / 'ledger.sqlite3'}")
        procs.append(proc)
        return url

    yield serve
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def run_verifier(url: str, vkey: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = verifier.main([url, vkey])
    out = capsys.readouterr()
    return code, out.out + out.err


def edit(home: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    db = sqlite3.connect(home / "ledger.sqlite3")
    with db:
        for i, sql in enumerate(statements):
            db.execute(sql, params if i == len(statements) - 1 else ())
    db.close()


def test_an_honest_ledger_passes_under_the_old_and_the_new_log_key(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, keys = ledger
    url = served(home)
    for vkey in (keys["old"], keys["new"]):
        code, out = run_verifier(url, vkey, capsys)
        assert code == 0, out
        assert "ok 21 entries" in out and "7 claims" in out and "3 sources" in out, out


def test_a_key_of_another_log_is_refused(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, _ = ledger
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    kid = verifier.note_key_id("claims-ledger/local", 1, public).hex()
    typed = base64.b64encode(bytes([1]) + public).decode()
    stranger = f"claims-ledger/local+{kid}+{typed}"
    code, out = run_verifier(served(home), stranger, capsys)
    assert code == 2 and "not one of this log's log keys" in out, out


def test_one_entry_byte_changed_is_named(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, keys = ledger
    copy = copy_of(home, tmp_path / "copy")
    db = sqlite3.connect(copy / "ledger.sqlite3")
    data = bytes(db.execute("SELECT data FROM entries WHERE seq = 10").fetchone()[0])
    db.close()
    forged = data.replace(b"about 7,000", b"about 8,000")
    assert forged != data
    edit(
        copy,
        "DROP TRIGGER entries_no_update",
        "UPDATE entries SET data = ? WHERE seq = 10",
        params=(forged,),
    )
    code, out = run_verifier(served(copy), keys["old"], capsys)
    assert code == 2 and "entry 10" in out, out


def test_a_projection_field_changed_is_named(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, keys = ledger
    copy = copy_of(home, tmp_path / "copy")
    edit(
        copy,
        "UPDATE claims SET statement = 'North Korea sent 70,000 containers.' WHERE claim_id = ?",
        params=(keys["first"],),
    )
    code, out = run_verifier(served(copy), keys["new"], capsys)
    assert code == 2 and f"claim {keys['first']}: statement is" in out, out


def test_the_last_entry_of_a_claim_dropped_is_named(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The log's last entry (a review) removed with its checkpoint, tree nodes and map write:
    what is left is a consistent, signed log of 20 entries, but the claim still shows the review."""
    home, keys = ledger
    copy = copy_of(home, tmp_path / "copy")
    edit(
        copy,
        "DROP TRIGGER entries_no_delete",
        "DROP TRIGGER checkpoints_no_delete",
        "DROP TRIGGER tree_nodes_no_delete",
        "DROP TRIGGER state_map_leaves_no_delete",
        "DELETE FROM checkpoints WHERE size = 21",
        "DELETE FROM state_map_leaves WHERE seq = 20",
        "DELETE FROM entries WHERE seq = 20",
    )
    code, out = run_verifier(served(copy), keys["new"], capsys)
    assert code == 2 and f"claim {keys['last_claim']}:" in out, out


def test_a_checkpoint_root_re_signed_by_the_log_key_is_named(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, keys = ledger
    copy = copy_of(home, tmp_path / "copy")
    db = sqlite3.connect(copy / "ledger.sqlite3")
    note = db.execute("SELECT note FROM checkpoints WHERE size = 21").fetchone()[0]
    db.close()
    lines = note.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    text = "\n".join(lines[:4]) + "\n"
    key = load_pem_private_key((copy / "keys" / "log-2.key.pem").read_bytes(), b"pw")
    assert isinstance(key, Ed25519PrivateKey)
    public = key.public_key().public_bytes_raw()
    signature = verifier.note_key_id("claims-ledger/local", 1, public) + key.sign(text.encode())
    forged = f"{text}\n\u2014 claims-ledger/local {base64.b64encode(signature).decode()}\n"
    edit(
        copy,
        "DROP TRIGGER checkpoints_no_update",
        "UPDATE checkpoints SET note = ?, root = ? WHERE size = 21",
        params=(forged, bytes(32)),
    )
    code, out = run_verifier(served(copy), keys["new"], capsys)
    assert code == 2 and "/checkpoint: its root" in out and "first 21 entries" in out, out


def test_a_source_byte_changed_is_named(
    ledger: tuple[Path, dict[str, str]],
    served: Callable[[Path], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, keys = ledger
    copy = copy_of(home, tmp_path / "copy")
    db = sqlite3.connect(copy / "ledger.sqlite3")
    rows = db.execute("SELECT sha256, data FROM source_blobs").fetchall()
    sha, data = next((s, d) for s, d in rows if b"350 new" in bytes(d))
    db.close()
    forged = bytes(data).replace(b"350 new", b"530 new")
    edit(
        copy,
        "DROP TRIGGER source_blobs_no_update",
        "UPDATE source_blobs SET data = ? WHERE sha256 = ?",
        params=(forged, sha),
    )
    code, out = run_verifier(served(copy), keys["new"], capsys)
    assert code == 2 and f"source {sha} (entry 17): its raw bytes do not hash to it" in out, out


def test_witness_cosignatures_are_checked(
    setup: tuple[Settings, list[Served], str],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three witnesses cosign the head: verified with all three; once one is stopped and an
    entry appended, the head lacks its cosignature and the verifier names it."""
    settings, witnesses, token = setup
    witnesses_file = (tmp_path / "witnesses.path").read_text()
    proc, url = launch(
        settings.home, settings.database_url, env={"LEDGER_WITNESSES": witnesses_file}
    )
    try:
        _served_note(url, 1 + 3)
        key = _log_vkey(url)
        vkeys = [w.vkey.vkey() for w in witnesses]
        argv = [url, key, *[arg for v in vkeys for arg in ("--witness", v)]]
        assert verifier.main(argv) == 0, capsys.readouterr().err
        _stop(witnesses[2].proc)
        answer = httpx.post(
            f"{url}/graphql",
            json={"query": INGEST, "variables": {"t": "The mayor said 12 bridges would close."}},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.json()["data"]["ingestSource"]["__typename"] == "SourceIngested"
        _served_note(url, 1 + 2)
        capsys.readouterr()
        assert verifier.main(argv) == 2
        name = vkeys[2].split("+")[0]
        assert f"/checkpoint: no cosignature from witness {name}" in capsys.readouterr().err
        assert verifier.main(argv[:-2]) == 0, capsys.readouterr().err
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _doc_blocks(name: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (ROOT / "docs" / name).read_text(), re.S)


def test_the_docs_worked_examples_pass_the_verifiers_own_checks() -> None:
    """entries.md's log (version 2 entries 0-2, then the rotation), its version 1 entry 0,
    merkle-and-checkpoints.md's checkpoint and state-map.md's proofs."""
    blocks = [b.strip().encode() for b in _doc_blocks("formats/entries.md", "json")]
    v2, v1_entry_0, rotation = blocks[:3], blocks[3], blocks[4]
    log = verifier.Log()
    for data in [*v2, rotation]:
        log.add(data)
    assert (
        log.leaves[-1].hex() == "0e16471303c7917663c0b4f6ae3473c51b38fe995434a383af2d99f038b017d9"
    )
    assert log.log_key_at(3) != log.log_key_at(4)
    old = verifier.Log()
    old.add(v1_entry_0)
    assert old.leaves[0].hex().startswith("a099200d")
    forged = verifier.Log()
    with pytest.raises(verifier.Failed, match="entry 0: signature does not verify"):
        forged.add(v2[0].replace(b'"name":"log"', b'"name":"lag"'))

    vkey = "claims-ledger/example+90e7248d+AUxDqoVuXkjMQK8SuztmqevZuR1RSMEGh0ySuwYiUzQa"
    name, public = verifier.parse_vkey(vkey, 1, "example key")
    note = next(
        b
        for b in _doc_blocks("formats/merkle-and-checkpoints.md", "")
        if b.startswith("claims-ledger/example\n5\n")
    )
    text = verifier.check_note(note, name, public, "example", [])
    leaves = [verifier.sha256(b"\x00" + f"example entry {i}".encode()) for i in range(5)]
    assert verifier.checkpoint_body(text, "example")[2] == verifier.roots(leaves)[5]

    state_map = (ROOT / "docs" / "formats" / "state-map.md").read_text()
    root = bytes.fromhex("c24b4b8081f128962243d64180b716c25a70dd0a91d6a7b71bee857c2272f6d6")
    proofs = re.findall(r"```\n((?:[0-9a-f]+\n)+)```", state_map)
    member, absent_empty, absent_other = (bytes.fromhex("".join(p.split())) for p in proofs[-3:])
    claim_1 = bytes.fromhex("26c3c9046d4cd9cdfe979fac61b3c211219cd732e88ef6af7cf7927b76dee461")
    tree = verifier.MapTree()
    for i in range(6):
        ns, subject = (1, f"example claim {i}") if i < 5 else (2, "example source 0")
        key = verifier.map_key(ns, verifier.sha256(subject.encode()))
        tree.set(key, verifier.sha256(f"example entry {i}".encode()))
    assert tree.root() == root
    value = verifier.verify_state_proof(claim_1, 1, member, root, "claim 1")
    assert value is not None and value.hex().startswith("41038cfb")
    for raw, proof in ((b"example claim 28", absent_empty), (b"example claim 6", absent_other)):
        assert verifier.verify_state_proof(verifier.sha256(raw), 1, proof, root, "absent") is None
    with pytest.raises(verifier.Failed, match="does not fold"):
        verifier.verify_state_proof(claim_1, 2, member, root, "claim 1 as a source")


@pytest.mark.postgres
def test_on_postgresql_an_honest_ledger_passes_and_a_projection_edit_is_named(
    served: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with postgres_schema() as db_url:
        home, keys = build(tmp_path, LEDGER_DATABASE_URL=db_url)
        url = served(home, db_url)
        code, out = run_verifier(url, keys["old"], capsys)
        assert code == 0 and "ok 21 entries" in out, out
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE claims SET statement = 'Forged.' WHERE claim_id = :c"),
                {"c": keys["first"]},
            )
        engine.dispose()
        code, out = run_verifier(url, keys["new"], capsys)
        assert code == 2 and f"claim {keys['first']}: statement is" in out, out


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162's MTH, as the spec writes it: the plain reference for `roots`."""
    if not leaves:
        return verifier.sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return verifier.node(_mth(leaves[:k]), _mth(leaves[k:]))


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=40))
def test_incremental_tree_roots_are_the_plain_mth(leaves: list[bytes]) -> None:
    assert verifier.roots(leaves) == [_mth(leaves[:n]) for n in range(len(leaves) + 1)]


# Keys drawn from few first bytes, so that many share long prefixes; values may overwrite.
_KEYS = st.builds(lambda head, tail: bytes([head]) + tail, st.sampled_from([0, 1, 0x80, 0xFF]),
                  st.binary(min_size=31, max_size=31))  # fmt: skip


@given(st.lists(st.tuples(_KEYS, st.binary(min_size=32, max_size=32)), max_size=40))
def test_the_incremental_state_map_has_the_plain_roots(writes: list[tuple[bytes, bytes]]) -> None:
    tree, latest = verifier.MapTree(), {}
    for key, value in writes:
        tree.set(key, value)
        latest[key] = value
        assert tree.root() == verifier.map_root(sorted(latest.items()))
