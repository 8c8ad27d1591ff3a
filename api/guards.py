"""Guards for a served ledger against slow and greedy clients.

- ``header_timeout_protocol``: uvicorn's HTTP protocol with a deadline for a request's
  line and headers (uvicorn has none: a client dribbling header bytes would hold its
  connection open for ever) and a size limit for them, ``MAX_HEAD_BYTES`` (uvicorn has
  none either: the parser gathered a 30 MB header on the event loop, stalling every other
  request for seconds);
- ``BodyTimeout``: ASGI middleware answering 408 and closing the connection when a
  request's body does not arrive in time;
- ``MutationRateLimit``: ASGI middleware refusing mutations past a rate per bearer token
  and per client address with 429, before anything runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import cast

import limits
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    parse,
)
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from api.apq import requested_hash
from api.limits import MAX_QUERY_BYTES, MAX_TOKENS
from api.media import error_body, error_response, scope_media_type

RATE_LIMITED = "RATE_LIMITED"
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
HEADERS_TOO_LARGE = "REQUEST_HEADER_FIELDS_TOO_LARGE"
MAX_HEAD_BYTES = 128 * 1024
"""Bytes a request's line and headers may take at most: room for the longest URL the
parser takes (64 KiB; httptools refuses a longer one with 400) and 64 KiB of headers.
Past them the answer is 431 and the connection is closed."""


def _closing_answer(status: str, message: str, code: str) -> bytes:
    """The whole answer, written straight to the transport before the connection closes,
    to a request whose line and headers never completed (the request is unknown, so its
    Accept is too: the body is application/json)."""
    body = json.dumps(error_body(message, code), separators=(",", ":")).encode("utf-8")
    return (
        f"HTTP/1.1 {status}\r\n".encode("ascii")
        + b"content-type: application/json; charset=utf-8\r\n"
        + f"content-length: {len(body)}\r\n".encode("ascii")
        + b"connection: close\r\n\r\n"
        + body
    )


def header_timeout_protocol(
    seconds: float, max_head_bytes: int = MAX_HEAD_BYTES
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing connections whose request line and headers
    are not complete ``seconds`` after the connection opened or after the previous
    response on it was sent (a 408 is written first), or that have sent more than
    ``max_head_bytes`` without completing them (a 431 is written first). The bytes are
    counted as they arrive, before the parser sees them: it never holds more than the
    limit (give or take the 3 bytes of a blank line split across two reads)."""

    timed_out = _closing_answer(
        "408 Request Timeout",
        f"request headers not received within {seconds:g} s",
        REQUEST_TIMEOUT,
    )
    too_large = _closing_answer(
        "431 Request Header Fields Too Large",
        f"request line and headers over {max_head_bytes} bytes",
        HEADERS_TOO_LARGE,
    )

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _head_bytes = 0
        _in_body = False
        """The parser is in a request's body (which may still arrive after its answer,
        a 413 for one: those bytes are not a head)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if not self._in_body:  # between requests or in a request's line and headers
                end = data.find(b"\r\n\r\n")
                self._head_bytes += len(data) if end < 0 else end + 4
                if self._head_bytes > max_head_bytes:
                    self._disarm()
                    self.transport.write(too_large)
                    self.transport.close()
                    return
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a request's headers are complete
                self._disarm()

        def on_headers_complete(self) -> None:
            self._in_body, self._head_bytes = True, 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._between_requests():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
            if app is service_unavailable:  # uvicorn's plain-text 503 past the limit
                app = cast(ASGI3Application, _service_unavailable)
            super()._start_asgi_task(cycle, app)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expired(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or not self._between_requests():
                return
            self.transport.write(timed_out)
            self.transport.close()

    return HeaderTimeoutProtocol


async def _service_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """The 503 past a worker's connection limit (``limit_concurrency``), as JSON."""
    response = error_response(
        503,
        "the server is at its connection limit: retry shortly",
        code=SERVICE_UNAVAILABLE,
        media_type=scope_media_type(scope),
        headers={"connection": "close"},
    )
    await response(scope, receive, send)


class _SlowBody(Exception):
    pass


class BodyTimeout:
    """ASGI middleware: a request whose body has not fully arrived ``seconds`` after its
    headers gets 408 and its connection is closed; nothing runs on a partial body."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        complete = False

        async def timed() -> Message:
            nonlocal complete
            if complete:  # waiting for a disconnect is not reading the body
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise _SlowBody from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, timed, send)
        except _SlowBody:
            response = error_response(
                408,
                f"request body not received within {self.seconds:g} s",
                code=REQUEST_TIMEOUT,
                media_type=scope_media_type(scope),
                headers={"connection": "close"},
            )
            await response(scope, receive, send)


def mutation_cost(body: bytes, persisted: Callable[[str], str | None] | None = None) -> int:
    """How many root mutation fields the GraphQL request in ``body`` (JSON) would run.

    0 for queries and for anything the server would refuse before running it (not JSON,
    no single operation selected, a document that does not parse or is over the token
    limit), so only what could write is counted. A request naming a persisted query by
    hash alone is sized by the query ``persisted`` holds under that hash (``api.apq``).
    """
    try:
        data = json.loads(body)  # as strawberry decodes it
    except (ValueError, RecursionError):  # refused with 400 by the GraphQL view
        return 0
    if isinstance(data, dict) and data.get("query") is None and persisted is not None:
        sha = requested_hash(data)
        held = persisted(sha) if sha is not None else None
        if held is not None:
            data = {**data, "query": held}
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return 0
    if len(data["query"].encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        return 0  # refused by the document limits before anything runs
    name = data.get("operationName")
    return _document_cost(data["query"], name if isinstance(name, str) else None)


@lru_cache(maxsize=1000)
def _document_cost(query: str, operation_name: str | None) -> int:
    """``mutation_cost`` of a query text (cached: every request runs this on the event
    loop, and clients send the same few queries again and again)."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return 0
    operation = _selected(document, operation_name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return max(1, _count_fields(operation.selection_set.selections, fragments, set()))


def _selected(document: DocumentNode, name: object) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if isinstance(name, str) and name:
        return next((op for op in operations if op.name and op.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def _count_fields(
    selections: Iterable[SelectionNode],
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    count = 0
    for selection in selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_fields(selection.selection_set.selections, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                count += _count_fields(fragments[name].selection_set.selections, fragments, seen)
    return count


class MutationRateLimit:
    """ASGI middleware: at most ``per_token`` mutations per bearer token and ``per_client``
    per client address (rates such as ``30/minute``; None: no limit), counted in a moving
    window in this process. A mutation past either gets 429 with Retry-After and a
    GraphQL error ``RATE_LIMITED`` before anything runs; each root mutation field counts
    once. Queries are never counted."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_token: str | None,
        per_client: str | None,
        persisted: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.persisted = persisted
        self.per_token = limits.parse(per_token) if per_token else None
        self.per_client = limits.parse(per_client) if per_client else None
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not (self.per_token or self.per_client)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnected before the body arrived
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        cost = mutation_cost(body, self.persisted)
        if cost:
            refusal = self._take(scope, cost)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _take(self, scope: Scope, cost: int) -> Response | None:
        """Count ``cost`` mutations against every limit that applies, or the 429 answer
        if any of them has no room (then nothing is counted)."""
        checks: list[tuple[limits.RateLimitItem, str, str]] = []
        if self.per_client is not None:
            client = scope.get("client")
            checks.append((self.per_client, "client", client[0] if client else "unknown"))
        secret = _bearer(scope)
        if self.per_token is not None and secret is not None:
            digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
            checks.append((self.per_token, "token", digest))
        for item, kind, key in checks:
            if not self.limiter.test(item, kind, key, cost=cost):
                reset = self.limiter.get_window_stats(item, kind, key).reset_time
                retry = max(1, math.ceil(reset - time.time()))
                return error_response(
                    429,
                    f"too many mutations from this {kind}: the limit is {item}; "
                    f"retry after {retry} s",
                    code=RATE_LIMITED,
                    media_type=scope_media_type(scope),
                    headers={"retry-after": str(retry)},
                )
        for item, kind, key in checks:
            self.limiter.hit(item, kind, key, cost=cost)
        return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return str(secret.strip())
    return None
