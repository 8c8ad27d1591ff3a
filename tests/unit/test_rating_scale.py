"""A new review's rating must lie on its own scale (schema.org Rating), refused before
anything is written; reviews on a sound scale, or with bounds left out, are accepted."""

from __future__ import annotations

import pytest

from ledger.entries import Rating
from ledger.errors import InvalidInput
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import add_source_with_claims


@pytest.mark.parametrize(
    ("rating", "message"),
    [
        (
            Rating(textual="x", value=5, best=1, worst=10),
            "rating worst (10) must be below rating best (1)",
        ),
        (
            Rating(textual="x", value=3, best=3, worst=3),
            "rating worst (3) must be below rating best (3)",
        ),
        (
            Rating(textual="x", value=6, best=5, worst=1),
            "rating value (6) must not be above rating best (5)",
        ),
        (
            Rating(textual="x", value=0, best=5, worst=1),
            "rating value (0) must not be below rating worst (1)",
        ),
        (
            Rating(textual="x", value=9, best=5),
            "rating value (9) must not be above rating best (5)",
        ),
    ],
)
def test_a_rating_off_its_scale_is_refused_and_nothing_is_written(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey, rating: Rating, message: str
) -> None:
    [claim, *_] = add_source_with_claims(ledger, writer_key, 0, claims=1)
    size = ledger.head().size
    with pytest.raises(InvalidInput) as refused:
        ledger.review_claim(log_key, claim, follows=claim, rating=rating)
    assert str(refused.value) == message
    assert ledger.head().size == size


@pytest.mark.parametrize(
    "rating",
    [
        Rating(textual="Mostly true", value=4, best=5, worst=1),
        Rating(textual="True", value=5, best=5, worst=1),
        Rating(textual="False", value=1, best=5, worst=1),
        Rating(textual="Misleading"),
        Rating(textual="Two", value=2),
    ],
)
def test_a_rating_on_its_scale_is_accepted(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey, rating: Rating
) -> None:
    [claim, *_] = add_source_with_claims(ledger, writer_key, 0, claims=1)
    entry = ledger.review_claim(log_key, claim, follows=claim, rating=rating)
    assert entry.seq == ledger.head().size - 1
