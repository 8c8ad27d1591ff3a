"""Features of one sentence: sparse hashed word uni/bigrams plus cue counts (CRC-32 hashed)
for the first model, and a few named grammatical features for the news stage.

The news stage reads two general English resources from the data files shipped in the
TextBlob wheel, located through the installed distribution's metadata so that ``textblob``
itself (which imports NLTK) is never imported. Neither was made for, or edited to fit, any
article of ours:

- ``en-lexicon.txt``: Brill's tagger lexicon (Brill 1992, from the Brown corpus and the
  Penn Treebank), one word per line with its Penn tags, the most frequent first.
- ``en-sentiment.xml``: Pattern's subjectivity lexicon of English adjectives (De Smedt and
  Daelemans 2012), a subjectivity 0..1 per adjective sense.
"""

from __future__ import annotations

import itertools
import re
import zlib
from functools import cache

from ledger.extract.cues import MODALS, cues, words
from ledger.extract.lexicon import data_file, penn_tags

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


# Determiners and possessives: an "-ed" word right after one is an adjective ("a unified
# front"), not a verb in the past tense.
_DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "its",
        "their",
        "his",
        "her",
        "our",
        "my",
        "your",
        "some",
        "any",
        "no",
        "every",
        "each",
    ]
)
_ANCHORS = ("number", "percent", "money", "year", "date")
_QUOTES = frozenset('"“”')
SUBJECTIVE = 0.5
"""Pattern's subjectivity at or above which an adjective counts as subjective."""


_FINITE_PRESENT = frozenset(["VBZ", "VBP"])
_PERFECT_OR_PASSIVE = frozenset(["has", "have", "had", "was", "were"])
# Suffixes that make abstract nouns of verbs and adjectives ("involvement", "escalation",
# "stability", "awareness"...), a closed set of English derivational morphology.
NOMINAL_SUFFIXES = ("ment", "tion", "sion", "ance", "ence", "ity", "ness", "ism", "ship")
_NOMINAL_ENDINGS = NOMINAL_SUFFIXES + tuple(suffix + "s" for suffix in NOMINAL_SUFFIXES)
NOMINALS = 3
"""Nominal forms (abstract nouns, gerunds after a preposition) for the ``nominal`` feature."""


def news_features(sentence: str) -> dict[str, float]:
    """The named features of the news stage, each 0 or 1.

    ``anchor``: a figure, amount, year or date; ``attribution``: a past-tense reporting verb
    or "according to"; ``past``: a finite verb in the past tense (see ``_has_past_tense``);
    ``bare``: none of those three, the writer's own present-tense statement; ``modal``,
    ``quote`` (a quotation mark), ``first_person``; ``subjective``: an adjective whose mean
    subjectivity in Pattern's lexicon is at least ``SUBJECTIVE``. Two mark interpretive
    prose: ``hedged``, a modal inside a "that" clause of a verb ("suggest that it could");
    ``nominal``, at least ``NOMINALS`` nominal forms (abstract nouns with a nominalising
    suffix, gerunds after a preposition; see ``_nominal_count``).
    """
    found = cues(sentence)
    tokens = words(sentence)
    anchor = any(name in found for name in _ANCHORS)
    attribution = "attribution" in found or "according_to" in found
    past = _has_past_tense(tokens)
    scores = subjectivity()
    features = {
        "anchor": anchor,
        "attribution": attribution,
        "past": past,
        "bare": not (anchor or attribution or past),
        "modal": "modal" in found,
        "quote": any(char in _QUOTES for char in sentence),
        "first_person": "first_person" in found,
        "subjective": any(scores.get(token.lower(), 0.0) >= SUBJECTIVE for token in tokens),
        "hedged": _is_hedged(tokens),
        "nominal": _nominal_count(tokens) >= NOMINALS,
    }
    return {name: 1.0 if value else 0.0 for name, value in features.items()}


def _tag(token: str) -> str | None:
    """The most frequent Penn tag of a token in Brill's lexicon (None if unlisted)."""
    return part_of_speech().get(token.lower())


def _has_past_tense(tokens: list[str]) -> bool:
    """Whether the sentence has a finite verb in the past tense.

    A verb tagged VBD in Brill's lexicon is one. An "-ed" word of five letters or more that
    the lexicon tags VBN or does not list is one unless a present-tense verb (VBZ/VBP, not
    "has"/"have") came first, since it is then a participle ("it poses a risk to efforts
    aimed at...", "it is expected") - except right after has/have/had/was/were. Capitalised
    words (names) and words right after a determiner ("a unified front") are skipped.
    """
    present = False
    for index, token in enumerate(tokens):
        if index > 0 and (token[0].isupper() or tokens[index - 1].lower() in _DETERMINERS):
            continue
        lower = token.lower()
        tag = _tag(token)
        if tag == "VBD":
            return True
        if tag in _FINITE_PRESENT and lower not in ("has", "have"):
            present = True
        participle = tag in (None, "VBN") and lower.endswith("ed") and len(lower) > 4
        after_auxiliary = index > 0 and tokens[index - 1].lower() in _PERFECT_OR_PASSIVE
        if participle and (not present or after_auxiliary):
            return True
    return False


def _is_hedged(tokens: list[str]) -> bool:
    """A modal verb after "that" introduced by a verb: hedged content under a verb."""
    lower = [token.lower() for token in tokens]
    for index in range(1, len(lower)):
        if lower[index] == "that" and (_tag(tokens[index - 1]) or "").startswith("VB"):
            return any(word in MODALS for word in lower[index + 1 :])
    return False


def _nominal_count(tokens: list[str]) -> int:
    """Nominal forms: abstract nouns (lower-case words of 7+ letters with a nominalising
    suffix that Brill's lexicon tags NN or NNS; the first word may be capitalised) and
    gerunds used as nouns (a lower-case VBG right after a preposition, "in supporting")."""
    nouns = sum(
        1
        for index, token in enumerate(tokens)
        if (index == 0 or token.islower())
        and len(token) > 6
        and token.lower().endswith(_NOMINAL_ENDINGS)
        and _tag(token) in ("NN", "NNS")
    )
    gerunds = sum(
        1
        for index in range(1, len(tokens))
        if tokens[index].islower()
        and _tag(tokens[index]) == "VBG"
        and _tag(tokens[index - 1]) == "IN"
    )
    return nouns + gerunds


_SUBJECTIVITY_FILE = "textblob/en/en-sentiment.xml"
_LEXICON_WORD = re.compile(r'<word form="([^"]+)"[^>]*? subjectivity="([0-9.]+)"')


def part_of_speech() -> dict[str, str]:
    """Lower-case word -> its most frequent Penn tag in Brill's lexicon (``lexicon.penn_tags``)."""
    return penn_tags()


@cache
def subjectivity() -> dict[str, float]:
    """Adjective -> mean subjectivity over its senses (0 objective .. 1 subjective)."""
    senses: dict[str, list[float]] = {}
    text = data_file(_SUBJECTIVITY_FILE).read_text(encoding="utf-8")
    for form, value in _LEXICON_WORD.findall(text):
        senses.setdefault(form.lower(), []).append(float(value))
    return {form: sum(values) / len(values) for form, values in senses.items()}
