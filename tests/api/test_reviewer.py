"""A review's reviewer through every door (issue 14): the CLI's ``claim review
--reviewer-*``, GraphQL's ``reviewClaim(input: {reviewer})`` and ``Claim.reviews``, the
claim page and its ClaimReview; bad reviewers refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ledger.config import Settings
from ledger.entries import ClaimReviewed, parse_entry
from ledger.instance import open_instance
from tests.api.conftest import Served, gql, post
from tests.helpers import run_cli

HEAD = "{ checkpoint { size } claims(first: 1, filter: {status: ACTIVE}) { edges { node { claimId head } } } }"
REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) {
  __typename ... on ClaimChanged { claim { reviewCount } } ... on InvalidInputError { message } } }"""
REVIEWS = """query($id: ID!) { claim(id: $id) { reviews { nodes { rating { textual }
  reviewer { name type url } } } } }"""


def _state(served: Served) -> tuple[int, str, str]:
    data = gql(served.url, HEAD)
    node = data["claims"]["edges"][0]["node"]
    return data["checkpoint"]["size"], node["claimId"], node["head"]


def test_graphql_review_with_a_reviewer_shows_on_the_claim_its_page_and_claimreview(
    served: Served,
) -> None:
    size, claim, head = _state(served)
    reviewer = {"name": "Ana Ruiz", "type": "PERSON", "url": "https://fc.example/ana"}
    done = post(
        served.url,
        REVIEW,
        served.tokens["reviewer"],
        input={"claimId": claim, "follows": head, "rating": "False", "reviewer": reviewer},
    )
    assert done["data"]["reviewClaim"]["__typename"] == "ClaimChanged", done
    reviews = gql(served.url, REVIEWS, id=claim)["claim"]["reviews"]["nodes"]
    assert reviews == [{"rating": {"textual": "False"}, "reviewer": reviewer}]
    page = httpx.get(f"{served.url}/claims/{claim}", timeout=20).text
    assert 'Reviewed by <strong><a href="https://fc.example/ana"' in page
    assert "Ana Ruiz</a></strong> (a person)" in page
    documents = httpx.get(f"{served.url}/claims/{claim}?format=claimreview", timeout=20).json()
    assert documents[-1]["author"] == {
        "@type": "Person",
        "name": "Ana Ruiz",
        "url": "https://fc.example/ana",
    }
    assert gql(served.url, HEAD)["checkpoint"]["size"] == size + 1


def test_graphql_bad_reviewers_are_refused_and_write_nothing(served: Served) -> None:
    size, claim, head = _state(served)
    for reviewer, said in (
        ({"name": "A", "type": "ORGANIZATION", "url": "javascript:alert(1)"}, "http or https"),
        ({"name": "", "type": "PERSON"}, "reviewer: name"),
        ({"name": "x" * 201, "type": "PERSON"}, "reviewer: name"),
        (
            {"name": "A", "type": "PERSON", "url": "https://a.example/" + "x" * 2000},
            "reviewer: url",
        ),
    ):
        done = post(
            served.url,
            REVIEW,
            served.tokens["reviewer"],
            input={"claimId": claim, "follows": head, "rating": "False", "reviewer": reviewer},
        )
        answer = done["data"]["reviewClaim"]
        assert answer["__typename"] == "InvalidInputError" and said in answer["message"], done
    wrong_type = post(
        served.url,
        REVIEW,
        served.tokens["reviewer"],
        input={
            "claimId": claim,
            "follows": head,
            "rating": "False",
            "reviewer": {"name": "A", "type": "ROBOT"},
        },
    )
    assert wrong_type["errors"]
    assert gql(served.url, HEAD)["checkpoint"]["size"] == size


def test_cli_review_names_the_reviewer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    article = tmp_path / "article.txt"
    article.write_text("The harbour master said on Monday that 40 ships were waiting.\n")
    assert run_cli(home, "ingest", str(article)).returncode == 0
    listed = run_cli(home, "claims", "--json")
    claim = json.loads(listed.stdout)["claims"][0]["claim_id"]
    refused = [
        ("--reviewer-name", "Desk", "--reviewer-url", "javascript:x"),
        ("--reviewer-url", "https://fc.example/"),
        ("--reviewer-name", "Desk", "--reviewer-type", "Robot"),
    ]
    for args in refused:
        done = run_cli(home, "claim", "review", claim, "--rating", "False", *args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, (args, done.stderr)
    done = run_cli(
        home,
        "claim",
        "review",
        claim,
        "--rating",
        "False",
        "--reviewer-name",
        "Example Fact Check",
        "--reviewer-url",
        "https://factcheck.example/",
    )
    assert done.returncode == 0, done.stderr
    done = run_cli(home, "claim", "review", claim, "--rating", "Unproven")
    assert done.returncode == 0, done.stderr
    instance = open_instance(Settings.from_env({"LEDGER_HOME": str(home)}))
    try:
        history = instance.ledger.history(claim)
    finally:
        instance.close()
    reviews = [
        parse_entry(item.entry.data).body.payload
        for item in history
        if item.entry.kind == "claim.reviewed"
    ]
    assert len(reviews) == 2  # the refused ones wrote nothing
    first, second = reviews
    assert isinstance(first, ClaimReviewed) and isinstance(second, ClaimReviewed)
    assert first.reviewer is not None
    assert (first.reviewer.name, first.reviewer.type, first.reviewer.url) == (
        "Example Fact Check",
        "Organization",
        "https://factcheck.example/",
    )
    assert second.reviewer is None and b"reviewer" not in history[-1].entry.data
