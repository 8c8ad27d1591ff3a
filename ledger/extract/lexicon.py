"""Brill's tagger lexicon, read from the data files of the installed TextBlob wheel.

``en-lexicon.txt`` (Brill 1992, from the Brown corpus and the Penn Treebank) lists one word
per line with its most frequent Penn tag. This module has no imports from the extractor,
so ``cues``, ``features``, ``mentions``, the quantity words and the line rules all read
the file through it, once.
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
def _entries() -> tuple[tuple[str, str], ...]:
    """(word as listed, its most frequent Penn tag), in file order."""
    entries = []
    for line in data_file(_TAGS_FILE).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 2 and not line.startswith(";;;"):
            entries.append((fields[0], fields[1]))
    return tuple(entries)


@cache
def penn_tags() -> dict[str, str]:
    """Lower-case word -> its most frequent Penn tag; the lower-case spelling's entry wins
    over a capitalised one ("claim" NN, not "Claim" VB as a sentence's first word)."""
    folded: dict[str, str] = {}
    for word, tag in _entries():
        folded.setdefault(word.lower(), tag)
    return folded | lowercase_tags()


@cache
def lowercase_tags() -> dict[str, str]:
    """The lower-case entries only: "deaths" is NNS, though "Deaths" (a headline word) is
    listed first as NNP, and a word listed only capitalised is absent."""
    tags: dict[str, str] = {}
    for word, tag in _entries():
        if word.islower():
            tags.setdefault(word, tag)
    return tags


def data_file(relative: str) -> Path:
    """The path of a data file inside the installed TextBlob distribution."""
    try:
        path = Path(str(metadata.distribution(DISTRIBUTION).locate_file(relative)))
    except metadata.PackageNotFoundError as error:
        raise ConfigError(
            f"{relative}: the {DISTRIBUTION} distribution is not installed "
            "(a dependency of claims-ledger)"
        ) from error
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the installed {DISTRIBUTION} distribution")
    return path
