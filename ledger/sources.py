"""Reading source documents into exact bytes plus the normalized text claims point into."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from ledger.canonical import sha256
from ledger.errors import InvalidInput

MAX_SOURCE_BYTES = 10 * 1024 * 1024
_SEED_HEADER = re.compile(r"\A\s*date\s+(\S+)\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
