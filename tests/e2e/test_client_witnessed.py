"""`claims-ledger client` and `monitor` under a witness quorum: a served ledger cosigned by
three witnesses on 127.0.0.1 verifies with 3 of 3; with one witness stopped and a new
append, 3 of 3 fails with exit 2 (and the state file stays), 2 of 3 passes."""

from __future__ import annotations

from pathlib import Path

from ledger.config import Settings
from tests.api.conftest import launch
from tests.e2e.test_witnessed_log import (
    INGEST,
    Served,
    _log_vkey,
    _served_note,
    _stop,
    setup,  # noqa: F401  (the fixture: the ledger and its three witnesses)
)
from tests.helpers import run_cli


def test_client_and_monitor_require_the_witness_quorum(
    setup: tuple[Settings, list[Served], str],  # noqa: F811
    tmp_path: Path,
) -> None:
    import httpx

    settings, witnesses, token = setup
    witnesses_file = (tmp_path / "witnesses.path").read_text()
    proc, url = launch(
        settings.home, settings.database_url, env={"LEDGER_WITNESSES": witnesses_file}
    )
    try:
        _served_note(url, 1 + 3)
        key = _log_vkey(url)
        vkeys = [arg for w in witnesses for arg in ("--witness", w.vkey.vkey())]
        state = tmp_path / "state.json"
        full = run_cli(
            settings.home, "client", "log", url, "--log-key", key, *vkeys, "--state", str(state)
        )
        assert full.returncode == 0, full.stderr
        _stop(witnesses[2].proc)
        answer = httpx.post(
            f"{url}/graphql",
            json={"query": INGEST, "variables": {"t": "The mayor said 12 bridges would close."}},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.json()["data"]["ingestSource"]["__typename"] == "SourceIngested"
        _served_note(url, 1 + 2)
        saved = state.read_bytes()
        strict = run_cli(
            settings.home, "monitor", url, "--log-key", key, *vkeys, "--state", str(state), "--once"
        )
        assert strict.returncode == 2 and "witness" in strict.stderr, strict.stderr
        assert state.read_bytes() == saved
        two = run_cli(
            settings.home,
            "monitor",
            url,
            "--log-key",
            key,
            *vkeys,
            "--quorum",
            "2",
            "--state",
            str(state),
            "--once",
        )
        assert two.returncode == 0, two.stderr
        assert state.read_bytes() != saved
        assert "cosignature" not in two.stderr
        bad = run_cli(settings.home, "client", "log", url, "--log-key", key, "--quorum", "2")
        assert bad.returncode == 4, bad.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
