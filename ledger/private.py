"""Folders and files only their owner may use: the data directory 0700, database files 0600.

Created so (the mode is passed to the creating call, so there is no moment when they are
looser), and tightened when they already exist with group or other bits set.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import ConfigError

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
_OPEN_BITS = 0o077


def private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents) with the leaf 0700, or tighten it to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    _tighten(path, DIRECTORY_MODE)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it is missing (never truncating it), or
    tighten an existing one to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be created: {exc.strerror}") from exc
    os.close(fd)
    _tighten(path, FILE_MODE)


def tighten_if_present(path: Path) -> None:
    """Tighten an existing file to 0600; nothing if it is not there."""
    if path.exists():
        _tighten(path, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & _OPEN_BITS:
        try:
            path.chmod(current & ~_OPEN_BITS)
        except OSError as exc:
            raise ConfigError(
                f"{path} is mode {current:04o}, open to other users, and cannot be"
                f" tightened to {mode:04o}: {exc.strerror}"
            ) from exc
