"""Sparse hashed features of one sentence: word uni/bigrams plus cue counts (CRC-32 hashed)."""

from __future__ import annotations

import itertools
import re
import zlib

from ledger.extract.cues import cues, words

HASH_BITS = 18
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_LENGTH_BUCKETS = ((4, "len:0-4"), (9, "len:5-9"), (19, "len:10-19"), (29, "len:20-29"))


def feature_names(sentence: str) -> list[str]:
    """The named features of a sentence, deduplicated, in first-seen order."""
    tokens = [_fold(token) for token in words(sentence)]
    names = [f"u:{token}" for token in tokens]
    padded = ["<s>", *tokens, "</s>"]
    names.extend(f"b:{left} {right}" for left, right in itertools.pairwise(padded))
    for cue, count in cues(sentence).items():
        names.append(f"c:{cue}")
        if count > 1:
            names.append(f"c:{cue}>1")
    names.append(_length_name(len(tokens)))
    return list(dict.fromkeys(names))


def hashed(names: list[str]) -> list[int]:
    """Bucket indices of feature names (distinct names may share a bucket)."""
    mask = (1 << HASH_BITS) - 1
    return sorted({zlib.crc32(name.encode("utf-8")) & mask for name in names})


def featurize(sentence: str) -> list[int]:
    """Hashed feature indices of a sentence, sorted and unique."""
    return hashed(feature_names(sentence))


def _fold(token: str) -> str:
    """Lower-case a token and fold numbers to placeholders so figures generalize."""
    if token[0].isdigit():
        return "<year>" if _YEAR.fullmatch(token) else "<num>"
    return token.lower().replace("’", "'")


def _length_name(count: int) -> str:
    """Name the length bucket: very short lines are rarely claims."""
    for limit, name in _LENGTH_BUCKETS:
        if count <= limit:
            return name
    return "len:30+"
