"""Reading source documents: exact bytes kept, text normalized, bad input refused by name."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
from pathlib import Path

import pytest

from ledger import sources
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


# --- local files: regular files only, read safely ---------------------------------------


@pytest.mark.parametrize("path", ["/proc/self/status", "/proc/version", "/dev/null", "/sys"])
def test_kernel_and_device_files_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput, match=r"under /proc, /sys or /dev"):
        read_file(Path(path))


def test_a_link_into_proc_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "status.txt"
    link.symlink_to("/proc/self/status")
    with pytest.raises(InvalidInput, match=r"under /proc, /sys or /dev"):
        read_file(link)


def test_a_folder_is_not_read_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is a folder, not a regular file"):
        read_file(tmp_path)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_file(fifo)
            outcome.append(None)
        except InvalidInput as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # blocked in open(): let it go, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    [error] = outcome
    assert error is not None and "a FIFO (named pipe), not a regular file" in str(error)


def test_an_over_cap_sparse_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sparse.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_SOURCE_BYTES * 100)

    def no_read(fd: int, size: int) -> bytes:
        pytest.fail("the file was read")

    monkeypatch.setattr(sources.os, "read", no_read)
    with pytest.raises(InvalidInput, match=f"{MAX_SOURCE_BYTES * 100} bytes is over the"):
        read_file(path)


def test_a_file_larger_than_it_claims_is_read_only_to_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As procfs files do, a file may report size 0 and still hold (endless) data."""
    path = tmp_path / "liar.txt"
    path.write_bytes(b"x" * 50_000)
    real_fstat, real_read = os.fstat, os.read
    read = []

    def zero_size(fd: int) -> os.stat_result:
        fields = list(real_fstat(fd))
        fields[stat.ST_SIZE] = 0
        return os.stat_result(fields)

    def counted(fd: int, size: int) -> bytes:
        chunk = real_read(fd, size)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(sources.os, "fstat", zero_size)
    monkeypatch.setattr(sources.os, "read", counted)
    with pytest.raises(InvalidInput, match="over the 1000-byte limit"):
        sources.read_local_bytes(path, max_bytes=1000)
    assert sum(read) == 1001
