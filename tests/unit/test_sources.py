"""Reading source documents: exact bytes kept, text normalized, bad input refused by name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.errors import InvalidInput
from ledger.formats import read_file
from ledger.sources import MAX_SOURCE_BYTES, normalize_text, parse_seed
from tests.conftest import SEED


def test_seed_header_gives_the_date_and_is_not_part_of_the_text() -> None:
    doc = read_file(SEED)
    assert doc.published == dt.date(2024, 3, 20)
    assert doc.text.startswith("In a striking revelation, South Korea's defense minister")
    assert doc.data == SEED.read_bytes()
    assert "\n\nEscalating Arms Trade Dynamics\n\n" in doc.text


def test_seed_header_may_stand_on_its_own_line() -> None:
    doc = parse_seed(b" date 2024-03-20\nBody text here.\n", where="x")
    assert (doc.text, doc.published) == ("Body text here.", dt.date(2024, 3, 20))


def test_normalization() -> None:
    raw = "  Cafe\u0301 line  \r\nnext\rline\n\n\n\nlast  \n"
    assert normalize_text(raw) == "Café line\nnext\nline\n\nlast"
    assert normalize_text(normalize_text(raw)) == normalize_text(raw)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"caf\xe9 au lait", "not valid UTF-8 at byte 3"),
        (b"text with \x07 bell", "control characters"),
        (b" date 2024-02-30 text", "not a valid YYYY-MM-DD date"),
        (b" date 20240320 text", "not a valid YYYY-MM-DD date"),
        (b" date 2024-03-20   ", "a date but no text"),
    ],
)
def test_bad_documents_are_refused_with_a_reason(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(data)
    with pytest.raises(InvalidInput, match=message) as info:
        read_file(path)
    assert str(path) in str(info.value)


def test_absurd_sizes_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_SOURCE_BYTES + 1)
    with pytest.raises(InvalidInput, match="over the"):
        read_file(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        read_file(tmp_path / "nope.txt")
