"""The README's shell examples are run, as written, against a real server on 127.0.0.1.

Every ```sh block of README.md is one of three things, and each is checked:

- the quick start (``python3 dev.py run`` / ``python3 dev.py test``): the first command
  creates ``.venv`` and then runs ``claims-ledger run``, which sets up, ingests ``seeds/``
  and serves until Ctrl-C; a test cannot wait for Ctrl-C nor build a venv without the
  network, so it is covered by its two halves: ``claims-ledger run --no-serve`` on an
  empty home (set-up and ingest, the same code) and ``claims-ledger serve`` on that home
  in the background, which every example below then talks to; ``dev.py`` itself is
  checked to hand ``run`` to ``claims-ledger run``. The second command is this suite.
- the command synopsis: every subcommand and ``--option`` it names must exist in the CLI;
- everything else: run with bash (``set -euo pipefail``) in a temporary folder, with
  ``claims-ledger`` on PATH and the README's ``127.0.0.1:8000`` pointed at the test
  server. Every command must succeed, and every JSON document printed must be a GraphQL
  answer with ``data`` and without ``errors`` (a body that is not JSON gets a 400 with
  ``errors``: the bug this file exists for).

Once more in a fresh ``git clone`` of this checkout (committed files only), from the
clone's root. No network: the server and every request stay on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main

from ledger.cli import app
from tests.api.conftest import launch
from tests.helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text()
QUICK_START = "python3 dev.py run\npython3 dev.py test\n"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def json_documents(output: str) -> list[Any]:
    """Every JSON document printed (one starts where a line starts with ``{``)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at = 0
    while at < len(output):
        if output[at].isspace():
            at += 1
        elif output[at] == "{":
            document, at = decoder.raw_decode(output, at)
            found.append(document)
        else:
            newline = output.find("\n", at)
            at = len(output) if newline < 0 else newline + 1
    return found


def graphql_problems(output: str, block: str) -> list[str]:
    """What is wrong with a block's output: GraphQL answers with errors or without data,
    or fewer answers than the block asks /graphql questions."""
    documents = json_documents(output)
    problems = [
        f"not a GraphQL answer with data and no errors: {json.dumps(d)[:300]}"
        for d in documents
        if "errors" in d or not isinstance(d.get("data"), dict)
    ]
    asked = block.count("/graphql")
    if len(documents) < asked:
        problems.append(f"{asked} GraphQL requests but {len(documents)} JSON answers")
    return problems


def _cli_shim(folder: Path) -> Path:
    """A ``claims-ledger`` on PATH that runs this checkout's CLI with this interpreter."""
    folder.mkdir()
    shim = folder / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """The first README command's two halves: set-up and ingest, then the API served."""
    base = tmp_path_factory.mktemp("readme")
    home = base / "home"
    first = run_cli(home, "run", "--no-serve", LEDGER_KEY_PASSPHRASE="pw")
    assert first.returncode == 0, first.stderr
    assert "claim.extracted" in first.stdout
    proc, url = launch(home, f"sqlite:///{home / 'ledger.sqlite3'}")
    try:
        yield url, home, _cli_shim(base / "bin")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_block(block: str, url: str, home: Path, bin_dir: Path, cwd: Path) -> str:
    script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", url)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(cwd),
            "LEDGER_HOME": str(home),
            "LEDGER_KEY_PASSPHRASE": "pw",
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{block}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _is_synopsis(block: str) -> bool:
    return "#" in block and all(
        line.startswith(("claims-ledger ", " ")) for line in block.splitlines() if line
    )


def _runnable_blocks() -> list[str]:
    return [b for b in sh_blocks(README) if b != QUICK_START and not _is_synopsis(b)]


def test_the_readme_has_the_blocks_this_file_knows() -> None:
    blocks = sh_blocks(README)
    assert blocks[0] == QUICK_START
    assert sum(_is_synopsis(b) for b in blocks) == 1
    assert len(_runnable_blocks()) >= 2
    assert len(blocks) == 1 + 1 + len(_runnable_blocks())


def test_dev_py_run_is_claims_ledger_run() -> None:
    """The quick start's ``dev.py run`` hands over to ``claims-ledger run`` (whose two
    halves the server fixture runs)."""
    source = (ROOT / "dev.py").read_text()
    assert 'if command == "run":' in source
    assert '[str(BIN / "claims-ledger"), "run", *rest]' in source


@pytest.mark.parametrize("index", range(len(_runnable_blocks())))
def test_readme_example_runs(
    index: int, readme_server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, home, bin_dir = readme_server
    block = _runnable_blocks()[index]
    output = run_block(block, url, home, bin_dir, tmp_path)
    assert graphql_problems(output, block) == []
    if "/checkpoint" in block:
        assert "claims-ledger/local\n" in output
    if "verify" in block:
        assert output.count("ok ") >= block.count("claims-ledger verify")


def test_the_check_catches_the_example_that_broke() -> None:
    """The README's old first curl example (raw line breaks inside a JSON string) got a
    400 with ``errors``; the check above refuses such an answer, and a good one passes."""
    broken = (
        '{"errors":[{"message":"the request body is not JSON",'
        '"extensions":{"code":"BAD_REQUEST"}}]}\n'
    )
    block = "curl -s http://127.0.0.1:8000/graphql -d '...'\n"
    assert graphql_problems(broken, block) != []
    assert graphql_problems("", block) != []
    assert graphql_problems('{"data":{"claims":{"totalCount":3}}}\n', block) == []


def test_the_old_broken_example_is_refused_by_the_server(
    readme_server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, home, bin_dir = readme_server
    old = (
        "curl -s http://127.0.0.1:8000/graphql -H 'content-type: application/json' -d "
        """'{"query":\n  "{ claims(first: 5) { totalCount edges { node {\n"""
        """      statement } } } }"}'\n"""
    )
    output = run_block(old, url, home, bin_dir, tmp_path)
    assert graphql_problems(output, old) != []


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _options(command: Any) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def test_the_command_synopsis_names_only_commands_and_options_that_exist() -> None:
    (synopsis,) = [b for b in sh_blocks(README) if _is_synopsis(b)]
    root = typer.main.get_command(app)  # typer's own click: duck-typed below
    assert _is_group(root)
    checked = 0
    command: Any = None
    for line in synopsis.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "claims-ledger":
            group: Any = root
            words = words[1:]
            targets: list[Any] = [root]  # `claims-ledger --version`: an option of the root
            while _is_group(group) and words and not words[0].startswith("-"):
                names = words.pop(0).split("|")
                found = [group.commands.get(n) for n in names]
                assert all(found), f"{line!r}: no command {names} in {group.name}"
                targets = [c for c in found if c is not None]
                # `tokens create NAME --key KEY | list | revoke NAME`: alternatives after `|`
                for at, word in enumerate(words[:-1]):
                    if word == "|" and words[at + 1] in group.commands:
                        targets.append(group.commands[words[at + 1]])
                group = targets[0]
            command = targets[0]
            for target in targets:
                assert target is root or not _is_group(target), f"{line!r}: names a group only"
        assert command is not None
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(words)):
            assert option in _options(command), f"{line!r}: {command.name} has no {option}"
        checked += 1
    assert checked >= 25


@pytest.mark.slow
def test_the_readme_runs_in_a_fresh_clone(tmp_path: Path) -> None:
    """What a fresh clone holds (committed files only: seeds, weights, migrations) is
    enough for the README: set-up and ingest, then every runnable block, all from the
    clone's root as the README says, against a server started from the clone."""
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    cloned = subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cloned.returncode == 0, cloned.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "claims-ledger"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{clone}" exec "{sys.executable}" -m ledger.cli "$@"\n')
    shim.chmod(0o755)
    home = tmp_path / "home"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LEDGER_HOME": str(home),
        "LEDGER_KEY_PASSPHRASE": "pw",
    }
    first = subprocess.run(
        [str(shim), "run", "--no-serve"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert "claim.extracted" in first.stdout
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(shim), "serve", "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.1)
        readme = (clone / "README.md").read_text()
        blocks = [b for b in sh_blocks(readme) if b != QUICK_START and not _is_synopsis(b)]
        assert blocks
        for block in blocks:
            output = run_block(block, url, home, bin_dir, clone)
            assert graphql_problems(output, block) == []
    finally:
        server.terminate()
        server.wait(timeout=30)
