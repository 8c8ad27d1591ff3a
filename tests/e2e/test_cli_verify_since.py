"""``claims-ledger verify --since STATE`` / ``--save-state FILE`` as a user runs them: a
full verify writes the state, ``--since`` checks only what is new and rewrites the state
only after success, and a failure exits 2 naming the entry or the state."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.helpers import run_cli, source_bytes


def cli(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = run_cli(home, *args)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def ingest_one(home: Path, tmp: Path, n: int) -> None:
    path = tmp / f"article-{n}.txt"
    path.write_bytes(source_bytes(n))
    cli(home, "ingest", str(path))


def head_size(home: Path) -> int:
    db = sqlite3.connect(home / "ledger.sqlite3")
    try:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
    finally:
        db.close()


def test_round_trip_full_then_incremental(tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "state.json"
    cli(home, "run", "--no-serve")
    first = head_size(home)
    full = cli(home, "verify", "--save-state", str(state))
    assert f"ok {first} entries verified" in full.stdout
    assert f"state at size {first} saved to {state}" in full.stdout
    saved = json.loads(state.read_text())
    assert (saved["size"], saved["entries_verified"]) == (first, True)
    assert len(saved["key_entries"]) == 2

    ingest_one(home, tmp_path, 1)
    second = head_size(home)
    assert second > first
    done = cli(home, "verify", "--since", str(state))
    assert (
        f"ok {second - first} new entries verified since the state at size {first}" in done.stdout
    )
    assert json.loads(state.read_text())["size"] == second
    # The same root as a full verify of the whole log.
    root = done.stdout.split("root ")[1].split()[0]
    assert f"root {root}" in cli(home, "verify").stdout
    # Nothing new: still a success, the state unchanged.
    before = state.read_text()
    again = cli(home, "verify", "--since", str(state))
    assert "ok 0 new entries verified" in again.stdout
    assert state.read_text() == before


def test_first_use_of_since_is_a_full_verify_that_writes_the_state(tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "new" / "state.json"
    cli(home, "run", "--no-serve")
    state.parent.mkdir()
    done = cli(home, "verify", "--since", str(state))
    assert f"ok {head_size(home)} entries verified" in done.stdout
    assert json.loads(state.read_text())["size"] == head_size(home)


def test_a_tampered_new_entry_fails_and_leaves_the_state_alone(tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "state.json"
    cli(home, "run", "--no-serve")
    cli(home, "verify", "--save-state", str(state))
    before = state.read_text()
    start = head_size(home)
    ingest_one(home, tmp_path, 2)
    db = sqlite3.connect(home / "ledger.sqlite3")
    db.execute("DROP TRIGGER entries_no_update")
    db.execute(  # the new source's size digit, in its signed bytes
        "UPDATE entries SET data = CAST(replace(data, X'2273697a65223a', X'2273697a65223a31') "
        "AS BLOB) WHERE seq = ?",
        (start,),
    )
    db.commit()
    db.close()
    failed = cli(home, "verify", "--since", str(state), ok=False)
    assert failed.returncode == 2
    assert f"entry {start}" in failed.stderr
    assert state.read_text() == before


def test_an_altered_state_file_is_refused(tmp_path: Path) -> None:
    home, state = tmp_path / "home", tmp_path / "state.json"
    cli(home, "run", "--no-serve")
    cli(home, "verify", "--save-state", str(state))
    saved = json.loads(state.read_text())
    saved["frontier"][0] = saved["frontier"][0][::-1]
    state.write_text(json.dumps(saved))
    failed = cli(home, "verify", "--since", str(state), ok=False)
    assert failed.returncode == 2
    assert "frontier" in failed.stderr


def test_since_refuses_bundle_and_size(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "init")
    usage = cli(home, "verify", "--since", str(tmp_path / "s.json"), "--size", "1", ok=False)
    assert usage.returncode == 4 and "--since and --save-state" in usage.stderr


def test_the_map_file_beside_the_state(tmp_path: Path) -> None:
    """``--save-state`` writes STATE.map, which ``--since`` uses to check the new
    checkpoints' claim-state map roots; a truncated one is refused (exit 2, nothing
    written); a deleted one is rebuilt from the store's rows, with a note."""
    home, state = tmp_path / "home", tmp_path / "state.json"
    mapped = tmp_path / "state.json.map"
    cli(home, "run", "--no-serve")
    cli(home, "verify", "--save-state", str(state))
    assert json.loads(state.read_text())["state_map"]["bytes"] == mapped.stat().st_size
    ingest_one(home, tmp_path, 3)
    before = (state.read_text(), mapped.read_bytes())
    mapped.write_bytes(before[1][:-64])
    failed = cli(home, "verify", "--since", str(state), ok=False)
    assert failed.returncode == 2
    assert f"state map file {mapped}" in failed.stderr and "binds" in failed.stderr
    assert state.read_text() == before[0] and mapped.read_bytes() == before[1][:-64]
    mapped.write_bytes(before[1])
    done = cli(home, "verify", "--since", str(state))
    assert "(1 state-map roots)" in done.stdout and "note:" not in done.stderr
    ingest_one(home, tmp_path, 4)
    mapped.unlink()
    done = cli(home, "verify", "--since", str(state))
    assert "rebuilt from the store's rows" in done.stderr
    assert json.loads(state.read_text())["state_map"]["bytes"] == mapped.stat().st_size
