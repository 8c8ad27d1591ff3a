#!/usr/bin/env python3
"""Set up an isolated environment and run claims-ledger or its tests. Needs only Python 3.11+.

    python3 dev.py run    # create .venv, install, then: claims-ledger run
    python3 dev.py test   # create .venv, install with test tools, then: pytest
    python3 dev.py lint   # ruff + mypy --strict on ledger/
    python3 dev.py --help # this text

Arguments after run or test go to it: python3 dev.py test tests/unit -x

The environment is rebuilt whenever pyproject.toml changes, so nothing installed
globally can hide a missing dependency.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_env() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("installing claims-ledger and its dependencies into .venv ...", flush=True)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[test]",
        ],
        check=True,
    )
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command in ("-h", "--help", "help"):
        print(__doc__.strip())  # before anything is installed: help needs no environment
        return 0
    if command not in ("run", "test", "lint"):
        print(f"unknown command {command!r}; use run, test or lint (python3 dev.py --help)")
        return 2
    ensure_env()
    os.chdir(ROOT)
    if command == "run":
        return subprocess.call([str(BIN / "claims-ledger"), "run", *rest])
    if command == "test":
        return subprocess.call([str(BIN / "python"), "-m", "pytest", "-n", "2", *rest])
    if command == "lint":
        ruff = subprocess.call([str(BIN / "ruff"), "check", "."])
        mypy = [str(BIN / "mypy"), "--strict"]
        # strawberry's decorators are untyped; everything else in api/ is checked strictly.
        return (
            ruff
            or subprocess.call([*mypy, "ledger"])
            or subprocess.call([*mypy, "--disable-error-code", "untyped-decorator", "api"])
        )
    return 2  # not reached: the command was checked above


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
