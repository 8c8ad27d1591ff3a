"""The claims-ledger command: in this process through ``run_main`` (``tests.helpers.run_cli``)
and, for a fresh home set up and run twice, as a separate process the way a user runs it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ledger.config import Settings
from ledger.entries import Body, sign_body
from ledger.instance import open_instance
from tests.helpers import (
    ROOT,
    add_source_with_claims,
    run_cli,
    run_cli_process,
    seed_claims,
    source_bytes,
    source_payload,
)

SEED_CLAIMS = len(seed_claims())
SEED_ENTRIES = 3 + SEED_CLAIMS  # two keys registered, the seed source, its claims


def cli(
    home: Path, *args: str, ok: bool = True, process: bool = False
) -> subprocess.CompletedProcess[str]:
    proc = (run_cli_process if process else run_cli)(home, *args)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def test_run_on_a_fresh_home_creates_keys_ledger_and_ingests_the_seed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = cli(home, "run", "--no-serve", process=True)
    assert f"1 sources added with {SEED_CLAIMS} claims," in first.stdout
    assert (home / "ledger.sqlite3").exists()
    assert sorted(p.name for p in (home / "keys").iterdir()) == [
        "ingest.key.pem",
        "log.key.pem",
        "passphrase",
    ]
    db = sqlite3.connect(home / "ledger.sqlite3")
    kinds = [row[0] for row in db.execute("SELECT kind FROM entries ORDER BY seq")]
    assert (
        kinds
        == ["key.registered", "key.registered", "source.registered"]
        + ["claim.extracted"] * SEED_CLAIMS
    )
    seed_sha = db.execute("SELECT sha256 FROM sources").fetchone()[0]
    db.close()
    import hashlib

    assert (
        seed_sha
        == hashlib.sha256((ROOT / "seeds" / "000_9738ca0b5516d57a.txt").read_bytes()).hexdigest()
    )
    second = cli(home, "run", "--no-serve", process=True)
    assert "0 sources added with 0 claims, 1 already present" in second.stdout
    assert f"entries {SEED_ENTRIES}" in second.stdout
    assert f"ok {SEED_ENTRIES} entries verified" in cli(home, "verify").stdout


def test_keys_create_list_and_revoke(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = cli(home, "keys", "create", "alice", "--role", "reviewer").stdout
    assert "registered at entry 2" in created
    listing = cli(home, "keys", "list").stdout
    assert "alice" in listing and "reviewer" in listing
    key_id = created.split()[2]
    assert (
        "revoked at entry 3"
        in cli(home, "keys", "revoke", key_id, "--reason", "left the desk").stdout
    )
    bad = cli(home, "keys", "create", "bob", "--role", "owner", ok=False)
    assert bad.returncode != 0 and "unknown role" in bad.stderr + bad.stdout
    # A revoked key keeps its name; a refused name leaves no key file behind.
    (home / "keys" / "alice.key.pem").unlink()
    again = cli(home, "keys", "create", "alice", "--role", "writer", ok=False)
    assert again.returncode == 1 and "key name 'alice' is already registered" in again.stderr
    assert not (home / "keys" / "alice.key.pem").exists()
    listing = cli(home, "keys", "list").stdout
    assert [line for line in listing.splitlines() if line.startswith("alice ")] == [
        "alice  roles reviewer"
    ]
    assert "no local key file" in listing


def test_claim_revision_history_through_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ledger.sqlite3'}")
    instance = open_instance(settings)
    [claim_id] = add_source_with_claims(instance.ledger, instance.writer_key(), 1, claims=1)
    instance.close()
    cli(
        home,
        "claim",
        "revise",
        claim_id,
        "--statement",
        "About 6,700 containers.",
        "--reason",
        "ministry correction",
    )
    cli(
        home,
        "claim",
        "review",
        claim_id,
        "--rating",
        "Mostly true",
        "--value",
        "4",
        "--best",
        "5",
        "--worst",
        "1",
    )
    cli(home, "claim", "retract", claim_id, "--reason", "withdrawn")
    history = cli(home, "claim", "history", claim_id).stdout
    for kind in ("claim.extracted", "claim.revised", "claim.reviewed", "claim.retracted"):
        assert kind in history
    shown = cli(home, "claim", "show", claim_id).stdout
    assert '"status": "retracted"' in shown and "About 6,700 containers." in shown
    again = cli(home, "claim", "retract", claim_id, "--reason", "twice", ok=False)
    assert again.returncode == 1 and "retracted" in again.stderr


def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "init")
    good = tmp_path / "good.txt"
    good.write_text("A perfectly fine article about 7,000 containers.")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    failed = cli(home, "ingest", str(good), str(binary), ok=False)
    assert failed.returncode == 1
    assert "binary" in failed.stderr
    assert "entries 2" in cli(home, "status").stdout  # the good file was not ingested either


def test_claims_lists_with_filters(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    everything = cli(home, "claims").stdout
    assert f"{SEED_CLAIMS} claims" in everything and "Shin Won-shik" in everything
    found = cli(home, "claims", "--search", "7,000", "--claimant", "shin").stdout
    assert "1 claims" in found and "containers" in found
    assert "0 claims" in cli(home, "claims", "--status", "retracted").stdout
    bad = cli(home, "claims", "--status", "gone", ok=False)
    assert bad.returncode != 0
    today = dt.datetime.now(dt.UTC).date()
    yesterday, tomorrow = (today + dt.timedelta(days=d) for d in (-1, 1))
    dated = cli(
        home,
        "claims",
        "--published-from",
        "2024-03-20",
        "--published-to",
        "2024-03-20",
        "--recorded-from",
        yesterday.isoformat(),
        "--recorded-to",
        tomorrow.isoformat(),
    ).stdout
    assert f"{SEED_CLAIMS} claims" in dated
    assert "0 claims" in cli(home, "claims", "--published-to", "2024-03-19").stdout
    assert "0 claims" in cli(home, "claims", "--recorded-to", "2020-01-01").stdout
    wrong = cli(home, "claims", "--recorded-from", "2024-13-01", ok=False)
    assert wrong.returncode == 1 and "recorded_from must be a date YYYY-MM-DD" in wrong.stderr
    assert "0 claims" in cli(home, "claims", "--as-of", "2").stdout  # keys only then
    ordered = cli(
        home, "claims", "--order-by", "score", "--desc", "--as-of", str(SEED_ENTRIES)
    ).stdout
    assert f"{SEED_CLAIMS} claims" in ordered
    assert cli(home, "claims", "--as-of", "999", ok=False).returncode == 1
    assert cli(home, "claims", "--order-by", "nope", ok=False).returncode != 0
    empty = cli(home, "claims", "--search", "!!", ok=False)
    assert empty.returncode == 1 and "no word to look for" in empty.stderr


def test_verify_and_rebuild_find_a_tampered_projection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("UPDATE sources SET publisher = 'Forged Times'")
    db.commit()
    db.close()
    failed = cli(home, "verify", ok=False)
    assert failed.returncode == 2 and "projections differ" in failed.stderr
    check = cli(home, "rebuild", "--check", ok=False)
    assert check.returncode == 1 and "publisher is 'Forged Times'" in check.stdout
    assert "repaired 1 differences" in cli(home, "rebuild").stdout
    assert f"ok {SEED_ENTRIES} entries verified" in cli(home, "verify").stdout


@pytest.mark.parametrize("edit", ["payload", "payload-as-text", "delete"])
def test_verify_names_the_first_bad_entry_after_tampering_with_the_log(
    tmp_path: Path, edit: str
) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("DROP TRIGGER entries_no_delete")
    if edit.startswith("payload"):  # published 2024-03-20 -> 2024-03-21
        new = "replace(data, X'323032342d30332d3230', X'323032342d30332d3231')"
        if edit == "payload":
            new = f"CAST({new} AS BLOB)"
        db.execute(f"UPDATE entries SET data = {new} WHERE seq = 2")
        expected = "entry 2: signature"
    else:
        db.execute("DELETE FROM entries WHERE seq = 1")
        expected = "entry 1 is missing"
    db.commit()
    db.close()
    failed = cli(home, "verify", ok=False)
    assert failed.returncode == 2
    assert expected in failed.stderr


def test_checkpoint_prove_export_and_offline_verify(tmp_path: Path) -> None:
    from ledger import merkle
    from ledger.checkpoint import parse_verifier_key, verify_checkpoint, verify_proof_file

    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    note = cli(home, "checkpoint").stdout
    listing = cli(home, "keys", "list").stdout
    vkey = next(
        line.split()[1] for line in listing.splitlines() if "verifier  claims-ledger/local+" in line
    )
    verifier = parse_verifier_key(vkey)
    checkpoint = verify_checkpoint(note, verifier, "claims-ledger/local")
    assert checkpoint.size == SEED_ENTRIES
    assert cli(home, "checkpoint", "--size", "2").stdout != note
    proof = cli(home, "prove", "2").stdout
    db = sqlite3.connect(home / "ledger.sqlite3")
    leaf = bytes.fromhex(db.execute("SELECT hash FROM entries WHERE seq = 2").fetchone()[0])
    db.close()
    assert verify_proof_file(proof, merkle.Hash(leaf), verifier).index == 2

    bundle = tmp_path / "bundle"
    assert (
        f"exported {SEED_ENTRIES} entries and 1 sources" in cli(home, "export", str(bundle)).stdout
    )
    other = tmp_path / "elsewhere"  # a verifier with no ledger of its own
    ok = cli(other, "verify", "--bundle", str(bundle), "--log-key", vkey)
    assert f"ok {SEED_ENTRIES} entries verified" in ok.stdout
    assert not other.exists()  # no database was created or needed
    old = tmp_path / "old-checkpoint.txt"
    old.write_text(cli(home, "checkpoint", "--size", "2").stdout)
    assert (
        "ok"
        in cli(
            other, "verify", "--bundle", str(bundle), "--log-key", vkey, "--checkpoint", str(old)
        ).stdout
    )
    wrong = cli(
        other, "verify", "--bundle", str(bundle), "--log-key", vkey.replace("A", "B", 1), ok=False
    )
    assert wrong.returncode != 0


def test_every_verification_failure_exits_2(tmp_path: Path) -> None:
    """docs/verification.md, docs/formats/bundle.md and docs/operations.md: verify exits 2
    on the first problem. Malformed bytes (a bundle file, a stored or a kept checkpoint
    note) used to leave as plain errors with status 1."""
    home, other = tmp_path / "home", tmp_path / "elsewhere"
    cli(home, "run", "--no-serve")
    listing = cli(home, "keys", "list").stdout
    vkey = next(
        line.split()[1] for line in listing.splitlines() if "verifier  claims-ledger/local+" in line
    )
    bundle = tmp_path / "bundle"
    cli(home, "export", str(bundle))
    old = tmp_path / "old.txt"
    old.write_bytes(cli(home, "checkpoint", "--size", "2").stdout.encode().replace(b"\n", b"\r\n"))

    def fails(where: Path, *args: str, expected: str) -> None:
        done = cli(where, "verify", *args, ok=False)
        assert done.returncode == 2, done.stderr
        assert "verification failed:" in done.stderr and expected in done.stderr

    fails(home, "--checkpoint", str(old), expected="carriage return")
    fails(home, "--checkpoint", str(tmp_path / "missing.txt"), expected="cannot read it")
    entries = (bundle / "entries.jsonl").read_bytes()
    (bundle / "entries.jsonl").write_bytes(entries[:-1])
    fails(other, "--bundle", str(bundle), "--log-key", vkey, expected="no final newline")
    (bundle / "entries.jsonl").write_bytes(entries)
    note = (bundle / "checkpoint.txt").read_bytes()
    (bundle / "checkpoint.txt").write_bytes(note.replace(b"\n", b"\r\n"))
    fails(other, "--bundle", str(bundle), "--log-key", vkey, expected="carriage return")
    (bundle / "checkpoint.txt").write_text("not a note\n")
    fails(other, "--bundle", str(bundle), "--log-key", vkey, expected="checkpoint.txt: note has")
    (bundle / "checkpoint.txt").write_bytes(note)
    assert (
        f"ok {SEED_ENTRIES} entries"
        in cli(other, "verify", "--bundle", str(bundle), "--log-key", vkey).stdout
    )
    usage = cli(other, "verify", "--bundle", str(bundle), "--log-key", "nonsense", ok=False)
    assert usage.returncode == 4 and "--log-key" in usage.stderr  # usage, not verification
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("DROP TRIGGER checkpoints_no_update")
    db.execute("UPDATE checkpoints SET note = 'garbage' WHERE size = 2")
    db.commit()
    db.close()
    fails(home, expected="checkpoint at tree size 2: its note is malformed")


def test_export_says_which_entries_no_checkpoint_covers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("DROP TRIGGER checkpoints_no_delete")
    db.execute("DELETE FROM checkpoints WHERE size > 2")
    db.commit()
    db.close()
    failed = cli(home, "verify", ok=False)
    assert failed.returncode == 2
    last = SEED_ENTRIES - 1
    assert (
        f"entries 2 to {last} ({SEED_ENTRIES - 2} of {SEED_ENTRIES}) are not covered"
        " by any signed checkpoint" in failed.stderr
    )
    done = cli(home, "export", str(tmp_path / "bundle"))
    assert "exported 2 entries" in done.stdout
    assert (
        f"left out {SEED_ENTRIES - 2} entries (seq 2 to {last}): no signed checkpoint covers them"
        in done.stderr
    )


def test_a_log_without_any_checkpoint_is_verified_with_a_warning(tmp_path: Path) -> None:
    """As a ledger written before checkpoints existed looks (schema 0001, upgraded)."""
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("DROP TRIGGER checkpoints_no_delete")
    db.execute("DELETE FROM checkpoints")
    db.commit()
    db.close()
    done = cli(home, "verify")
    assert f"ok {SEED_ENTRIES} entries verified; 0 checkpoints" in done.stdout
    assert (
        f"warning: no signed checkpoint covers entries 0 to {SEED_ENTRIES - 1} ({SEED_ENTRIES})"
        in done.stderr
    )


def test_submit_a_source_signed_elsewhere_only_with_its_bytes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ledger.sqlite3'}")
    instance = open_instance(settings)
    head, writer = instance.ledger.head(), instance.writer_key()
    body = Body(
        instance.ledger.origin,
        head.size,
        head.last_hash,
        head.last_ts or "",
        "source.registered",
        writer.key_id,
        source_payload(3),
    )
    instance.close()
    entry = tmp_path / "entry.json"
    entry.write_bytes(sign_body(body, writer).data + b"\n")
    document, other = tmp_path / "article.txt", tmp_path / "other.txt"
    document.write_bytes(source_bytes(3))
    other.write_bytes(source_bytes(4))
    missing = cli(home, "submit", str(entry), ok=False)
    assert missing.returncode == 1 and "only with the source's bytes" in missing.stderr
    wrong = cli(home, "submit", str(entry), "--source", str(other), ok=False)
    assert wrong.returncode == 1 and "its bytes hash to" in wrong.stderr
    assert "entries 2" in cli(home, "status").stdout
    done = cli(home, "submit", str(entry), "--source", str(document))
    assert "entry 2 appended (source.registered)" in done.stdout
    cli(home, "verify")
