"""The verifier's entry indexes: what they learn from the chunks' facts, and what they read back."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from ledger.verify import KIND_CODE, FileIndex, MemoryIndex

LINES = [b'{"seq":0,"a":1}', b'{"seq":1,"bb":22}', b'{"seq":2,"ccc":333}']
CLAIM = KIND_CODE["claim.extracted"]


def _file_index(tmp_path: Path) -> FileIndex:
    path = tmp_path / "entries.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in LINES))
    index = FileIndex(path)
    offset = 0
    for line in LINES:
        index.add(offset)
        offset += len(line) + 1
    return index


def test_a_file_index_reads_any_entry_in_any_order(tmp_path: Path) -> None:
    with closing(_file_index(tmp_path)) as index:
        for seq in (2, 0, 1, 1, 2):
            assert index.entry_at(seq) == LINES[seq]
        assert index.entry_at(3) is None


def test_history_is_a_subjects_earlier_entries_in_order(tmp_path: Path) -> None:
    memory = MemoryIndex()
    for line in LINES:
        memory.add(line)
    with closing(_file_index(tmp_path)) as on_file:
        for index in (memory, on_file):
            for seq, subject in ((0, "c1"), (1, "c2"), (2, "c1")):
                index.learn(seq, f"h{seq}", CLAIM, subject)
            assert index.history("c1", before=3) == [LINES[0], LINES[2]]
            assert index.history("c1", before=2) == [LINES[0]]
            assert index.history("c2", before=1) == []
            assert index.seq_of("h2") == 2 and index.seq_of("nope") is None
