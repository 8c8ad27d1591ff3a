"""The reporting chain: relays and recipients kept in ``Claimant.cites`` (docs/extraction.md)."""

from __future__ import annotations

import datetime

import pytest

from ledger.extract import DeterministicExtractor, ExtractedClaim
from ledger.extract.model import Cited, Claimant

PUBLISHED = datetime.date(2024, 3, 22)


def claim_with(text: str, words: str) -> ExtractedClaim:
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    return next(c for c in claims if words in c.statement)


def chain(claim: ExtractedClaim) -> list[tuple[str | None, str | None]]:
    return [(cited.name, cited.role) for cited in claim.claimant.cites]


@pytest.mark.parametrize(
    ("text", "words", "speaker", "expected"),
    [
        (
            "The central bank said inflation slowed to 3 percent in May, according to Reuters.",
            "inflation",
            "central bank",
            [("Reuters", "relayed by")],
        ),
        (
            "According to Tass, Orlov said 40 drones were shot down on Sunday.",
            "drones",
            "Orlov",
            [("Tass", "relayed by")],
        ),
        (
            "Exports rose 8 percent, the ministry said, as reported by the BBC.",
            "Exports",
            "ministry",
            [("BBC", "relayed by")],
        ),
        (
            "The shipments included 6 million artillery shells, says a military intelligence "
            "report by the office of Rep. Kang Dae-sik, according to Yonhap.",
            "shells",
            "military intelligence report",
            [("Yonhap", "relayed by")],
        ),
    ],
)
def test_a_relay_is_kept_after_the_source_it_relays(
    text: str, words: str, speaker: str, expected: list[tuple[str, str]]
) -> None:
    claim = claim_with(text, words)
    assert claim.claimant.name == speaker
    assert chain(claim) == expected
    assert "according" not in claim.statement and "reported by" not in claim.statement


def test_the_relay_keeps_what_the_speaker_cites_first() -> None:
    text = (
        "North Korea has sent 13,000 containers to Russia, a lawmaker said Tuesday, "
        "citing a military intelligence report, according to Yonhap."
    )
    claim = claim_with(text, "containers")
    assert claim.claimant.role == "lawmaker"
    assert chain(claim) == [("military intelligence report", None), ("Yonhap", "relayed by")]


def test_according_to_inside_the_content_is_what_the_speaker_said() -> None:
    claim = claim_with(
        "Mayor Ana Lima said that, according to police, 3,000 people marched.", "3,000"
    )
    assert claim.claimant.name == "Ana Lima"
    assert claim.claimant.cites == ()


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        (
            "North Korea sent 4.8 million artillery shells, according to a Defense "
            "Intelligence Agency report submitted to Rep. Kang Dae-sik.",
            "shells",
            Cited(name="Kang Dae-sik", role="submitted to", affiliation=None, kind="person"),
        ),
        (
            "A report submitted to parliament on Monday said 200 schools had closed.",
            "schools",
            Cited(name="parliament", role="submitted to", affiliation=None, kind="organization"),
        ),
        (
            "Prices climbed 4 percent, according to a Treasury memo obtained by Reuters.",
            "Prices",
            Cited(name="Reuters", role="obtained by", affiliation=None, kind="organization"),
        ),
    ],
)
def test_a_documents_recipient_is_kept_with_the_relation(
    text: str, words: str, expected: Cited
) -> None:
    claim = claim_with(text, words)
    assert claim.claimant.kind == "document"
    assert claim.claimant.cites == (expected,)


def test_a_body_named_as_someones_office_keeps_the_owner() -> None:
    text = (
        "The shipments included 6 million shells, says a report by the office of "
        "Sen. Maria Ortiz. Ortiz said 40 ships carried the shells."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    report = next(c for c in claims if "6 million shells" in c.statement)
    assert report.claimant.affiliation == "office of Sen. Maria Ortiz"
    ortiz = next(c for c in claims if "40 ships" in c.statement)
    assert ortiz.claimant.name == "Maria Ortiz"


def test_the_documented_chain_example() -> None:
    """docs/extraction.md, "Reporting chains": the example is what the rules give."""
    claim = claim_with(
        "The shipments included 6 million artillery shells, says a military intelligence "
        "report by the office of Rep. Kang Dae-sik, according to Yonhap.",
        "shells",
    )
    assert claim.claimant == Claimant(
        name="military intelligence report",
        role=None,
        affiliation="office of Rep. Kang Dae-sik",
        kind="document",
        cites=(Cited(name="Yonhap", role="relayed by", affiliation=None, kind=None),),
    )


def test_a_leaked_memo_keeps_who_it_was_leaked_to() -> None:
    claim = claim_with("A cabinet memo leaked to Politico said 300 posts would be cut.", "posts")
    assert claim.claimant.name == "cabinet memo"
    assert chain(claim) == [("Politico", "leaked to")]
