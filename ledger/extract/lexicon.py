"""Brill's tagger lexicon, read from the data files of the installed TextBlob wheel.

``en-lexicon.txt`` (Brill 1992, from the Brown corpus and the Penn Treebank) lists one word
per line with its most frequent Penn tag. ``features.part_of_speech`` reads the same file
for the check-worthiness features; this copy has no imports from the extractor, so the
word lists of ``cues`` (which ``features`` imports) can be built from it.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from pathlib import Path

from ledger.errors import ConfigError

DISTRIBUTION = "textblob"
_TAGS_FILE = "textblob/en/en-lexicon.txt"
VERB_TAGS = frozenset({"VB", "VBD", "VBG", "VBN", "VBP", "VBZ"})


@cache
def penn_tags() -> dict[str, str]:
    """Lower-case word -> its most frequent Penn tag; the lower-case spelling's entry wins
    over a capitalised one ("claim" NN, not "Claim" VB as a sentence's first word)."""
    tags: dict[str, str] = {}
    for line in _tags_file().read_text(encoding="utf-8").splitlines():
        if line.startswith(";;;"):
            continue
        fields = line.split()
        if len(fields) >= 2 and fields[0].islower():
            tags[fields[0]] = fields[1]
        elif len(fields) >= 2:
            tags.setdefault(fields[0].lower(), fields[1])
    return tags


def _tags_file() -> Path:
    try:
        path = Path(str(metadata.distribution(DISTRIBUTION).locate_file(_TAGS_FILE)))
    except metadata.PackageNotFoundError as error:
        raise ConfigError(
            f"{_TAGS_FILE}: the {DISTRIBUTION} distribution is not installed "
            "(a dependency of claims-ledger)"
        ) from error
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the installed {DISTRIBUTION} distribution")
    return path
