"""Property tests of the claim extractor: for any normalized text, every selector quotes the
text exactly (with the right prefix and suffix), scores stay in range, and extraction is
deterministic."""

from __future__ import annotations

import datetime
import unicodedata
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract import DeterministicExtractor, ExtractedClaim, score_sentences

EXTRACTOR = DeterministicExtractor()

# Fragments that reach the interesting rules: names, roles, reporting verbs, quotes, numbers,
# dates, abbreviations, headings and paragraph breaks.
FRAGMENTS = [
    "Shin Won-shik", "South Korea's defense minister", "Defense Minister", "the minister", "He",
    "she", "said", "announced on Monday that", "told reporters", ", while affirming",
    ", adding that", "according to", "the Pentagon", "Dr.", "Mr.", "U.S.", "J. K.", "Officials",
    "approximately 7,000 containers", "3.5 million", "45%", "$2bn", "12 percent", "2024",
    "March 18, 2024", "yesterday", "last Friday", "“", "”", '"', "'s", ",", ".", "?", "!", ":",
    ";", "\n", "\n\n", " ", "could", "signaling", "North Korea", "Russia", "Ukraine", "ships",
    "é", "e\u0301", "🙂", "\t",
]  # fmt: skip

SUBJECTS = [
    "Shin Won-shik", "South Korea's defense minister", "Defense Minister Shin Won-shik", "He",
    "The minister", "Officials", "John Kirby, a spokesman for the Pentagon,", "Shin",
]  # fmt: skip
VERBS = ["said", "announced on Monday that", "told reporters", "said yesterday", "warned that"]
CONTENTS = [
    "North Korea sent approximately 7,000 containers to Russia",
    "exports rose 12.5% to $52.4 billion in 2023",
    "3.5 million shells were shipped, signaling a deepening alliance",
    "Seoul would not send arms, while affirming its policy",
    "“we sent 300 soldiers to the border last year,”",
]  # fmt: skip
ENDS = [".", ". ", "?", "\n\n", ".\n\nA Heading\n\n", '," he said. ', ", according to officials. "]

sentences = st.tuples(
    st.sampled_from(SUBJECTS),
    st.sampled_from(VERBS),
    st.sampled_from(CONTENTS),
    st.sampled_from(ENDS),
    st.sampled_from(["", *FRAGMENTS]),
).map(lambda parts: f"{parts[0]} {parts[1]} {parts[2]}{parts[3]}{parts[4]}")

texts = st.one_of(
    st.lists(sentences, min_size=1, max_size=8).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
    st.text(max_size=300),
).map(lambda text: unicodedata.normalize("NFC", text.replace("\r", "\n")))

published = st.one_of(st.none(), st.dates(datetime.date(1990, 1, 1), datetime.date(2100, 1, 1)))


def check_claim(text: str, claim: ExtractedClaim) -> None:
    selector = claim.selector
    assert 0 <= selector.start < selector.end <= len(text)
    assert text[selector.start : selector.end] == selector.exact
    assert selector.prefix == text[max(0, selector.start - 32) : selector.start]
    assert selector.suffix == text[selector.end : selector.end + 32]
    assert 0 <= claim.score <= 1000
    assert claim.statement.strip()
    for quantity in claim.quantities:
        assert quantity.text in text
        Decimal(quantity.value)  # a plain decimal string, never a float repr


@settings(max_examples=300, deadline=None)
@given(text=texts, day=published)
def test_selectors_quote_the_text_and_output_is_deterministic(
    text: str, day: datetime.date | None
) -> None:
    first = EXTRACTOR.extract(text, published=day)
    for claim in first:
        check_claim(text, claim)
    assert DeterministicExtractor().extract(text, published=day) == first


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_scored_sentences_are_exact_slices(text: str) -> None:
    scored = score_sentences(text)
    for sentence in scored:
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip() and sentence.text
        assert 0 <= sentence.score <= 1000
    starts = [s.start for s in scored]
    assert starts == sorted(starts)
    assert score_sentences(text) == scored
