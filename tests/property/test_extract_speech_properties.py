"""Property tests of attribution on news-style text: whatever the mix of frames, quotations,
datelines, acronyms and pronouns, extraction does not fail, selectors quote the text, a
made-on date has a precision, and the same text gives the same claims."""

from __future__ import annotations

import datetime
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract import DeterministicExtractor
from ledger.extract.cues import REPORTING_FORMS
from ledger.extract.roles import ORGANIZATION_WORDS, ROLE_HEADS, TITLE_WORDS
from tests.property.test_extract_properties import check_claim

EXTRACTOR = DeterministicExtractor()

PIECES = [
    "SEOUL, March 5 (Reuters) - ", "WASHINGTON (AP) — ", "North Korea has sent 13,000 containers",
    "exports rose 5.4 percent", ", a lawmaker said Tuesday", ", citing a military intelligence report",
    ", the White House said", ", according to a Defense Intelligence Agency report",
    "The U.S. Bureau of Labor Statistics (BLS)", "BLS", "the agency", "The agency", "it", "they",
    "They", "he", "She", "said", "says", "told Bloomberg News in an interview published Friday",
    ", saying", ", showing", ", adding that", " that ", "found that", "showed", "estimates",
    "In a statement,", "After", "Officials in Chile", "Saudi Arabia", "South Korean Defence Minister",
    "Shin Won-sik", "Lauren Adams, Lubbock city spokesperson", "Maldives' foreign ministry",
    "a study by the Hale Institute", "“", "”", '"', "(", ")", ",", ".", ":", "\n", "\n\n", " ",
    "on Monday", "in February", "last Friday", "citing", "according to", "el-Sisi", "von der",
]  # fmt: skip

# Every word the rules know, in lower case and capitalised, to reach their corners.
VOCABULARY = sorted(
    ROLE_HEADS
    | TITLE_WORDS
    | ORGANIZATION_WORDS
    | set(REPORTING_FORMS)
    | {"the", "a", "of", "in", "based", "Informed", "Dr", "Mr", "(", ")", ",", ".", "“", "”"}
)
words = st.sampled_from(VOCABULARY).flatmap(
    lambda word: st.sampled_from([word, word.capitalize(), word.upper()])
)
texts = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=50),
    st.lists(words, min_size=1, max_size=40),
).map(lambda parts: unicodedata.normalize("NFC", " ".join(parts)))
days = st.one_of(st.none(), st.dates(datetime.date(2000, 1, 1), datetime.date(2030, 12, 31)))


@settings(max_examples=600, deadline=None)
@given(text=texts, day=days)
def test_news_frames_never_break_the_selectors(text: str, day: datetime.date | None) -> None:
    claims = EXTRACTOR.extract(text, published=day)
    for claim in claims:
        check_claim(text, claim)
        assert (claim.made_on is None) == (claim.made_on_precision is None)
        attributed = claim.claimant.name is not None or claim.claimant.role is not None
        assert attributed or not claim.claimant.cites
    assert DeterministicExtractor().extract(text, published=day) == claims
