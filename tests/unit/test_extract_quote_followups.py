"""A sentence that is all quotation, unattributed, right after an attributed statement is
the same speaker's (news style: the attribution is given once)."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor, ExtractedClaim

PUBLISHED = datetime.date(2024, 3, 20)


def extract(text: str) -> list[ExtractedClaim]:
    return DeterministicExtractor().extract(text, published=PUBLISHED)


def claim_with(claims: list[ExtractedClaim], words: str) -> ExtractedClaim:
    return next(c for c in claims if words in c.statement)


def test_next_quoted_sentence_in_the_paragraph_is_the_same_speakers() -> None:
    text = (
        "“Three bridges were closed after the storm,” the county spokesman said. "
        "“At least 40 homes were flooded in the lower valley.”"
    )
    claim = claim_with(extract(text), "40 homes")
    assert claim.claimant.role == "county spokesman"
    assert claim.reporting == "direct_quote"


def test_quoted_paragraph_after_an_attributed_quote_is_the_same_speakers() -> None:
    text = (
        "“We lost 300 hectares of wheat,” said Marta Quell, who heads the farmers’ union.\n\n"
        "“The damage will cost growers more than 2 million euros this year. "
        "Prices rose by 15 percent in March.”"
    )
    claims = extract(text)
    assert claim_with(claims, "2 million euros").claimant.name == "Marta Quell"
    assert claim_with(claims, "15 percent").claimant.name == "Marta Quell"


def test_quote_left_open_at_a_paragraph_end_carries_on() -> None:
    text = (
        "“Our clinics saw 5,000 patients,” said Tomas Erde, the health director. "
        "“We treated 1,200 children in March alone.\n\n"
        "“Another 800 were referred to the regional hospital in April.”"
    )
    claims = extract(text)
    assert claim_with(claims, "1,200 children").claimant.name == "Tomas Erde"
    assert claim_with(claims, "800 were referred").claimant.name == "Tomas Erde"


def test_quotation_after_unattributed_narration_stays_unattributed() -> None:
    text = (
        "The river rose 4 metres overnight in the town of Elm.\n\n"
        "“Nearly 90 families have left their homes since Monday.”"
    )
    claim = claim_with(extract(text), "90 families")
    assert claim.claimant.name is None and claim.claimant.role is None
