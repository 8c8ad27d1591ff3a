"""Read the seed article the way the extractor expects it (the real source reader is elsewhere).

The file's first line starts with `` date YYYY-MM-DD `` and the article follows on that line.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_9738ca0b5516d57a.txt"
_HEADER = re.compile(r" date (\d{4}-\d{2}-\d{2}) ")


def load_seed(path: Path = SEED) -> tuple[str, datetime.date]:
    """The normalized text (header removed, stripped) and its published date."""
    raw = path.read_text(encoding="utf-8")
    match = _HEADER.match(raw)
    assert match is not None, f"{path}: no ' date YYYY-MM-DD ' header"
    return raw[match.end() :].strip(), datetime.date.fromisoformat(match.group(1))
