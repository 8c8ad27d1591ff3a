"""The auditor's pages: server-rendered HTML over the same core functions GraphQL calls.

``/`` (search and browse claims), ``/claims/{id}`` (a claim, its history and provenance;
JSON and JSON-LD by content negotiation), ``/sources/{sha256}`` (and ``/raw``: the exact
bytes), ``/claimants/{id}``, ``/lines/{id}`` (an SVG chart), ``/log`` (checkpoints,
entries, keys), ``/entries/{seq}``, ``/graphiql`` and ``/static/…``. Every asset is served
from ``api/static/`` (no CDN); Jinja2 escapes every value. URL inputs are checked as the
GraphQL inputs are (ids through ``ledger/ids.py``, filters through ``ClaimFilter``); bad
input is a 400 page, a missing thing a 404 page, never a traceback. Described in
``docs/pages.md``; the negotiation rule in ``docs/decisions/0021-pages.md``.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from anyio import to_thread
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.ids import claim_cursor, parse_claim_cursor
from api.media import error_response, scope_media_type
from ledger import ids
from ledger.claim_events import HistoryItem, Wanted, Window, event_count
from ledger.derived import LineFilter
from ledger.echo import echo
from ledger.errors import InvalidInput, LedgerError, NotFound
from ledger.export import (
    ClaimRecord,
    claim_json,
    claim_reviews,
    embeddable_json,
    provenance_graph,
    web_annotation,
)
from ledger.inputs import web_url
from ledger.proofs import check_tree_size
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder, position_of
from ledger.rules import KeyState
from ledger.service import Ledger, ProvenanceLink, StateProofResult
from ledger.state import ClaimState
from ledger.store import StoredCheckpoint

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PAGE_SIZE = 25
CONTEXT_CHARS = 240
"""Characters of the source's text shown on either side of a claim's quote."""
MAX_CHECKPOINTS = 10
MAX_ENTRIES = 50
MAX_SOURCE_CLAIMS = 500
"""Claims highlighted on a source page (a source has a few dozen at most in practice)."""
PAGE_COUNT_LIMIT = 1000
"""The search page counts matches no further than this ("more than 1,000 claims match"):
an exact count reads every match, so one search for a common word cost 10 times its page
of 25 at 90,000 claims, and grew with the ledger."""
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
"""Where the pages say the ledger is served when no address is configured (``serve``'s
default bind address; ``serve`` passes its own, ``LEDGER_PUBLIC_URL`` overrides it)."""

log = logging.getLogger("claims_ledger.pages")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# -- content negotiation -------------------------------------------------------------

LD_JSON = "application/ld+json"
JSON = "application/json"
HTML = "text/html"
PROFILES = {
    "https://schema.org/ClaimReview": "claimreview",
    "http://schema.org/ClaimReview": "claimreview",
    "http://www.w3.org/ns/anno.jsonld": "annotation",
    "http://www.w3.org/ns/oa": "annotation",
    "http://www.w3.org/ns/prov#": "prov",
    "http://www.w3.org/ns/prov": "prov",
}
"""The ``profile`` of ``application/ld+json`` that names each JSON-LD document."""
FORMAT_PARAMETER = {
    "html": "html",
    "json": "json",
    "claimreview": "claimreview",
    "annotation": "annotation",
    "annotations": "annotation",
    "prov": "prov",
}
"""The ``format`` query parameter's values (it wins over ``Accept``)."""


def _media_ranges(header: str) -> list[tuple[float, int, str, dict[str, str]]]:
    """``Accept``'s media ranges as (q, position, type, parameters), best first."""
    ranges = []
    for position, part in enumerate(header.split(",")[:32]):
        kind, *params = (p.strip() for p in part.split(";"))
        if not kind:
            continue
        parameters: dict[str, str] = {}
        for param in params:
            name, _, value = param.partition("=")
            parameters[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(parameters.pop("q", "1"))
        except ValueError:
            q = 0.0
        if q > 0:
            ranges.append((q, position, kind.lower(), parameters))
    ranges.sort(key=lambda r: (-r[0], r[1]))
    return ranges


def choose_representation(accept: str | None, format: str | None) -> str | None:
    """Which document a claim's URL answers with: ``html``, ``json``, ``claimreview``,
    ``annotation`` or ``prov`` (None: nothing in ``Accept`` can be served, a 406).

    ``format`` (the query parameter) decides when given. Otherwise the best media range
    in ``Accept`` (highest q, then first written): ``text/html`` (or ``*/*``, ``text/*``,
    no header) is the page; ``application/json`` the claim's state (the ``jsonl`` export's
    record); ``application/ld+json`` with a ``profile`` naming ClaimReview, Web Annotation
    or PROV that document, and without a profile (or with another one) the Web Annotation,
    the one JSON-LD document every claim has."""
    if format is not None:
        chosen = FORMAT_PARAMETER.get(format.strip().lower())
        if chosen is None:
            raise InvalidInput(
                f"format {echo(format)} is not one of {', '.join(sorted(FORMAT_PARAMETER))}"
            )
        return chosen
    if accept is None or not accept.strip():
        return "html"
    for _, _, kind, parameters in _media_ranges(accept):
        if kind in (HTML, "application/xhtml+xml", "text/*", "*/*"):
            return "html"
        if kind == JSON:
            return "json"
        if kind in (LD_JSON, "application/*"):
            if kind == "application/*":
                return "json"
            for profile in parameters.get("profile", "").split():
                if profile in PROFILES:
                    return PROFILES[profile]
            return "annotation"
    return None


# -- text with highlights ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of a source's text and the claims whose quotes cover it (none: plain text)."""

    text: str
    claims: tuple[str, ...]


def segments(text: str, spans: Sequence[tuple[int, int, str]]) -> list[Segment]:
    """``text`` cut where any span (start, end, claim id; code points, end exclusive)
    starts or ends, each piece with the claims covering it. Spans outside the text are
    clipped; overlapping spans give pieces covered by several claims."""
    cuts = {0, len(text)}
    clipped = []
    for start, end, claim_id in spans:
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        if start < end:
            clipped.append((start, end, claim_id))
            cuts.update((start, end))
    points = sorted(cuts)
    out = []
    for left, right in itertools.pairwise(points):
        covering = tuple(c for s, e, c in clipped if s <= left and right <= e)
        out.append(Segment(text[left:right], covering))
    return out


def quote_context(text: str, start: int, end: int) -> tuple[str, str, str, bool, bool]:
    """The quote and ``CONTEXT_CHARS`` of text either side; whether text was cut before
    and after."""
    left = max(0, start - CONTEXT_CHARS)
    right = min(len(text), end + CONTEXT_CHARS)
    return text[left:start], text[start:end], text[end:right], left > 0, right < len(text)


# -- the claim line chart ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    y: float
    label: str
    claim_id: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    points: list[ChartPoint]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    path: str


def line_chart(points: Sequence[Any], *, width: int = 720, height: int = 320) -> Chart:
    """An SVG chart's geometry for a claim line's figures: dated figures by date (undated
    ones after them, in line order), values on a linear axis from 0 (or the lowest value
    when negative) to the highest."""
    margin_left, margin_right, margin_top, margin_bottom = 80, 20, 20, 60
    values: list[Decimal] = []
    for point in points:
        try:
            values.append(Decimal(point.value))
        except InvalidOperation:  # stored values are decimals; keep the chart drawable
            values.append(Decimal(0))
    low = min([Decimal(0), *values])
    high = max([Decimal(1), *values])
    span = high - low or Decimal(1)
    plot_w = width - margin_left - margin_right
    plot_h = height - margin_top - margin_bottom
    count = len(points)
    chart_points = []
    x_labels = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        x = margin_left + (plot_w * (index + 0.5) / count if count else 0)
        y = margin_top + plot_h * float((high - value) / span)
        when = point.made_on or "undated"
        label = f"{point.text} — {point.claimant_name or 'unattributed'}, {when}"
        chart_points.append(ChartPoint(round(x, 1), round(y, 1), label, point.claim_id))
        x_labels.append((round(x, 1), when))
    y_ticks = []
    for step in range(5):
        value = low + span * step / 4
        y = margin_top + plot_h * (1 - step / 4)
        y_ticks.append((round(y, 1), f"{value.normalize():f}"))
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(chart_points))
    return Chart(width, height, chart_points, y_ticks, x_labels, path)


# -- the pages ------------------------------------------------------------------------------

FILTER_FIELDS = (
    "search",
    "claimant",
    "source",
    "publisher",
    "status",
    "made_from",
    "made_to",
    "published_from",
    "published_to",
    "recorded_from",
    "recorded_to",
    "extractor",
    "reviewed",
    "signer",
    "quantity_unit",
    "quantity_min",
    "quantity_max",
)
"""The search form's fields: the GraphQL ``ClaimFilterInput``'s, in snake case."""
STATUSES = ("active", "revised", "retracted")


def _one(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value not in (None, "") else None


def claim_filter(params: Mapping[str, str]) -> ClaimFilter:
    """The filter a search form's query string asks for (``InvalidInput`` if any value is
    bad, as in GraphQL)."""
    status = _one(params, "status")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {echo(status)} is not one of {', '.join(STATUSES)}")
    reviewed_text = _one(params, "reviewed")
    reviewed: bool | None = None
    if reviewed_text is not None:
        if reviewed_text not in ("yes", "no"):
            raise InvalidInput(f"reviewed {echo(reviewed_text)} is not yes or no")
        reviewed = reviewed_text == "yes"
    values = {name: _one(params, name) for name in FILTER_FIELDS}
    return ClaimFilter(
        text=values["search"],
        claimant=values["claimant"],
        source=values["source"],
        publisher=values["publisher"],
        status=status,  # type: ignore[arg-type]
        made_from=values["made_from"],
        made_to=values["made_to"],
        published_from=values["published_from"],
        published_to=values["published_to"],
        recorded_from=values["recorded_from"],
        recorded_to=values["recorded_to"],
        extractor=values["extractor"],
        reviewed=reviewed,
        signer=values["signer"],
        quantity_unit=values["quantity_unit"],
        quantity_min=values["quantity_min"],
        quantity_max=values["quantity_max"],
    )


def claim_order(params: Mapping[str, str]) -> ClaimOrder:
    field = _one(params, "order") or "recorded"
    if field not in ORDER_FIELDS:
        raise InvalidInput(f"order {echo(field)} is not one of {', '.join(ORDER_FIELDS)}")
    direction = _one(params, "direction") or "asc"
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"direction {echo(direction)} is not asc or desc")
    return ClaimOrder(field, descending=direction == "desc")


def as_of_param(params: Mapping[str, str]) -> int | None:
    text = _one(params, "as_of")
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise InvalidInput(f"as_of {echo(text)} is not a tree size")
    return int(text)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _env.get_template(name).render(**values)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "content-security-policy": (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
            ),
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
    )


def _json_response(document: object, media_type: str, headers: Mapping[str, str]) -> Response:
    return Response(
        embeddable_json(document, indent=2),
        media_type=media_type,
        headers={**headers, "x-content-type-options": "nosniff"},
    )


def _header_if_safe(name: str, value: str) -> dict[str, str]:
    """``{name: value}`` when ``value`` may go in an HTTP header as it is (visible ASCII
    and spaces, no leading or trailing space), else nothing. A signed entry's media type
    is any short text: one with a line break made the server drop the connection, one
    outside Latin-1 answered 500."""
    if value and value == value.strip() and all(" " <= c <= "~" for c in value):
        return {name: value}
    return {}


def _error(status: int, title: str, message: str) -> HTMLResponse:
    return _render("error.html", status, title=title, message=message, code=status)


Handler = Callable[[Request], Response]


def _page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The handler run off the event loop (the core reads the database), its errors as
    pages: bad input 400, not found 404, anything else 500 without a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            return await to_thread.run_sync(handler, request)
        except NotFound as exc:
            return _error(404, "Not found", str(exc))
        except InvalidInput as exc:
            return _error(400, "Bad request", str(exc))
        except LedgerError as exc:
            return _error(400, "Cannot answer", str(exc))
        except Exception:
            log.exception("page %s failed", request.url.path)
            return _error(500, "Server error", "the page could not be made; the log says why")

    return endpoint


class Pages:
    """The page handlers over one ledger."""

    def __init__(
        self, ledger: Ledger, *, graphiql: bool = True, public_url: str | None = None
    ) -> None:
        self.ledger = ledger
        self.ide = graphiql
        self.public_url = (public_url or DEFAULT_PUBLIC_URL).rstrip("/")
        """The absolute address of the ledger's site, for JSON-LD ids; never the Host
        header, which any client sets as it likes."""

    def _render(self, name: str, **values: Any) -> HTMLResponse:
        return _render(name, graphiql=self.ide, **values)

    def _names(self) -> dict[str, str]:
        return {str(key.key_id): key.name for key in self.ledger.list_keys()}

    # Search and browse -------------------------------------------------------------------

    def claims(self, request: Request) -> Response:
        params = request.query_params
        where = claim_filter(params)
        order = claim_order(params)
        as_of = as_of_param(params)
        after_token = _one(params, "after")
        after = parse_claim_cursor(after_token, order) if after_token else None
        found = self.ledger.find_claims(
            where, order=order, limit=PAGE_SIZE + 1, after=after, as_of=as_of
        )
        page = found[:PAGE_SIZE]
        next_cursor = (
            claim_cursor(order, position_of(page[-1], order)) if len(found) > PAGE_SIZE else None
        )
        total, exact = self.ledger.count_claims_bounded(where, PAGE_COUNT_LIMIT, as_of=as_of)
        kept = {k: v for k, v in params.items() if k != "after" and v != ""}
        return self._render(
            "claims.html",
            claims=page,
            total=total,
            total_exact=exact,
            form={name: params.get(name, "") for name in (*FILTER_FIELDS, "order", "direction")},
            as_of=as_of,
            kept=kept,
            next_cursor=next_cursor,
            first_page=after is None,
            order_fields=ORDER_FIELDS,
            statuses=STATUSES,
        )

    # One claim -----------------------------------------------------------------------------

    def claim(self, request: Request) -> Response:
        params = request.query_params
        chosen = choose_representation(request.headers.get("accept"), params.get("format"))
        claim_id = ids.resolve(self.ledger.store, "claim", request.path_params["claim_id"])
        as_of = as_of_param(params)
        if as_of is not None:
            past = self.ledger.claim_as_of(claim_id, as_of)
            if past is None:
                raise NotFound(f"claim {claim_id} was not in the ledger at tree size {as_of}")
            claim = past
        else:
            claim = self.ledger.claim(claim_id)
        if chosen is None:
            return _negotiation_refused()
        source = self.ledger.source(claim.source_sha256)
        base = self.public_url
        vary = {"vary": "Accept"}
        if chosen in ("json", "annotation"):  # neither lists the claim's entries
            record = ClaimRecord(claim, source, [])
            if chosen == "json":
                return _json_response(claim_json(record), JSON, vary)
            return _json_response(web_annotation(record, base_url=base), LD_JSON, vary)
        window = history_window(params)
        page = self.ledger.history_pages([Wanted(claim, claim.head_seq, window)])[0]
        history = page.items
        older = bool(history) and history[0].entry.kind != "claim.extracted"
        newer = bool(history) and history[-1].entry.seq != claim.head_seq
        pages = _event_pages(request, history, older=older, newer=newer)
        if chosen in ("claimreview", "prov"):
            names = self._names()
            record = ClaimRecord(claim, source, history)
            document: object
            if chosen == "claimreview":
                document = claim_reviews(record, base_url=base, reviewer_names=names)
            else:
                document = provenance_graph(record, key_names=names, base_url=base)
            return _json_response(document, LD_JSON, {**vary, **_link_header(pages)})
        text = self.ledger.source_text(source.sha256)
        before, quote, after, cut_before, cut_after = quote_context(
            text, claim.selector.start, claim.selector.end
        )
        provenance = self._provenance(claim, window, partial=newer) if as_of is None else None
        proofs_ok: dict[int, str] = {}
        if provenance is not None:
            for link in provenance.links:
                try:
                    link.proof.verify()
                    proofs_ok[link.entry.seq] = ""
                except LedgerError as exc:
                    proofs_ok[link.entry.seq] = str(exc)
        verify_data = self._verify_data(provenance) if provenance is not None else None
        identity = self.ledger.claimants_of([claim_id]).get(claim_id)
        line_of: dict[str, str] = {}
        if identity is not None:
            for line in self.ledger.claim_lines(LineFilter(claimant=identity.id), limit=200):
                line_of.update((p.id, line.id) for p in line.points if p.claim_id == claim_id)
        response = self._render(
            "claim.html",
            claim=claim,
            source=source,
            history=history,
            event_count=event_count(claim),
            event_pages=pages,
            before=before,
            quote=quote,
            after=after,
            cut_before=cut_before,
            cut_after=cut_after,
            quote_found=quote == claim.selector.exact,
            provenance=provenance,
            proofs_ok=proofs_ok,
            identity=identity,
            line_of=line_of,
            verify_data=verify_data,
            as_of=as_of,
            b64=_b64,
            hexlify=lambda b: b.hex(),
        )
        response.headers["vary"] = "Accept"
        return response

    def _provenance(self, claim: ClaimState, window: Window, *, partial: bool) -> ShownProvenance:
        """The links the page shows, proven in the latest checkpoint: the source's
        registration and the extraction, then the changes among the events shown."""
        head = self.ledger.provenance_heads([claim.claim_id])[0]
        upto = head.links_upto(claim)
        wanted = [Wanted(claim, upto, window, with_source=True)]
        shown = self.ledger.provenance_links(head.checkpoint, wanted)[0].items
        if len(shown) < 2 or shown[1].entry.hash.hex() != claim.claim_id:
            lead = Wanted(claim, upto, Window(limit=2), with_source=True)
            first = self.ledger.provenance_links(head.checkpoint, [lead])[0].items
            shown = [*first, *(link for link in shown if link.entry.seq > first[-1].entry.seq)]
        total = 1 + event_count(claim)
        return ShownProvenance(
            claim.claim_id, head.checkpoint, shown, head.state, total - len(shown), partial
        )

    def _verify_data(self, provenance: ShownProvenance) -> dict[str, Any]:
        """What the browser's verifier (``static/verify.js``) checks: the log-signed
        checkpoint note, the log key as served (the reader may pin another), each link's
        exact bytes, its signer's public key and its inclusion proof; for each signer key
        its registration (and revocation) entry with inclusion proofs; and the claim-state
        map proof of the claim against the same checkpoint."""
        log_key = next((k for k in self.ledger.list_keys() if k.registered_seq == 0), None)
        size = provenance.checkpoint.size
        lifetimes: dict[str, tuple[int, int | None]] = {}
        for link in provenance.links:
            if link.key is not None:
                revoked = link.key.revoked_seq
                # a revocation after the checkpoint is not in its tree (nor does it matter)
                lifetimes[link.key.key_id] = (
                    link.key.registered_seq,
                    revoked if revoked is not None and revoked < size else None,
                )
        seqs = sorted({s for pair in lifetimes.values() for s in pair if s is not None})
        found = self.ledger.inclusion_proofs(seqs, size) if seqs else []
        proofs = dict(zip(seqs, found, strict=True))

        def proven(seq: int | None) -> dict[str, Any] | None:
            if seq is None:
                return None
            proof = proofs[seq]
            data = self.ledger.entry(seq=seq).data
            return {
                "seq": seq,
                "data": _b64(data),
                "proof": [_b64(h) for h in proof.hashes],
                "size": proof.size,
            }

        state = provenance.state
        return {
            "origin": self.ledger.origin,
            "claimId": provenance.claim_id,
            "checkpoint": provenance.checkpoint.note,
            "logKey": self.ledger.verifier_key(log_key) if log_key is not None else "",
            "keys": {
                key_id: {"registration": proven(registered), "revocation": proven(revoked)}
                for key_id, (registered, revoked) in lifetimes.items()
            },
            "stateProof": _b64(state.proof.to_bytes()) if state is not None else None,
            "omitted": provenance.omitted,
            "latest": not provenance.partial,
            "links": [
                {
                    "seq": link.entry.seq,
                    "role": link.role,
                    "data": _b64(link.entry.data),
                    "publicKey": _b64(link.key.public_key) if link.key is not None else None,
                    "proof": [_b64(h) for h in link.proof.hashes],
                    "size": link.proof.size,
                }
                for link in provenance.links
            ],
        }

    # Sources ---------------------------------------------------------------------------

    def source(self, request: Request) -> Response:
        sha = ids.resolve(self.ledger.store, "source", request.path_params["sha256"])
        source = self.ledger.source(sha)
        text = self.ledger.source_text(sha)
        claims = self.ledger.source_claims(sha)[:MAX_SOURCE_CLAIMS]
        spans = [(c.selector.start, c.selector.end, c.claim_id) for c in claims]
        return self._render(
            "source.html",
            source=source,
            segments=segments(text, spans),
            claims=claims,
            index={c.claim_id: n + 1 for n, c in enumerate(claims)},
        )

    def source_raw(self, request: Request) -> Response:
        sha = ids.resolve(self.ledger.store, "source", request.path_params["sha256"])
        source = self.ledger.source(sha)
        data = self.ledger.source_bytes(sha)
        return Response(
            data,
            media_type="application/octet-stream",
            headers={
                "content-disposition": f'attachment; filename="{sha}"',
                "x-content-type-options": "nosniff",
                **_header_if_safe("x-source-media-type", source.media_type),
                "digest": f"sha-256={_b64(bytes.fromhex(sha))}",
            },
        )

    # Claimants and lines -----------------------------------------------------------------

    def claimant(self, request: Request) -> Response:
        identity_id = ids.resolve(self.ledger.store, "claimant", request.path_params["claimant_id"])
        identity = self.ledger.claimant_identity(identity_id)
        claims = self.ledger.identity_claims(identity.id, limit=200)
        lines = self.ledger.claim_lines(LineFilter(claimant=identity.id), limit=200)
        return self._render("claimant.html", identity=identity, claims=claims, lines=lines)

    def line(self, request: Request) -> Response:
        line_id = request.path_params["line_id"]
        head, sep, index = line_id.partition(":")
        if not sep or not index.isascii() or not index.isdigit() or len(index) > 4:
            raise InvalidInput(f"line id {echo(line_id)} is not <claim id>:<figure index>")
        claim_id = ids.resolve(self.ledger.store, "claim", head)
        line = self.ledger.claim_line(f"{claim_id}:{int(index)}")
        return self._render("line.html", line=line, chart=line_chart(line.points))

    # The log --------------------------------------------------------------------------------

    def log(self, request: Request) -> Response:
        """The log, or with ``as_of`` the log as it stood at that tree size: the
        checkpoints up to it, its entries, and the keys as they were then."""
        params = request.query_params
        as_of = as_of_param(params)
        with self.ledger.snapshot():
            head = self.ledger.head()
            if as_of is not None:
                check_tree_size(as_of, head.size)
            size = head.size if as_of is None else as_of
            start_text = _one(params, "from")
            if start_text is not None and (
                not start_text.isascii() or not start_text.isdigit() or len(start_text) > 16
            ):
                raise InvalidInput(f"from {echo(start_text)} is not a sequence number")
            start = int(start_text) if start_text is not None else max(0, size - MAX_ENTRIES)
            entries = list(self.ledger.entries(start, min(start + MAX_ENTRIES, size)))
            checkpoints = self.ledger.recent_checkpoints(
                MAX_CHECKPOINTS, below=None if as_of is None else as_of + 1
            )
            keys = keys_as_of(self.ledger.list_keys(), size)
            last = self.ledger.entry(seq=size - 1) if as_of is not None and size > 0 else None
        return self._render(
            "log.html",
            head=head,
            size=size,
            as_of=as_of,
            last_ts=last.ts if last is not None else head.last_ts if as_of is None else None,
            entries=entries,
            start=start,
            page=MAX_ENTRIES,
            checkpoints=checkpoints,
            keys=[(k, self.ledger.verifier_key(k)) for k in keys],
            b64=_b64,
        )

    def entry(self, request: Request) -> Response:
        text = request.path_params["seq"]
        if not text.isascii() or not text.isdigit() or len(text) > 16:
            raise InvalidInput(f"entry {echo(text)} is not a sequence number")
        entry = self.ledger.entry(seq=int(text))
        return self._render(
            "entry.html",
            entry=entry,
            b64=_b64,
            hex=entry.data.hex(),
            text=entry.data.decode("utf-8", errors="replace"),
        )

    def graphiql(self, request: Request) -> Response:
        return self._render("graphiql.html", example=EXAMPLE_QUERY)


HISTORY_PAGE = 50
"""Events a claim's page (and its ClaimReview and PROV documents) shows at once: the latest,
with links to the rest by log position (decision 0045)."""


@dataclass(frozen=True, slots=True)
class ShownProvenance:
    """The provenance links a claim's page shows: the source's registration and the
    extraction, then the changes among the events shown; ``omitted`` links lie between
    (on other pages); ``partial``: later events than those shown exist, so the last link
    is not the claim's latest."""

    claim_id: str
    checkpoint: StoredCheckpoint
    links: list[ProvenanceLink]
    state: StateProofResult | None
    omitted: int
    partial: bool


def _position_param(params: Mapping[str, str], name: str) -> int | None:
    text = _one(params, name)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise InvalidInput(f"{name} {echo(text)} is not a log position")
    return int(text)


def history_window(params: Mapping[str, str]) -> Window:
    """Which of a claim's events its page shows: the latest ``HISTORY_PAGE``, those before
    log position ``before``, or the first ones after ``after``."""
    after, before = _position_param(params, "after"), _position_param(params, "before")
    if after is not None and before is not None:
        raise InvalidInput("give after or before, not both")
    if after is not None:
        return Window(after=after, limit=HISTORY_PAGE)
    return Window(before=before, limit=HISTORY_PAGE, from_end=True)


def _event_pages(
    request: Request, history: Sequence[HistoryItem], *, older: bool, newer: bool
) -> dict[str, str]:
    """Links to the events before and after those shown (relative, query kept)."""
    kept = {k: v for k, v in request.query_params.items() if k not in ("after", "before")}
    out = {}
    if older:
        out["prev"] = "?" + urlencode({**kept, "before": history[0].entry.seq})
    if newer:
        out["next"] = "?" + urlencode({**kept, "after": history[-1].entry.seq})
    return out


def _link_header(pages: Mapping[str, str]) -> dict[str, str]:
    """RFC 8288 ``Link`` header naming the other pages of a paged document."""
    if not pages:
        return {}
    return {"link": ", ".join(f'<{url}>; rel="{rel}"' for rel, url in pages.items())}


def keys_as_of(keys: Sequence[KeyState], size: int) -> list[KeyState]:
    """The keys as the log's first ``size`` entries left them: those registered by then,
    a revocation after them not yet made."""
    then = []
    for key in keys:
        if key.registered_seq >= size:
            continue
        if key.revoked_seq is not None and key.revoked_seq >= size:
            key = replace(key, revoked_seq=None, revoked_reason=None)
        then.append(key)
    return then


JSON_TYPES = ("application/json", "application/graphql-response+json")


def wants_json(accept: str | None) -> bool:
    """Whether a client asked for JSON: the best media range of its ``Accept`` names a
    JSON type (``application/json``, ``application/graphql-response+json``,
    ``application/*+json``, ``application/*``). Browsers, ``*/*`` and no header get HTML."""
    for _, _, kind, _ in _media_ranges(accept or ""):
        if kind in (HTML, "application/xhtml+xml", "text/*", "*/*"):
            return False
        if kind in JSON_TYPES or kind == "application/*" or kind.endswith("+json"):
            return True
    return False


async def not_found(request: Request) -> Response:
    """A path nothing serves: the HTML 404 page, or to a client that asks for JSON the
    API's JSON error body (as the router's own 404 gives)."""
    if wants_json(request.headers.get("accept")):
        return error_response(404, "Not Found", media_type=scope_media_type(request.scope))
    return _error(404, "Not found", "nothing is served at this address")


class _CatchAll(Route):
    """A GET route for every path, matching no other method at all (not even partly): a
    POST to a known path still gets the router's 405, to an unknown one its 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.NONE, {}) if match is Match.PARTIAL else (match, child)


class _Static(StaticFiles):
    """``api/static/``, a missing file answered as any unknown path is (``not_found``: the
    HTML page, or JSON to a client that asks for it) rather than always in JSON."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return await not_found(Request(scope))


def _negotiation_refused() -> Response:
    return Response(
        "none of the media types in Accept can be sent: use text/html, application/json or "
        'application/ld+json (with profile="https://schema.org/ClaimReview", '
        '"http://www.w3.org/ns/anno.jsonld" or "http://www.w3.org/ns/prov#")\n',
        status_code=406,
        media_type="text/plain; charset=utf-8",
        headers={"vary": "Accept"},
    )


EXAMPLE_QUERY = """# claims-ledger: claims extracted from sources, each with its quote, its
# history and a provenance chain you can check against a signed checkpoint.
# Press the run button (or Ctrl-Enter). Docs: the "Docs" pane; docs/api.md.
query LatestClaims {
  claims(first: 5, orderBy: {field: RECORDED, direction: DESC}) {
    totalCount
    edges {
      node {
        statement
        status
        claimant { name role }
        madeOn
        quantities { value unit text }
        source { title publisher uri sha256 }
        provenance {
          checkpoint { size }
          links(first: 10) { nodes { role seq signerName keyValid signatureValid } }
        }
      }
    }
  }
}
"""


def graphiql_html() -> str:
    """GraphiQL on this project's assets (``/static/vendor``) opening on ``EXAMPLE_QUERY``:
    what ``/graphql`` serves to a browser."""
    return _env.get_template("graphiql.html").render(example=EXAMPLE_QUERY)


def routes(
    ledger: Ledger, *, graphiql: bool = True, public_url: str | None = None
) -> list[BaseRoute]:
    """The pages' routes, to mount in the app after every other route (the last one
    answers GET for any path nothing else serves: the 404 page); ``/graphiql`` only with
    ``graphiql`` (on when introspection is: GraphiQL needs it). ``public_url``: the
    site's absolute address (``LEDGER_PUBLIC_URL``; ``DEFAULT_PUBLIC_URL`` if None)."""
    pages = Pages(ledger, graphiql=graphiql, public_url=public_url)
    extra = [Route("/graphiql", _page(pages.graphiql), methods=["GET"])] if graphiql else []
    return [
        *extra,
        Route("/", _page(pages.claims), methods=["GET"]),
        Route("/claims", _page(pages.claims), methods=["GET"]),
        Route("/claims/{claim_id}", _page(pages.claim), methods=["GET"]),
        Route("/sources/{sha256}", _page(pages.source), methods=["GET"]),
        Route("/sources/{sha256}/raw", _page(pages.source_raw), methods=["GET"]),
        Route("/claimants/{claimant_id}", _page(pages.claimant), methods=["GET"]),
        Route("/lines/{line_id}", _page(pages.line), methods=["GET"]),
        Route("/log", _page(pages.log), methods=["GET"]),
        Route("/entries/{seq}", _page(pages.entry), methods=["GET"]),
        Mount("/static", app=_Static(directory=STATIC), name="static"),
        _CatchAll("/{path:path}", not_found, methods=["GET"]),
    ]


def year(value: str | None) -> str:
    return value[:4] if value else ""


def _short(value: str, n: int = 12) -> str:
    return value[:n] + "…" if len(value) > n else value


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
    except ValueError:
        return value


def _claim_title(claim: ClaimState) -> str:
    return claim.statement if len(claim.statement) <= 90 else claim.statement[:89] + "…"


_env.filters["web_url"] = web_url  # None unless http(s): only those become links
_env.filters["short"] = _short
_env.filters["when"] = _when
_env.filters["title"] = _claim_title
_env.filters["year"] = year
