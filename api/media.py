"""Response media types of GraphQL over HTTP, chosen from a request's ``Accept`` header,
and the JSON error bodies every refusal is written in.

The GraphQL-over-HTTP specification knows two response types: the preferred
``application/graphql-response+json``, whose status codes tell a request error (400)
from an executed operation (200), and the legacy ``application/json``, for which every
response to a well-formed request is 200. Both are UTF-8 JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response
from starlette.types import Scope

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
SUPPORTED = (GRAPHQL_RESPONSE, JSON)
ACCEPTABLE = f"{GRAPHQL_RESPONSE}; charset=utf-8, {JSON}; charset=utf-8"
"""What a 406 answer says the server can send."""

_UTF8 = ("utf-8", "utf8")


def _ranges(accept: str) -> list[tuple[str, str, dict[str, str], float]]:
    """``(type, subtype, parameters, q)`` of each well-formed media range; a range whose
    ``q`` is not a number from 0 to 1 is left out (RFC 9110 §12.4.2)."""
    ranges = []
    for part in accept.split(","):
        kind, *raw_params = (p.strip() for p in part.split(";"))
        main, slash, sub = kind.lower().partition("/")
        if not slash or not main or not sub:
            continue
        params: dict[str, str] = {}
        for raw in raw_params:
            name, _, value = raw.partition("=")
            params[name.strip().lower()] = value.strip().strip('"').lower()
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        if not 0 <= q <= 1:
            continue
        ranges.append((main, sub, params, q))
    return ranges


def _quality(
    media_type: str, ranges: list[tuple[str, str, dict[str, str], float]]
) -> tuple[float, int]:
    """The ``q`` the most specific range matching ``media_type`` (in UTF-8) gives it, and
    that specificity (3: named, 2: ``type/*``, 1: ``*/*``, 0: no range matches)."""
    main, _, sub = media_type.partition("/")
    best = (0.0, 0)
    for r_main, r_sub, params, q in ranges:
        if params.get("charset", "utf-8") not in _UTF8:
            continue  # the response is UTF-8 only
        if (r_main, r_sub) == (main, sub):
            specificity = 3
        elif (r_main, r_sub) == (main, "*"):
            specificity = 2
        elif (r_main, r_sub) == ("*", "*"):
            specificity = 1
        else:
            continue
        if specificity > best[1] or (specificity == best[1] and q > best[0]):
            best = (q, specificity)
    return best


def negotiate(accept: str | None) -> str | None:
    """The response media type for a request with this ``Accept`` header, or None when
    it accepts neither (the server answers 406).

    No header (or an empty one) means ``application/graphql-response+json``, as the
    specification says from 2025 on. Otherwise the type with the highest ``q`` wins
    (``q=0``: not acceptable). At equal ``q`` a type the header names beats one only a
    wildcard covers; two named types go to ``application/graphql-response+json`` (the
    preferred type), two wildcards (``*/*``, ``application/*``: a generic client such as
    curl that named neither) to ``application/json``, which every client reads.
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE
    ranges = _ranges(accept)
    scored = []
    for media_type in SUPPORTED:
        q, specificity = _quality(media_type, ranges)
        if q > 0:
            named = specificity == 3
            preferred = (media_type == GRAPHQL_RESPONSE) == named
            scored.append(((q, named, preferred), media_type))
    if not scored:
        return None
    return max(scored)[1]


def scope_media_type(scope: Scope) -> str:
    """The media type to answer the request in ``scope`` with; ``application/json`` when
    it accepts neither (for refusals that are not worth a 406 of their own)."""
    accept = None
    for name, value in scope.get("headers", []):
        if name == b"accept":
            accept = (
                value.decode("latin-1") if accept is None else f"{accept},{value.decode('latin-1')}"
            )
    return negotiate(accept) or JSON


def content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8"


def error_body(message: str, code: str | None = None) -> dict[str, object]:
    """``{"errors": [{"message": …, "extensions": {"code": …}}]}``: a GraphQL response
    holding one request error (no ``data``)."""
    error: dict[str, object] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return {"errors": [error]}


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An HTTP refusal whose body is a GraphQL response with one error."""
    body = json.dumps(error_body(message, code), separators=(",", ":")).encode("utf-8")
    return Response(
        body,
        status_code=status,
        headers=dict(headers or {}),
        media_type=content_type(media_type),
    )
