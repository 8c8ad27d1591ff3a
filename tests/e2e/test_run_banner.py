"""`claims-ledger run` and `serve` say, before serving, where the API answers, where the
data and keys are, what was just created (never the passphrase itself), the verifier key
to pin, and how to stop; the URL printed is the one that answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ledger.banner import KeyFiles, redact
from ledger.checkpoint import parse_verifier_key, verify_checkpoint
from ledger.config import Settings
from tests.api.conftest import _free_port
from tests.helpers import ROOT
from tests.liveness import wait_until_healthy


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(home: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the command; its standard output up to "Press Ctrl-C to stop."."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environ.update({"LEDGER_HOME": str(home), "COLUMNS": "300", **env})
    process = subprocess.Popen(  # SIGINT as a terminal's foreground command has it (a suite
        # run in the background inherits it ignored, and one sent before `serve` installs
        # its own handler was then lost: the server never stopped)
        [sys.executable, "-m", "ledger.cli", *args],
        preexec_fn=_default_sigint,
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C to stop."):
            return process, lines
    process.kill()
    raise AssertionError(f"no banner: {lines}")


def _wait_for(url: str) -> None:
    wait_until_healthy(url)


def _field(lines: list[str], name: str) -> str:
    [line] = [line for line in lines if line.startswith(f"  {name} ")]
    return line[len(name) + 2 :].strip()


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert process.wait(timeout=30) == 0 or process.returncode in (-2, 130)


def test_run_banner_on_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = _free_port()
    process, lines = _start(home, "run", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        assert _field(lines, "API").startswith(f"{url}/graphql ")
        passphrase_file = home / "keys" / "passphrase"
        assert _field(lines, "data") == f"sqlite:///{home / 'ledger.sqlite3'}"
        keys = _field(lines, "keys")
        assert keys.startswith(str(home / "keys"))
        assert "created just now" in keys and "log.key.pem" in keys and "ingest.key.pem" in keys
        passphrase = _field(lines, "passphrase")
        assert passphrase.startswith(f"{passphrase_file}  (created just now")
        secret = passphrase_file.read_text().strip()
        assert secret and all(secret not in line for line in lines)
        pinned = _field(lines, "verifier key").split()[0]
        assert re.fullmatch(r"claims-ledger/local\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+", pinned)
        # The URL printed answers, and the key printed verifies its checkpoints.
        _wait_for(url)
        note = httpx.get(f"{url}/checkpoint").text
        checkpoint = verify_checkpoint(note, parse_verifier_key(pinned))
        assert checkpoint.size >= 1
    finally:
        _stop(process)
    # Served again: nothing is created this time.
    process, lines = _start(home, "serve", "--port", str(port))
    try:
        assert "created" not in _field(lines, "keys")
        assert _field(lines, "passphrase") == str(home / "keys" / "passphrase")
        assert _field(lines, "verifier key").split()[0] == pinned
        assert lines[-1] == "Press Ctrl-C to stop."
    finally:
        _stop(process)


def test_passphrase_from_the_environment_is_not_printed(tmp_path: Path) -> None:
    port = _free_port()
    process, lines = _start(
        tmp_path / "home", "serve", "--port", str(port), LEDGER_KEY_PASSPHRASE="hunter2-secret"
    )
    try:
        assert _field(lines, "passphrase") == "from LEDGER_KEY_PASSPHRASE"
        assert all("hunter2-secret" not in line for line in lines)
    finally:
        _stop(process)


def test_database_password_is_masked() -> None:
    url = "postgresql+psycopg://ledger:pa:ss@db.example:5432/ledger"
    assert redact(url) == "postgresql+psycopg://ledger:***@db.example:5432/ledger"
    assert redact("postgresql+psycopg://ledger@db/x") == "postgresql+psycopg://ledger@db/x"
    assert redact("sqlite:////srv/l.db") == "sqlite:////srv/l.db"


def test_key_files_before_and_after(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://")
    assert KeyFiles.look(settings) == KeyFiles(frozenset(), False)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "log.key.pem").write_text("x")
    (tmp_path / "keys" / "passphrase").write_text("x")
    assert KeyFiles.look(settings) == KeyFiles(frozenset({"log.key.pem"}), True)
