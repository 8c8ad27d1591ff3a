"""Exports (ledger/export.py, ``claims-ledger export``): every format built from the
ledger's own states and entries, checked as documents their readers would check them.

JSON-LD is expanded with pyld and no network: ClaimReview's ``https://schema.org`` context
and the Web Annotation context are served by a local loader holding only what these
tests need, written from the vocabularies (schema.org terms under ``https://schema.org/``;
the W3C Web Annotation vocabulary's terms under ``http://www.w3.org/ns/oa#`` and Activity
Streams / Dublin Core where the W3C context puts them), and PROV carries its context
inline."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from ledger.entries import ClaimChanges, ClaimReviewed, Rating, Reviewer
from ledger.export import (
    ANNOTATION_CONTEXT,
    CSV_COLUMNS,
    SCHEMA_ORG,
    claim_records,
    documents,
    review_author,
    text_iri,
    write_export,
)
from ledger.instance import Instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.sources import normalize_text
from tests.helpers import add_source_with_claims, run_cli, source_bytes

OA = "http://www.w3.org/ns/oa#"
AS = "https://www.w3.org/ns/activitystreams#"
SCHEMA = "https://schema.org/"
PROV = "http://www.w3.org/ns/prov#"

_ANNOTATION_TERMS: dict[str, Any] = {
    "oa": OA,
    "as": AS,
    "dcterms": "http://purl.org/dc/terms/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "id": "@id",
    "type": "@type",
    "Annotation": "oa:Annotation",
    "SpecificResource": "oa:SpecificResource",
    "TextualBody": "oa:TextualBody",
    "TextQuoteSelector": "oa:TextQuoteSelector",
    "TextPositionSelector": "oa:TextPositionSelector",
    "Software": "as:Application",
    "describing": "oa:describing",
    "body": {"@type": "@id", "@id": "oa:hasBody"},
    "target": {"@type": "@id", "@id": "oa:hasTarget"},
    "source": {"@type": "@id", "@id": "oa:hasSource"},
    "selector": {"@type": "@id", "@id": "oa:hasSelector"},
    "scope": {"@type": "@id", "@id": "oa:hasScope"},
    "motivation": {"@type": "@vocab", "@id": "oa:motivatedBy"},
    "purpose": {"@type": "@vocab", "@id": "oa:hasPurpose"},
    "exact": "oa:exact",
    "prefix": "oa:prefix",
    "suffix": "oa:suffix",
    "start": {"@id": "oa:start", "@type": "xsd:nonNegativeInteger"},
    "end": {"@id": "oa:end", "@type": "xsd:nonNegativeInteger"},
    "value": "rdf:value",
    "format": "dcterms:format",
    "created": {"@id": "dcterms:created", "@type": "xsd:dateTime"},
    "creator": {"@type": "@id", "@id": "dcterms:creator"},
}
_CONTEXTS = {
    SCHEMA_ORG: {"@context": {"@vocab": SCHEMA}},
    ANNOTATION_CONTEXT: {"@context": _ANNOTATION_TERMS},
}


def _offline_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    if url not in _CONTEXTS:
        raise AssertionError(f"a document asked for {url}: nothing may be fetched")
    return {"contextUrl": None, "documentUrl": url, "document": _CONTEXTS[url]}


def expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    return jsonld.expand(document, {"documentLoader": _offline_loader})  # type: ignore[no-any-return]


def _properties(node: Any) -> Iterator[str]:
    """Every property IRI in an expanded document (terms a context did not map are dropped
    by expansion, so a dropped term shows as a missing property, not here)."""
    if isinstance(node, list):
        for item in node:
            yield from _properties(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("@"):
                yield key
            yield from _properties(value)


@pytest.fixture
def reviewed(instance: Instance) -> tuple[Ledger, list[str]]:
    """Two sources, three claims; the first claim revised then reviewed, the second reviewed."""
    ledger = instance.ledger
    writer, reviewer = instance.writer_key(), instance.log_key()
    ids = add_source_with_claims(ledger, writer, 0, 2) + add_source_with_claims(
        ledger, writer, 1, 1
    )
    first = ledger.claim(ids[0])
    revised = ledger.revise_claim(
        writer,
        ids[0],
        follows=first.head,
        changes=ClaimChanges(made_on="2024-03-18"),
        reason="the minister spoke on Monday",
    )
    ledger.review_claim(
        reviewer,
        ids[0],
        follows=revised.hash.hex(),
        rating=Rating(textual="Mostly true", value=4, best=5, worst=1),
        note="The intelligence report gives 6,700 containers.",
        url="https://factcheck.example/containers",
        reviewer=Reviewer(
            name="Example Fact Check", type="Organization", url="https://factcheck.example/"
        ),
    )
    ledger.review_claim(
        reviewer, ids[1], follows=ledger.claim(ids[1]).head, rating=Rating(textual="Unproven")
    )
    return ledger, ids


def test_records_are_every_claim_in_log_order_with_source_and_history(
    reviewed: tuple[Ledger, list[str]],
) -> None:
    ledger, ids = reviewed
    records = list(claim_records(ledger, page=2))  # pages join without loss or repeat
    assert [r.claim.claim_id for r in records] == ids
    assert [len(r.history) for r in records] == [3, 2, 1]
    assert all(r.source is not None and r.source.sha256 == r.claim.source_sha256 for r in records)


def test_jsonl_and_csv_hold_the_current_state(reviewed: tuple[Ledger, list[str]]) -> None:
    ledger, ids = reviewed
    out = io.StringIO()
    assert write_export(ledger, "jsonl", out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["claim_id"] for line in lines] == ids
    assert lines[0]["made_on"] == "2024-03-18" and lines[0]["revision"] == 1
    assert lines[0]["last_rating"] == "Mostly true"
    assert lines[2]["source"]["uri"] == "https://news.example/1"

    table = io.StringIO()
    assert write_export(ledger, "csv", table) == 3
    rows = list(csv.DictReader(io.StringIO(table.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["claim_id"] for row in rows] == ids
    assert rows[0]["claimant_name"] == "Shin Won-shik"
    assert json.loads(rows[0]["quantities"]) == lines[0]["quantities"]
    assert rows[1]["made_on"] == lines[1]["made_on"]


def test_claimreview_has_what_google_requires_and_expands_offline(
    reviewed: tuple[Ledger, list[str]],
) -> None:
    ledger, ids = reviewed
    reviews = list(documents(ledger, "claimreview", base_url="https://ledger.example"))
    assert len(reviews) == 2  # one per review, none for the unreviewed claim
    full, bare = reviews
    # Required by Google's ClaimReview documentation: claimReviewed, reviewRating with
    # alternateName, url; recommended: author, datePublished, itemReviewed (a Claim with
    # author, datePublished and appearance/firstAppearance).
    assert full["@type"] == "ClaimReview"
    assert full["url"] == "https://factcheck.example/containers"
    assert full["claimReviewed"] == ledger.claim(ids[0]).statement
    assert full["reviewRating"] == {
        "@type": "Rating",
        "alternateName": "Mostly true",
        "ratingValue": 4,
        "bestRating": 5,
        "worstRating": 1,
    }
    assert full["author"] == {
        "@type": "Organization",
        "name": "Example Fact Check",
        "url": "https://factcheck.example/",
    }
    # no reviewer in the entry: the signer key's name, as an Organization
    assert bare["author"] == {"@type": "Organization", "name": "log"}
    for review in reviews:
        assert google_claimreview_problems(review) == [], review
    item = full["itemReviewed"]
    assert item["@type"] == "Claim"
    assert item["author"]["name"] == "Shin Won-shik"
    assert item["author"]["jobTitle"] == "defense minister"
    assert item["datePublished"] == "2024-03-18"  # the revised date: the state reviewed
    assert item["appearance"]["url"] == "https://news.example/0"
    assert item["appearance"]["publisher"]["name"] == "Example News"
    assert full["reviewBody"].startswith("The intelligence report")
    assert len(full["datePublished"]) == 10
    # A review with no URL of its own points at the claim on the ledger's site.
    assert bare["url"].startswith(f"https://ledger.example/claims/{ids[1]}#review-")
    assert "ratingValue" not in bare["reviewRating"]

    expanded = expand(full)
    assert expanded[0]["@type"] == [f"{SCHEMA}ClaimReview"]
    used = set(_properties(expanded))
    for term in ("claimReviewed", "reviewRating", "itemReviewed", "url", "author"):
        assert f"{SCHEMA}{term}" in used


def google_claimreview_problems(review: dict[str, Any]) -> list[str]:
    """What Google's ClaimReview documentation (developers.google.com/search/docs/
    appearance/structured-data/factcheck) requires or recommends that ``review`` lacks.

    Required: ``claimReviewed`` (text), ``reviewRating`` (a Rating with ``alternateName``),
    ``url`` (the fact check's page, an absolute URL). Recommended: ``author`` (an
    Organization or Person, with ``name``; ``url`` where known), ``datePublished``,
    ``itemReviewed`` (a Claim with ``author``, an Organization or Person with ``name``,
    ``datePublished``, ``appearance`` and ``firstAppearance``, each a URL or a
    CreativeWork); the Rating's ``ratingValue``, ``bestRating`` and ``worstRating`` come
    together (a numeric rating needs its scale, and ``worst <= value <= best``)."""
    problems = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    def agent(node: Any, where: str) -> None:
        need(isinstance(node, dict), f"{where} is an object")
        if isinstance(node, dict):
            need(node.get("@type") in ("Organization", "Person"), f"{where} @type")
            need(isinstance(node.get("name"), str) and bool(node["name"]), f"{where}.name")
            if "url" in node:
                need(str(node["url"]).startswith(("https://", "http://")), f"{where}.url")

    def work(node: Any, where: str) -> None:
        if isinstance(node, str):
            need(node.startswith(("https://", "http://")), f"{where} URL")
        else:
            need(isinstance(node, dict) and node.get("@type") == "CreativeWork", where)

    def day(value: Any, where: str) -> None:
        need(isinstance(value, str) and len(value) >= 10 and value[4] == "-", where)

    need(review.get("@context") == "https://schema.org", "@context")
    need(review.get("@type") == "ClaimReview", "@type")
    need(
        isinstance(review.get("claimReviewed"), str) and bool(review["claimReviewed"]),
        "claimReviewed",
    )
    url = review.get("url")
    need(isinstance(url, str) and url.startswith(("https://", "http://")), "url")
    rating = review.get("reviewRating")
    need(isinstance(rating, dict) and rating.get("@type") == "Rating", "reviewRating")
    if isinstance(rating, dict):
        need(bool(rating.get("alternateName")), "reviewRating.alternateName")
        numbers = [rating.get(k) for k in ("ratingValue", "bestRating", "worstRating")]
        if any(n is not None for n in numbers):
            need(all(isinstance(n, int) for n in numbers), "reviewRating's scale")
            value, best, worst = numbers
            if all(isinstance(n, int) for n in numbers):
                need(worst <= value <= best, "worstRating <= ratingValue <= bestRating")  # type: ignore[operator]
    agent(review.get("author"), "author")
    day(review.get("datePublished"), "datePublished")
    item = review.get("itemReviewed")
    need(isinstance(item, dict) and item.get("@type") == "Claim", "itemReviewed")
    if isinstance(item, dict):
        agent(item.get("author"), "itemReviewed.author")
        day(item.get("datePublished"), "itemReviewed.datePublished")
        work(item.get("appearance"), "itemReviewed.appearance")
        work(item.get("firstAppearance"), "itemReviewed.firstAppearance")
    return problems


def test_the_claimreview_check_finds_what_is_missing() -> None:
    assert google_claimreview_problems({"@type": "ClaimReview"}) == [
        "@context", "claimReviewed", "url", "reviewRating", "author is an object",
        "datePublished", "itemReviewed",
    ]  # fmt: skip


def test_review_author_is_the_entry_reviewer_else_the_key_name() -> None:
    def review(reviewer: Reviewer | None) -> ClaimReviewed:
        return ClaimReviewed(
            claim="a" * 64, follows="a" * 64, rating=Rating(textual="False"), reviewer=reviewer
        )

    key = "b" * 64
    person = Reviewer(name="Ana Ruiz", type="Person", url="https://fc.example/ana")
    assert review_author(review(person), key, {key: "desk"}) == {
        "@type": "Person",
        "name": "Ana Ruiz",
        "url": "https://fc.example/ana",
    }
    org = Reviewer(name="Desk", type="Organization")
    assert review_author(review(org), key, {}) == {"@type": "Organization", "name": "Desk"}
    assert review_author(review(None), key, {key: "desk"}) == {
        "@type": "Organization",
        "name": "desk",
    }
    assert review_author(review(None), key, {}) == {"@type": "Organization", "name": key}


def test_web_annotation_selects_the_quote_in_the_normalized_text(
    reviewed: tuple[Ledger, list[str]],
) -> None:
    ledger, ids = reviewed
    annotations = list(documents(ledger, "annotations"))
    assert len(annotations) == 3
    text = normalize_text(source_bytes(0).decode())
    note = annotations[0]
    quote, position = note["target"]["selector"]
    assert text[position["start"] : position["end"]] == quote["exact"]
    assert text.startswith(
        quote["prefix"] + quote["exact"] + quote["suffix"], position["start"] - len(quote["prefix"])
    )
    source = ledger.source(ledger.claim(ids[0]).source_sha256)
    assert note["target"]["source"] == text_iri(source.text_sha256)
    assert note["target"]["scope"] == "https://news.example/0"
    assert note["body"]["value"] == ledger.claim(ids[0]).statement

    expanded = expand(note)
    assert expanded[0]["@type"] == [f"{OA}Annotation"]
    used = set(_properties(expanded))
    for term in (
        "hasBody",
        "hasTarget",
        "hasSource",
        "hasSelector",
        "exact",
        "prefix",
        "start",
        "end",
    ):
        assert f"{OA}{term}" in used
    # Every key of the document survives expansion (none is outside the vocabulary).
    keys = {k for k in _keys(note) if not k.startswith("@")}
    assert keys <= set(_ANNOTATION_TERMS)


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _keys(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)


def test_prov_is_the_signed_chain_in_prov_o(reviewed: tuple[Ledger, list[str]]) -> None:
    ledger, ids = reviewed
    graphs = list(documents(ledger, "prov"))
    assert len(graphs) == 3
    expanded = expand(graphs[0])  # the context is inline: nothing is loaded
    nodes = {node["@id"]: node for node in expanded}
    history = ledger.history(ids[0])
    entry_ids = [f"urn:claims-ledger:entry:{item.entry.hash.hex()}" for item in history]
    assert all(nodes[e]["@type"] == [f"{PROV}Entity"] for e in entry_ids)
    extraction, revision, review = (nodes[e] for e in entry_ids)
    source_id = f"urn:claims-ledger:source:{ledger.claim(ids[0]).source_sha256}"
    assert extraction[f"{PROV}wasQuotedFrom"] == [{"@id": source_id}]
    assert revision[f"{PROV}wasRevisionOf"] == [{"@id": entry_ids[0]}]
    assert review[f"{PROV}wasDerivedFrom"] == [{"@id": entry_ids[1]}]
    activity = nodes[extraction[f"{PROV}wasGeneratedBy"][0]["@id"]]
    assert activity[f"{PROV}used"] == [{"@id": source_id}]
    signer = nodes[activity[f"{PROV}wasAssociatedWith"][0]["@id"]]
    assert signer["@type"] == [f"{PROV}SoftwareAgent"]
    claim = nodes[f"urn:claims-ledger:claim:{ids[0]}"]
    assert claim[f"{PROV}wasDerivedFrom"] == [{"@id": entry_ids[-1]}]
    claimant = nodes[claim[f"{PROV}wasAttributedTo"][0]["@id"]]
    assert f"{PROV}Agent" in claimant["@type"]
    # Every property is PROV-O's, rdfs:label, or the ledger's own kind/seq.
    allowed = (PROV, "http://www.w3.org/2000/01/rdf-schema#label", "urn:claims-ledger:")
    assert all(p.startswith(allowed) for p in _properties(expanded))


def test_unknown_format_is_refused(reviewed: tuple[Ledger, list[str]]) -> None:
    ledger, _ = reviewed
    with pytest.raises(Exception, match="format must be one of"):
        list(documents(ledger, "xml"))  # type: ignore[arg-type]


@pytest.mark.slow
def test_cli_export_writes_the_file_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    assert run_cli(home, "run", "--no-serve", "--seeds", str(seeds)).returncode == 0
    out = tmp_path / "claims.csv"
    done = run_cli(home, "export", str(out), "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) >= 3 and all(len(row["claim_id"]) == 64 for row in rows)
    assert "records written" in done.stderr
    refused = run_cli(home, "export", str(tmp_path / "x"), "--format", "xml")
    assert refused.returncode != 0 and "--format must be bundle or one of" in refused.stderr
    assert not (tmp_path / "x").exists()
    piped = run_cli(home, "export", "--format", "annotations")
    assert piped.returncode == 0
    assert all(json.loads(line)["type"] == "Annotation" for line in piped.stdout.splitlines())


def test_export_files_cannot_end_the_script_element_they_are_pasted_into(
    reviewed: tuple[Ledger, list[str]], log_key: SigningKey
) -> None:
    """ClaimReview markup is pasted inside ``<script type="application/ld+json">``: a
    reviewer named ``</script>…`` must not end it. Every JSON export escapes ``<``, ``>``
    and ``&`` (the values read back unchanged), as the claim URL's answers do."""
    ledger, ids = reviewed
    name = "</script><script>alert(1)</script> & <!-- Desk"
    ledger.review_claim(
        log_key,
        ids[2],
        follows=ledger.claim(ids[2]).head,
        rating=Rating(textual="False"),
        reviewer=Reviewer(name=name, type="Organization"),
    )
    for fmt in ("claimreview", "jsonl", "annotations", "prov"):
        out = io.StringIO()
        write_export(ledger, fmt, out)  # type: ignore[arg-type]
        text = out.getvalue()
        assert "<" not in text and ">" not in text and "&" not in text, fmt
        assert [json.loads(line) for line in text.splitlines()]  # still JSON Lines
    out = io.StringIO()
    write_export(ledger, "claimreview", out)
    documents_read = [json.loads(line) for line in out.getvalue().splitlines()]
    assert name in json.dumps(documents_read, ensure_ascii=False)
