"""Reading source documents into exact bytes plus the normalized text claims point into."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ledger.canonical import sha256
from ledger.errors import InvalidInput

MAX_SOURCE_BYTES = 10 * 1024 * 1024
_SEED_HEADER = re.compile(r"\A\s*date\s+(\S+)\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Kernel and device trees: their "regular" files claim size 0 and hold live data."""
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDocument:
    """A source as received (``data``) and as claims see it (``text``)."""

    data: bytes
    text: str
    media_type: str
    uri: str | None = None
    title: str | None = None
    publisher: str | None = None
    published: dt.date | None = None
    retrieved_at: dt.datetime | None = None

    @property
    def sha256_hex(self) -> str:
        return sha256(self.data).hex()

    @property
    def text_sha256_hex(self) -> str:
        return sha256(self.text.encode("utf-8")).hex()


def normalize_text(text: str) -> str:
    """The normalization every source's text goes through (docs/formats/sources.md).

    Line endings become LF, the text is Unicode NFC, trailing spaces of each line are
    removed, runs of blank lines collapse to one, and the whole is stripped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def decode_text(data: bytes, *, where: str) -> str:
    """Strict UTF-8 (a BOM is dropped); refuses binary data and empty documents."""
    if not data.strip():
        raise InvalidInput(f"{where}: the document is empty")
    if len(data) > MAX_SOURCE_BYTES:
        raise InvalidInput(f"{where}: {len(data)} bytes is over the {MAX_SOURCE_BYTES}-byte limit")
    if b"\x00" in data:
        raise InvalidInput(f"{where}: looks binary (contains NUL bytes), not a text document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{where}: not valid UTF-8 at byte {exc.start}") from exc
    if _CONTROL.search(text):
        raise InvalidInput(f"{where}: contains control characters; not a text document")
    return text


def parse_seed(data: bytes, *, where: str) -> SourceDocument:
    """The seed format: `` date YYYY-MM-DD`` then the article text (same line or the next)."""
    raw = decode_text(data, where=where)
    match = _SEED_HEADER.match(raw)
    if match is None:
        raise InvalidInput(f"{where}: a seed document must start with ' date YYYY-MM-DD'")
    published = parse_day(match.group(1), where=where)
    text = normalize_text(raw[match.end() :])
    if not text:
        raise InvalidInput(f"{where}: the document has a date but no text")
    return SourceDocument(data=data, text=text, media_type="text/plain", published=published)


def is_seed(data: bytes) -> bool:
    """True if ``data`` starts with the seed format's `` date YYYY-MM-DD`` header."""
    return _SEED_HEADER.match(data[:64].decode("utf-8", "replace")) is not None


def parse_plain(data: bytes, *, where: str) -> SourceDocument:
    text = normalize_text(decode_text(data, where=where))
    if not text:
        raise InvalidInput(f"{where}: the document is empty")
    return SourceDocument(data=data, text=text, media_type="text/plain")


def parse_day(value: str, *, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_day(value)
    except ValueError as exc:
        raise InvalidInput(f"{where}: date {value!r} is not a valid YYYY-MM-DD date") from exc


def _bad_day(value: str) -> dt.date:
    raise ValueError(value)


def read_local_bytes(path: Path, *, max_bytes: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a local regular file, read safely (the command line's, never the API's).

    Refused with ``InvalidInput``: anything under /proc, /sys or /dev, and anything that
    is not a regular file once opened (FIFOs, devices, sockets, folders). The file is
    opened without blocking (a FIFO with no writer cannot hang the open), the opened
    descriptor is what is checked (no race between a check and the open), the size is
    checked before reading, and at most ``max_bytes + 1`` bytes are ever read.
    """
    where = str(path)
    if in_pseudo_filesystem(path):
        raise InvalidInput(f"{where}: is under /proc, /sys or /dev; not a document")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise InvalidInput(f"{where}: cannot be read: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{where}: is {file_kind(info.st_mode)}, not a regular file")
        if info.st_dev in _pseudo_devices():
            raise InvalidInput(f"{where}: is under /proc, /sys or /dev; not a document")
        if info.st_size > max_bytes:
            raise InvalidInput(f"{where}: {info.st_size} bytes is over the {max_bytes}-byte limit")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InvalidInput(f"{where}: cannot be read: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if size > max_bytes:  # the file grew after it was opened
        raise InvalidInput(f"{where}: over the {max_bytes}-byte limit")
    return b"".join(chunks)


def in_pseudo_filesystem(path: Path) -> bool:
    """True if ``path`` (symbolic links followed) is /proc, /sys, /dev or inside them."""
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in PSEUDO_FILESYSTEMS)


def _pseudo_devices() -> set[int]:
    """The device numbers of the /proc, /sys and /dev mounts (those mounted here; a plain
    folder on the root file system would give the root's device, so it is left out)."""
    devices = set()
    for root in PSEUDO_FILESYSTEMS:
        try:
            if os.path.ismount(root):
                devices.add(root.stat().st_dev)
        except OSError:
            continue
    return devices


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a FIFO (named pipe)", ...)."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "of an unknown kind")
