"""Cross-origin requests (CORS) from an explicit allow-list of origins.

A web page on another origin may call the API only if its origin is listed
(``LEDGER_API_CORS_ORIGINS``; none by default). For a listed origin the server answers
the browser's preflight (``OPTIONS`` with ``Access-Control-Request-Method``) with the
methods and headers a GraphQL client sends, and marks every response with that origin;
any other origin gets no CORS header at all, so the browser keeps the response from the
page. The origin is echoed, never ``*``, and credentials (cookies, HTTP auth) are never
allowed: the API authenticates with a bearer token the page sends in ``Authorization``,
which a browser never adds on its own, so a page can act only with a token it was given.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Accept, Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After"
"""Read by a client that was refused with 429 (``Content-Type`` is always readable)."""
MAX_AGE = 600
"""Seconds a browser may cache a preflight answer (Chromium caps it at 7200)."""


class CORS:
    """ASGI middleware answering CORS for the origins in ``origins`` (already normalized:
    ``scheme://host[:port]``, lower case, no default port)."""

    def __init__(self, app: ASGIApp, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin in self.origins
        if scope["method"] == "OPTIONS" and allowed and "access-control-request-method" in headers:
            await self._preflight(origin or "")(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                if allowed:
                    response_headers["access-control-allow-origin"] = origin or ""
                    response_headers["access-control-expose-headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, marked)

    @staticmethod
    def _preflight(origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "access-control-allow-origin": origin,
                "access-control-allow-methods": ALLOW_METHODS,
                "access-control-allow-headers": ALLOW_HEADERS,
                "access-control-max-age": str(MAX_AGE),
                "vary": "Origin",
            },
        )
