"""What the abuse run of session 8 found, fixed: a review's URL is a link only when it is a
web address (``javascript:`` was a live link on the claim page and went out as ClaimReview
``url``), and a claim read ``asOf`` an earlier tree size shows only the history and
reviews that existed then."""

# ruff: noqa: F811
from __future__ import annotations

import pytest

from api.pages import _env
from ledger.entries import Rating
from ledger.errors import InvalidInput
from ledger.inputs import web_url

# The in-process ledger fixture of the mutation tests, shared by import (pytest's pattern,
# which ruff reads as a redefinition in every test that takes it).
from tests.api.test_mutations_in_process import Local, local  # noqa: F401


@pytest.mark.parametrize(
    "url",
    ["https://example.org/a?b=c#d", "http://x.test", "HTTPS://EXAMPLE.ORG/", "http://u@h.test/"],
)
def test_web_addresses_are_links(url: str) -> None:
    assert web_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/relative/path",
        "https:evil.example",
        "https://",
        "http://@/",
        "https://exa mple.org",
        "",
    ],
)
def test_anything_else_is_not(url: str) -> None:
    assert web_url(url) is None
    rendered = _env.from_string(
        '{% if u | web_url %}<a href="{{ u }}">x</a>{% else %}<code>{{ u }}</code>{% endif %}'
    ).render(u=url)
    assert "<a " not in rendered


def test_a_review_with_a_script_url_is_refused_and_writes_nothing(local: Local) -> None:
    ledger, claim = local.instance.ledger, local.claims[0]
    size = local.size()
    with pytest.raises(InvalidInput, match=r"review url .* is not an absolute http or https URL"):
        ledger.review_claim(
            local.instance.log_key(),
            claim,
            follows=local.head_of(claim),
            rating=Rating(textual="False"),
            url="javascript:alert(document.domain)",
        )
    assert local.size() == size


def test_a_claim_as_of_an_earlier_size_shows_the_history_and_reviews_of_then(
    local: Local,
) -> None:
    ledger, claim = local.instance.ledger, local.claims[0]
    before = local.size()
    ledger.review_claim(
        local.instance.log_key(),
        claim,
        follows=local.head_of(claim),
        rating=Rating(textual="False"),
        url="https://factcheck.example/1",
    )
    query = """query($id: ID!, $asOf: Int) { claim(id: $id, asOf: $asOf) {
      reviewCount reviews { nodes { url } } history { nodes { kind } } } }"""
    now = local.run(query, id=claim)["data"]["claim"]
    then = local.run(query, id=claim, asOf=before)["data"]["claim"]
    assert now["reviewCount"] == 1 and [r["url"] for r in now["reviews"]["nodes"]] == [
        "https://factcheck.example/1"
    ]
    assert [h["kind"] for h in now["history"]["nodes"]] == ["claim.extracted", "claim.reviewed"]
    assert then["reviewCount"] == 0 and then["reviews"]["nodes"] == []
    assert [h["kind"] for h in then["history"]["nodes"]] == ["claim.extracted"]
