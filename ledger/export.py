"""Claims in the formats fact-checkers and annotation tools read, streamed from the ledger.

One record per claim (``jsonl``, ``csv``, ``annotations``, ``prov``) or per review
(``claimreview``), built by pure functions from the ledger's own states and entries, so the
CLI (``claims-ledger export``) and any other caller give the same documents. Formats, their
fields and what each one leaves out: ``docs/exports.md``.

- ``jsonl``: a claim's current state with its source, as the projection holds it.
- ``csv``: the same, flattened to one row (quantities as JSON in one column).
- ``claimreview``: schema.org ``ClaimReview`` JSON-LD for every review.
- ``annotations``: a W3C Web Annotation (JSON-LD) of the claim's quote in its source's
  normalized text: ``TextQuoteSelector`` and ``TextPositionSelector``.
- ``prov``: the claim's provenance as W3C PROV-O in JSON-LD with an inline context:
  the source, every signed entry of the claim's chain, the activities that made them, the
  keys that signed them and the claimant the claim is attributed to.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO, get_args

from ledger.claim_events import HistoryItem
from ledger.entries import (
    Claimant,
    ClaimExtracted,
    ClaimExtractedV1,
    ClaimRetracted,
    ClaimReviewed,
    Revision,
    SignedEntry,
)
from ledger.errors import InvalidInput
from ledger.inputs import web_url
from ledger.queries import ClaimFilter, ClaimOrder, position_of
from ledger.service import Ledger
from ledger.state import ClaimState, SourceState

Format = Literal["jsonl", "csv", "claimreview", "annotations", "prov"]
FORMATS: tuple[Format, ...] = get_args(Format)
PAGE = 200
"""Claims read per page: memory stays bounded by a page and its histories."""

SCHEMA_ORG = "https://schema.org"
ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
PROV = "http://www.w3.org/ns/prov#"
LEDGER_NS = "urn:claims-ledger:"

CSV_COLUMNS = (
    "claim_id", "statement", "quote", "claimant_name", "claimant_role",
    "claimant_affiliation", "claimant_kind", "reporting", "made_on", "made_on_precision",
    "quantities", "status", "revision", "review_count", "last_rating", "score",
    "source_sha256", "source_uri", "source_title", "source_publisher", "source_published",
    "extractor", "signer", "recorded_at", "head", "head_seq",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """What every format is built from: a claim, its source and its history (oldest first)."""

    claim: ClaimState
    source: SourceState | None
    history: Sequence[HistoryItem]


def claim_url(base_url: str | None, claim_id: str) -> str:
    """The claim's address: under ``base_url`` when the ledger is served there, else a URN."""
    if base_url:
        return f"{base_url.rstrip('/')}/claims/{claim_id}"
    return f"{LEDGER_NS}claim:{claim_id}"


def text_iri(text_sha256: str) -> str:
    """RFC 6920 name of the source's normalized text, which selector offsets count in."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(text_sha256)).rstrip(b"=").decode()
    return f"ni:///sha-256;{digest}"


# -- jsonl and csv ------------------------------------------------------------------------


def claim_json(record: ClaimRecord) -> dict[str, Any]:
    """The claim's state (``ClaimState.to_json``) with its source's fields under ``source``."""
    out = record.claim.to_json()
    source = record.source
    out["source"] = (
        None
        if source is None
        else {
            "sha256": source.sha256,
            "text_sha256": source.text_sha256,
            "uri": source.uri,
            "title": source.title,
            "publisher": source.publisher,
            "published": source.published,
            "media_type": source.media_type,
        }
    )
    return out


def csv_row(record: ClaimRecord) -> list[str]:
    """One row in ``CSV_COLUMNS`` order; empty cells for missing values."""
    claim, source = record.claim, record.source
    values: dict[str, object] = {
        "claim_id": claim.claim_id,
        "statement": claim.statement,
        "quote": claim.selector.exact,
        "claimant_name": claim.claimant.name,
        "claimant_role": claim.claimant.role,
        "claimant_affiliation": claim.claimant.affiliation,
        "claimant_kind": claim.claimant.kind,
        "reporting": claim.reporting,
        "made_on": claim.made_on,
        "made_on_precision": claim.made_on_precision,
        "quantities": json.dumps(
            [q.model_dump(mode="json") for q in claim.quantities], ensure_ascii=False
        ),
        "status": claim.status,
        "revision": claim.revision,
        "review_count": claim.review_count,
        "last_rating": claim.last_rating,
        "score": claim.score,
        "source_sha256": claim.source_sha256,
        "source_uri": source.uri if source else None,
        "source_title": source.title if source else None,
        "source_publisher": source.publisher if source else None,
        "source_published": source.published if source else None,
        "extractor": f"{claim.extractor_name} {claim.extractor_version}",
        "signer": claim.signer,
        "recorded_at": claim.recorded_at,
        "head": claim.head,
        "head_seq": claim.head_seq,
    }
    return ["" if values[c] is None else str(values[c]) for c in CSV_COLUMNS]


# -- schema.org ClaimReview -----------------------------------------------------------------


def _agent(claimant: Claimant) -> dict[str, Any] | None:
    """The claimant as a schema.org Person or Organization (None when unattributed)."""
    if claimant.name is None and claimant.role is None:
        return None
    person = claimant.kind == "person" or (claimant.kind is None and claimant.role is not None)
    agent: dict[str, Any] = {"@type": "Person" if person else "Organization"}
    agent["name"] = claimant.name or claimant.role
    if person and claimant.role and claimant.name:
        agent["jobTitle"] = claimant.role
    if claimant.affiliation:
        key = "affiliation" if person else "parentOrganization"
        agent[key] = {"@type": "Organization", "name": claimant.affiliation}
    return agent


def _appearance(source: SourceState | None) -> dict[str, Any] | None:
    if source is None:
        return None
    work: dict[str, Any] = {"@type": "CreativeWork"}
    if web_url(source.uri):
        work["url"] = source.uri
    if source.title:
        work["headline"] = source.title
    if source.published:
        work["datePublished"] = source.published
    if source.publisher:
        work["publisher"] = {"@type": "Organization", "name": source.publisher}
    work["identifier"] = f"sha256:{source.sha256}"
    return work


def review_author(
    payload: ClaimReviewed, signer: str, reviewer_names: dict[str, str]
) -> dict[str, Any]:
    """The review's ``author``: the reviewer its entry names (a Person or an Organization,
    with its ``url`` when given); else an Organization named as the signer key's
    registration names it (the key id if the key is unknown)."""
    reviewer = payload.reviewer
    if reviewer is None:
        return {"@type": "Organization", "name": reviewer_names.get(signer, signer)}
    author: dict[str, Any] = {"@type": reviewer.type, "name": reviewer.name}
    if web_url(reviewer.url):
        author["url"] = reviewer.url
    return author


def claim_reviews(
    record: ClaimRecord, *, base_url: str | None = None, reviewer_names: dict[str, str]
) -> list[dict[str, Any]]:
    """A ClaimReview for each ``claim.reviewed`` entry of the claim, oldest first.

    ``reviewer_names``: key id -> the name its registration gave, the review's author when
    its entry names no reviewer (``review_author``)."""
    reviews = []
    for item in record.history:
        payload = item.entry.body.payload
        if not isinstance(payload, ClaimReviewed):
            continue
        rating: dict[str, Any] = {"@type": "Rating", "alternateName": payload.rating.textual}
        for field, value in (
            ("ratingValue", payload.rating.value),
            ("bestRating", payload.rating.best),
            ("worstRating", payload.rating.worst),
        ):
            if value is not None:
                rating[field] = value
        item_reviewed: dict[str, Any] = {"@type": "Claim"}
        state = item.state
        author = _agent(state.claimant)
        if author is not None:
            item_reviewed["author"] = author
        if state.made_on:
            item_reviewed["datePublished"] = state.made_on
        appearance = _appearance(record.source)
        if appearance is not None:
            item_reviewed["appearance"] = appearance
            item_reviewed["firstAppearance"] = appearance
        entry_hash = item.entry.hash.hex()
        review: dict[str, Any] = {
            "@context": SCHEMA_ORG,
            "@type": "ClaimReview",
            "@id": f"{LEDGER_NS}entry:{entry_hash}",
            "url": web_url(payload.url)
            or f"{claim_url(base_url, state.claim_id)}#review-{entry_hash}",
            "datePublished": item.entry.body.ts[:10],
            "claimReviewed": state.statement,
            "itemReviewed": item_reviewed,
            "reviewRating": rating,
            "author": review_author(payload, item.entry.body.signer, reviewer_names),
        }
        if payload.note:
            review["reviewBody"] = payload.note
        reviews.append(review)
    return reviews


# -- W3C Web Annotation ---------------------------------------------------------------------


def web_annotation(record: ClaimRecord, *, base_url: str | None = None) -> dict[str, Any]:
    """The claim's quote as a W3C Web Annotation: its statement describes a target selected
    in the source's normalized text by quote (exact, prefix, suffix) and by position
    (Unicode code points, start inclusive, end exclusive)."""
    claim = record.claim
    selector = claim.selector
    text_sha = record.source.text_sha256 if record.source else None
    target: dict[str, Any] = {
        "type": "SpecificResource",
        "source": text_iri(text_sha) if text_sha else f"{LEDGER_NS}source:{claim.source_sha256}",
        "selector": [
            {
                "type": "TextQuoteSelector",
                "exact": selector.exact,
                "prefix": selector.prefix,
                "suffix": selector.suffix,
            },
            {"type": "TextPositionSelector", "start": selector.start, "end": selector.end},
        ],
    }
    if record.source is not None and record.source.uri:
        target["scope"] = record.source.uri
    return {
        "@context": ANNOTATION_CONTEXT,
        "id": f"{claim_url(base_url, claim.claim_id)}#quote",
        "type": "Annotation",
        "motivation": "describing",
        "created": claim.recorded_at,
        "creator": {"id": f"{LEDGER_NS}key:{claim.signer}", "type": "Software"},
        "body": {
            "type": "TextualBody",
            "value": claim.statement,
            "format": "text/plain",
            "purpose": "describing",
        },
        "target": target,
    }


# -- W3C PROV-O -------------------------------------------------------------------------------

PROV_CONTEXT: dict[str, Any] = {
    "prov": PROV,
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "cl": LEDGER_NS,
    "label": "rdfs:label",
    "atLocation": {"@id": "prov:atLocation", "@type": "@id"},
    "startedAtTime": {"@id": "prov:startedAtTime", "@type": "xsd:dateTime"},
    "endedAtTime": {"@id": "prov:endedAtTime", "@type": "xsd:dateTime"},
    "generatedAtTime": {"@id": "prov:generatedAtTime", "@type": "xsd:dateTime"},
    "wasGeneratedBy": {"@id": "prov:wasGeneratedBy", "@type": "@id"},
    "wasAssociatedWith": {"@id": "prov:wasAssociatedWith", "@type": "@id"},
    "wasAttributedTo": {"@id": "prov:wasAttributedTo", "@type": "@id"},
    "wasDerivedFrom": {"@id": "prov:wasDerivedFrom", "@type": "@id"},
    "wasRevisionOf": {"@id": "prov:wasRevisionOf", "@type": "@id"},
    "wasQuotedFrom": {"@id": "prov:wasQuotedFrom", "@type": "@id"},
    "used": {"@id": "prov:used", "@type": "@id"},
    "actedOnBehalfOf": {"@id": "prov:actedOnBehalfOf", "@type": "@id"},
    "kind": "cl:kind",
    "seq": {"@id": "cl:seq", "@type": "xsd:integer"},
    "value": "prov:value",
}
"""Inline, so the document expands with no network: every term is a PROV-O IRI, or one of
the ledger's own (``cl:kind``, ``cl:seq``) under ``urn:claims-ledger:``."""


def _entry_id(entry: SignedEntry) -> str:
    return f"cl:entry:{entry.hash.hex()}"


def provenance_graph(
    record: ClaimRecord, *, key_names: dict[str, str], base_url: str | None = None
) -> dict[str, Any]:
    """The claim's provenance in PROV-O: the source (an Entity at its original location),
    each entry of the chain (an Entity generated by an Activity of its kind, associated
    with the key that signed it and derived from the entry it follows), the claimant the
    extraction attributes the quote to (an Agent the claim entity is attributed to), and
    the claim (an Entity derived from its newest entry)."""
    claim, source = record.claim, record.source
    graph: list[dict[str, Any]] = []
    source_id = f"cl:source:{claim.source_sha256}"
    source_node: dict[str, Any] = {"@id": source_id, "@type": "prov:Entity"}
    if source is not None:
        if source.title:
            source_node["label"] = source.title
        if source.uri and source.uri.startswith(("http://", "https://")):
            source_node["atLocation"] = source.uri
        if source.publisher:
            publisher_id = f"cl:publisher:{source.publisher}"
            graph.append(
                {"@id": publisher_id, "@type": "prov:Organization", "label": source.publisher}
            )
            source_node["wasAttributedTo"] = publisher_id
    graph.append(source_node)
    keys_seen: set[str] = set()
    previous: str | None = None
    for item in record.history:
        entry = item.entry
        body = entry.body
        node_id = _entry_id(entry)
        activity_id = f"cl:activity:{entry.hash.hex()}"
        key_id = f"cl:key:{body.signer}"
        if body.signer not in keys_seen:
            keys_seen.add(body.signer)
            graph.append(
                {
                    "@id": key_id,
                    "@type": "prov:SoftwareAgent",
                    "label": key_names.get(body.signer, body.signer),
                }
            )
        activity: dict[str, Any] = {
            "@id": activity_id,
            "@type": "prov:Activity",
            "kind": body.kind,
            "startedAtTime": body.ts,
            "endedAtTime": body.ts,
            "wasAssociatedWith": key_id,
        }
        node: dict[str, Any] = {
            "@id": node_id,
            "@type": "prov:Entity",
            "kind": body.kind,
            "seq": body.seq,
            "generatedAtTime": body.ts,
            "wasGeneratedBy": activity_id,
            "wasAttributedTo": key_id,
        }
        payload = body.payload
        if isinstance(payload, ClaimExtracted | ClaimExtractedV1):
            activity["used"] = source_id
            node["wasQuotedFrom"] = source_id
            node["value"] = payload.selector.exact
        else:  # the entry it follows: the one before, or one on an earlier page (decision 0045)
            follows = getattr(payload, "follows", None)
            earlier = previous or (f"cl:entry:{follows}" if isinstance(follows, str) else None)
            if earlier is not None:
                activity["used"] = earlier
                relation = "wasRevisionOf" if isinstance(payload, Revision) else "wasDerivedFrom"
                node[relation] = earlier
        if isinstance(payload, ClaimReviewed):
            node["value"] = payload.rating.textual
        elif isinstance(payload, ClaimRetracted):
            node["value"] = payload.reason
        graph.extend((activity, node))
        previous = node_id
    claim_node: dict[str, Any] = {
        "@id": f"cl:claim:{claim.claim_id}",
        "@type": "prov:Entity",
        "label": claim.statement,
        "value": claim.status,
    }
    if base_url:
        claim_node["atLocation"] = claim_url(base_url, claim.claim_id)
    if previous is not None:
        claim_node["wasDerivedFrom"] = previous
    claimant = _claimant_agent(claim.claimant)
    if claimant is not None:
        graph.append(claimant)
        claim_node["wasAttributedTo"] = claimant["@id"]
    graph.append(claim_node)
    return {"@context": PROV_CONTEXT, "@graph": graph}


def _claimant_agent(claimant: Claimant) -> dict[str, Any] | None:
    name = claimant.name or claimant.role
    if name is None:
        return None
    kinds = {"person": "prov:Person", "organization": "prov:Organization"}
    node: dict[str, Any] = {
        "@id": f"cl:claimant:{json.dumps([claimant.name, claimant.role, claimant.affiliation])}",
        "@type": ["prov:Agent", kinds[claimant.kind]] if claimant.kind in kinds else "prov:Agent",
        "label": name,
    }
    if claimant.affiliation:
        node["actedOnBehalfOf"] = f"cl:organization:{claimant.affiliation}"
    return node


# -- streaming ----------------------------------------------------------------------------------


def claim_records(ledger: Ledger, *, page: int = PAGE) -> Iterator[ClaimRecord]:
    """Every claim in log order with its source and history, a page at a time."""
    order = ClaimOrder()
    after = None
    while True:
        claims = ledger.find_claims(ClaimFilter(), order=order, limit=page, after=after)
        if not claims:
            return
        sources = ledger.sources_by_sha(sorted({c.source_sha256 for c in claims}))
        histories = ledger.history_many([c.claim_id for c in claims])
        for claim, history in zip(claims, histories, strict=True):
            yield ClaimRecord(claim, sources.get(claim.source_sha256), history)
        if len(claims) < page:
            return
        after = position_of(claims[-1], order)


def documents(
    ledger: Ledger, fmt: Format, *, base_url: str | None = None
) -> Iterator[dict[str, Any]]:
    """The JSON documents of a whole-ledger export in ``fmt`` (not ``csv``)."""
    if fmt not in FORMATS or fmt == "csv":
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}; csv has rows")
    names: dict[str, str] = {str(key.key_id): key.name for key in ledger.list_keys()}
    build: Callable[[ClaimRecord], Iterable[dict[str, Any]]] = {
        "jsonl": lambda r: [claim_json(r)],
        "claimreview": lambda r: claim_reviews(r, base_url=base_url, reviewer_names=names),
        "annotations": lambda r: [web_annotation(r, base_url=base_url)],
        "prov": lambda r: [provenance_graph(r, key_names=names, base_url=base_url)],
    }[fmt]
    for record in claim_records(ledger):
        yield from build(record)


_EMBED_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def embeddable_json(document: object, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``document`` as JSON that is safe to paste inside an HTML ``<script>`` element, as
    ClaimReview markup is meant to be: ``<``, ``>`` and ``&`` (and U+2028/U+2029) are
    written as ``\\u`` escapes, so a reviewer's name holding ``</script>`` or ``<!--``
    cannot end the element or start a comment. The JSON's value is unchanged. The claim
    URL's answers (``api.pages``) and ``export`` files both write it."""
    text = json.dumps(document, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    return text.translate(_EMBED_ESCAPES)


def write_export(
    ledger: Ledger,
    fmt: Format,
    out: TextIO,
    *,
    base_url: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a whole-ledger export to ``out`` (JSON Lines, or CSV with a header row);
    returns the number of records. ``progress`` is called with the count as it grows."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in claim_records(ledger):
            writer.writerow(csv_row(record))
            count += 1
            if progress is not None:
                progress(count)
        return count
    for document in documents(ledger, fmt, base_url=base_url):
        out.write(embeddable_json(document, sort_keys=True) + "\n")
        count += 1
        if progress is not None:
            progress(count)
    return count
