"""The ASGI application: /graphql, /checkpoint (text/plain), /healthz, /events (server-sent
events), /metrics (Prometheus) and the HTML pages (api/pages.py), with the access log
around them all."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, TypeVar

import orjson
from anyio import CapacityLimiter, to_thread
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as HTTPException_
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from api.access_log import ERROR_CODES, OPERATION, RequestLog, access_log, note
from api.apq import PersistedQueries, PersistedQueryError
from api.context import Context, Loaders
from api.cors import CORS
from api.events import EventHub
from api.guards import BodyTimeout, MutationRateLimit
from api.limits import parse_checked
from api.media import (
    ACCEPTABLE,
    GRAPHQL_RESPONSE,
    JSON,
    content_type,
    error_response,
    negotiate,
    scope_media_type,
)
from api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from api.metrics import Metrics
from api.pages import graphiql_html
from api.pages import routes as page_routes
from api.schema import INTERNAL_SERVER_ERROR, TIMEOUT, build_schema
from api.server_settings import DEFAULT_OPERATION_THREADS, ServerSettings
from ledger.config import DEFAULT_API_TIMEOUT, Settings
from ledger.cosigning import CosigningWorker
from ledger.deadline import Deadline
from ledger.errors import NotFound
from ledger.extract.model import Extractor
from ledger.fetch import Fetcher
from ledger.instance import Instance, Signers, open_instance
from ledger.keeper import Child, DerivedKeeper
from ledger.service import Ledger
from ledger.signing import KeyRing
from ledger.tokens import authenticate

T = TypeVar("T")

ALLOWED_METHODS = "GET, POST, OPTIONS"
ACCEPT_POST = "application/json; charset=utf-8"
"""The one request body type (the ``Accept-Post`` header of a 415)."""


def _unsupported_body(header: str | None) -> str | None:
    """Why a POST body with this ``Content-Type`` cannot be read (None: it can):
    ``application/json``, in UTF-8, is the only type taken (uploads and forms are off;
    a form or a text body would let another site's page post without a preflight)."""
    if header is None or not header.strip():
        return "a POST needs a Content-Type: send the request as application/json"
    kind, *params = (p.strip() for p in header.split(";"))
    if kind.lower() != JSON:
        return f"unsupported content type {kind[:80]!r}: send the request as application/json"
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return f"unsupported charset {value.strip()[:80]!r}: send the request in UTF-8"
    return None


def _is_request_error(result: ExecutionResult) -> bool:
    """True when ``result`` holds only errors raised before execution: no data, no error
    at a path, and none that is a time-out or an unexpected failure (those keep
    ``data: null``: the request was good, the server did not finish it)."""
    if result.data is not None or not result.errors:
        return False
    for error in result.errors:
        if error.path or (error.extensions or {}).get("code") in (TIMEOUT, INTERNAL_SERVER_ERROR):
            return False
    return True


def _refusal(exc: HTTPException, media: str) -> Response:
    """strawberry's refusals of a request, as JSON: a mutation over GET is 405 (allowed
    over POST); an operation that cannot be chosen (``operationName`` naming none, or
    several without one) is a GraphQL request error (400, or 200 with application/json);
    the rest are requests that are not well-formed (400)."""
    cause = exc.__cause__
    if isinstance(cause, InvalidOperationTypeError):
        return error_response(
            405,
            f"{exc.reason}: send mutations with POST",
            media_type=media,
            headers={"allow": "POST"},
        )
    if isinstance(cause, CannotGetOperationTypeError):
        return error_response(200 if media == JSON else 400, exc.reason, media_type=media)
    return error_response(exc.status_code, exc.reason, media_type=media)


CATCH_UP_WAIT = 5.0
"""Seconds a starting worker waits for its derived caches to catch up before serving."""


class _BadRequest(Exception):
    """A request body that is JSON but not one GraphQL request object: answered with 400."""


GRAPHQL_THREADS = DEFAULT_OPERATION_THREADS
"""GraphQL operations one worker process runs at once, off its event loop (one: see
``api.server_settings.DEFAULT_OPERATION_THREADS``)."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter lock while another waits for it."""


class _OwnLoop:
    """The event loop of one operation thread, made on its first operation and kept for
    the next ones (``asyncio.run`` made and closed one per operation: 0.3 ms of CPU
    each). Closed when the thread ends (anyio ends a worker thread idle for 10 s), as its
    thread-local slot is dropped."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run ``operation`` to its end, then cancel what it left scheduled (as
        ``asyncio.run`` does), so nothing of it runs during the next operation."""
        try:
            return self.loop.run_until_complete(operation)
        finally:
            left = asyncio.all_tasks(self.loop)
            if left:
                for task in left:
                    task.cancel()
                self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))

    def __del__(self) -> None:
        self.loop.close()


_threads = threading.local()


def _in_own_loop(operation: Coroutine[Any, Any, T]) -> T:
    own: _OwnLoop | None = getattr(_threads, "own", None)
    if own is None:
        own = _threads.own = _OwnLoop()
    return own.run(operation)


class _GraphQL(GraphQL[Context, None]):
    """Each operation (parse, validation, execution) runs in a worker thread on that
    thread's event loop, at most ``threads`` at once (the rest wait their turn, their deadline
    running), so the server's event loop keeps answering /healthz, /checkpoint and cheap
    queries while heavy ones run. The operation's DataLoaders batch on its own loop."""

    def __init__(
        self,
        base: Context,
        *,
        introspection: bool,
        timeout: float | None,
        threads: int = GRAPHQL_THREADS,
        persisted: PersistedQueries | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            build_schema(introspection=introspection),
            graphql_ide="graphiql" if introspection else None,
            allow_queries_via_get=True,
        )
        self.base = base
        self.timeout = timeout
        self.threads = threads
        self.persisted = persisted if persisted is not None else PersistedQueries(1000)
        self.metrics = metrics
        self.limiter: CapacityLimiter | None = None
        # Operations hold the interpreter lock while they compute; the event loop's thread
        # asks for it back after at most this long (Python's default is 5 ms, and a request
        # to /healthz needs it a dozen times).
        sys.setswitchinterval(SWITCH_INTERVAL)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: Any,
    ) -> ExecutionResult:
        if self.limiter is None:  # made on the serving loop
            self.limiter = CapacityLimiter(self.threads)
        note(request.scope, OPERATION, _operation_name(request_data))
        run = super().execute_single

        def in_thread() -> ExecutionResult:
            return _in_own_loop(
                run(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                )
            )

        return await to_thread.run_sync(in_thread, limiter=self.limiter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._respond(request)
        response.headers.add_vary_header("Accept")
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        """The answer to one request, by the GraphQL-over-HTTP specification: its method
        (405), the media type it accepts (406), its body's type (415), the request
        itself (400), then the operation's result, whose status depends on the media
        type. Every refusal's body is JSON: ``{"errors": [{"message": …}]}``."""
        method = request.method
        media = negotiate(request.headers.get("accept"))
        fallback = media or JSON
        if method == "OPTIONS":
            return Response(status_code=204, headers={"allow": ALLOWED_METHODS})
        if method not in ("GET", "POST"):
            return error_response(
                405,
                f"{method} is not supported on /graphql: use GET (queries) or POST",
                media_type=fallback,
                headers={"allow": ALLOWED_METHODS},
            )
        if self.should_render_graphql_ide(request):  # type: ignore[arg-type]
            if self.graphql_ide:
                return await self.render_graphql_ide(request)
            return error_response(404, "Not Found", media_type=fallback)
        if media is None:
            return error_response(
                406,
                f"none of the media types in Accept can be sent: use {GRAPHQL_RESPONSE} or {JSON}",
                headers={"accept": ACCEPTABLE},
            )
        if method == "POST":
            refusal = _unsupported_body(request.headers.get("content-type"))
            if refusal is not None:
                return error_response(
                    415, refusal, media_type=media, headers={"accept-post": ACCEPT_POST}
                )
            # strawberry compares the type case-sensitively: hand it the canonical spelling.
            scope = request.scope
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k != b"content-type"),
                (b"content-type", JSON.encode("ascii")),
            ]
            request = Request(scope, request.receive)
        request.state.media_type = media
        try:
            response = await self.run(request)
        except _BadRequest as exc:  # raised while parsing the body, before any response
            return error_response(400, str(exc), media_type=media)
        except PersistedQueryError as exc:
            return self._persisted_refusal(exc, media)
        except HTTPException as exc:
            return _refusal(exc, media)
        response.headers["content-type"] = content_type(media)
        if getattr(request.state, "request_error", False) and media == GRAPHQL_RESPONSE:
            response.status_code = 400
        return response

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL on the project's own assets (``api/static/vendor``), no CDN."""
        return graphiql_html()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """GraphiQL for a browser's GET without a query, not for a GET naming a persisted
        query by hash (``extensions`` without ``query``)."""
        if request.query_params.get("extensions") is not None:
            return False
        return super().should_render_graphql_ide(request)

    def _persisted_refusal(self, exc: PersistedQueryError, media: str) -> Response:
        """A persisted query not held (200 with application/json, as Apollo Server
        answers; 400 with graphql-response+json, as for every request error: clients
        read the error either way) or a malformed one (400)."""
        if self.metrics is not None and exc.code != "BAD_REQUEST":
            self.metrics.persisted.labels("miss").inc()
        status = exc.status if exc.status != 200 or media == JSON else 400
        return error_response(
            status,
            exc.message,
            code=exc.code,
            media_type=media,
            headers={"cache-control": "private, no-cache, must-revalidate"},
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """The response body; notes on the request whether the result is a request error
        (nothing executed: a document that does not parse, breaks a limit or does not
        validate, variables that do not coerce). With graphql-response+json such a
        response has no ``data`` entry and gets 400; with application/json it keeps
        ``data: null`` and 200, as before."""
        body = await super().process_result(request, result)
        request_error = _is_request_error(result)
        request.state.request_error = request_error
        # An error without a code, before execution, is a document that did not validate.
        fallback = "GRAPHQL_VALIDATION_FAILED" if request_error else "GRAPHQL_ERROR"
        codes = [str((e.extensions or {}).get("code", fallback)) for e in result.errors or []]
        if codes:
            note(request.scope, ERROR_CODES, sorted(set(codes))[:10])
        if request_error and getattr(request.state, "media_type", JSON) == GRAPHQL_RESPONSE:
            body.pop("data", None)
        return body

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and data.operation_name == "":
            data.operation_name = None  # the same as no operationName (the spec says)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            raise HTTPException(
                400,
                "The GraphQL operation's `operationName` must be a string or null, if provided.",
            )
        if isinstance(data, GraphQLRequestData):
            hit = data.query is None
            data.query = self.persisted.resolve(data.query, data.extensions)
            if self.metrics is not None and data.extensions and "persistedQuery" in data.extensions:
                self.metrics.persisted.labels("hit" if hit else "registered").inc()
        return data

    def encode_json(self, data: object) -> bytes:
        """The response body: orjson writes the JSON several times faster than the
        standard library (the same compact JSON; non-ASCII as UTF-8, not ``\\u`` escapes)."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = super().decode_json(data)
            too_deep = _depth(value) > MAX_JSON_DEPTH
        except RecursionError:  # the decoder recursed once per level
            too_deep = True
        if too_deep:
            raise _BadRequest(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, list):
            raise _BadRequest(
                "batched requests are not supported: send one operation per request, "
                "as a JSON object, not an array"
            )
        if not isinstance(value, dict):
            raise _BadRequest('the request body must be a JSON object: {"query": …}')
        return value

    async def get_context(self, request: Any, response: Any = None) -> Context:
        # The request's clock starts here, before its body is read and parsed.
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        token = None
        if scheme.lower() == "bearer" and secret:
            token = authenticate(self.base.ledger.store, secret.strip())
        return replace(
            self.base,
            token=token,
            loaders=Loaders(self.base.ledger),
            deadline=Deadline(self.timeout) if self.timeout is not None else None,
        )


def _operation_name(data: GraphQLRequestData) -> str | None:
    """The name of the operation a request runs: its ``operationName``, else the name of
    its document's only operation (None: anonymous, or not known)."""
    if isinstance(data.operation_name, str):
        return data.operation_name
    if not isinstance(data.query, str):
        return None
    try:
        document = parse_checked(data.query)  # cached: parsing again costs nothing
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None


MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32
"""Arrays and objects in a request body, nested (a GraphQL request needs a handful)."""


def _depth(value: object) -> int:
    """How deeply ``value`` nests arrays and objects (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack += [
                    (inner, level + 1)
                    for inner in (item.values() if isinstance(item, dict) else item)
                ]
    return deepest


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413, before any work."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, f"request body over {self.limit} bytes", media_type=scope_media_type(scope)
        )
        await response(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405, as JSON error bodies."""
    assert isinstance(exc, HTTPException_)
    return error_response(
        exc.status_code,
        exc.detail,
        media_type=scope_media_type(request.scope),
        headers=exc.headers,
    )


def create_app(
    ledger: Ledger,
    *,
    introspection: bool = True,
    timeout: float | None = DEFAULT_API_TIMEOUT,
    keyring: KeyRing | Signers | None = None,
    extractor: Extractor | None = None,
    fetcher: Fetcher | None = None,
    body_timeout: float | None = None,
    mutation_rate: str | None = None,
    client_mutation_rate: str | None = None,
    threads: int = GRAPHQL_THREADS,
    cors_origins: tuple[str, ...] = (),
    server: ServerSettings | None = None,
    cosigning: CosigningWorker | None = None,
    on_stop: Sequence[Callable[[], None]] = (),
) -> Starlette:
    """An ASGI app serving ``ledger``; ``introspection`` turns on introspection and GraphiQL;
    each GraphQL request may run ``timeout`` seconds (None: no limit); at most ``threads``
    GraphQL operations run at once, off the event loop.

    Mutations sign with keys from ``keyring`` (the one each caller's token names).
    A request body must arrive within ``body_timeout`` seconds (None: no limit);
    ``mutation_rate`` and ``client_mutation_rate`` (e.g. ``30/minute``; None: none)
    limit mutations per bearer token and per client address. Pages on the web origins in
    ``cors_origins`` may call the API from a browser (CORS; none by default).

    ``server`` sets the access log, /metrics, the persisted-query cache and /events
    (``ServerSettings``; defaults: all on); ``cosigning`` is the witnesses' worker whose
    status /metrics reports. ``on_stop`` run, in order and off the event loop, when the
    server stops (its lifespan's end, after the last request).
    """
    server = server or ServerSettings()

    async def checkpoint(request: Request) -> Response:
        try:
            note = ledger.cosigned_note()  # the log's note, then any witness cosignatures
        except NotFound:
            return PlainTextResponse("no checkpoint yet\n", status_code=404)
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")

    watch = HeadWatch(ledger)

    async def healthz(request: Request) -> Response:
        size = await watch.size()
        if size is None:
            return JSONResponse(
                {"status": "unavailable", "error": "the database has not answered lately"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "entries": size})

    events = EventHub(
        ledger,
        poll=server.event_poll,
        heartbeat=server.event_heartbeat,
        max_streams=server.event_streams,
    )
    persisted = PersistedQueries(server.apq_cache_size)

    def gauges() -> dict[str, int]:
        return {
            "claims_ledger_event_streams": len(events.streams),
            "claims_ledger_persisted_query_cache_entries": len(persisted),
        }

    metrics = Metrics(ledger, cosigning=cosigning, gauges=gauges) if server.metrics else None
    if metrics is not None:
        _count_batches(ledger, metrics)

    async def scrape(request: Request) -> Response:
        assert metrics is not None
        text = await to_thread.run_sync(metrics.exposition)
        return Response(text, media_type=METRICS_CONTENT_TYPE)

    base = Context(ledger=ledger, keyring=keyring, extractor=extractor, fetcher=fetcher)
    graphql = _GraphQL(
        base,
        introspection=introspection,
        timeout=timeout,
        threads=threads,
        persisted=persisted,
        metrics=metrics,
    )
    middleware = [Middleware(BodyLimit)]
    if body_timeout is not None:  # outermost: every read of the body is timed
        middleware.insert(0, Middleware(BodyTimeout, seconds=body_timeout))
    if mutation_rate or client_mutation_rate:  # innermost: sees the size-limited body
        middleware.append(
            Middleware(
                MutationRateLimit,
                per_token=mutation_rate,
                per_client=client_mutation_rate,
                persisted=persisted.lookup,
            )
        )
    if cors_origins:  # refusals get CORS headers too
        middleware.insert(0, Middleware(CORS, origins=cors_origins))
    if server.access_log or metrics is not None:  # outermost: sees every answer
        log = access_log if server.access_log else None
        middleware.insert(0, Middleware(RequestLog, log=log, metrics=metrics))
    extra = [Route("/metrics", scrape, methods=["GET"])] if metrics is not None else []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for stop in on_stop:
                await to_thread.run_sync(stop)

    return Starlette(
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={HTTPException_: _http_error},
        routes=[
            Route("/checkpoint", checkpoint, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", graphql),  # the view answers every method (405 for most)
            Route("/events", events, methods=["GET"]),
            *extra,
            # the HTML pages and their assets (api/pages.py); last: it ends in a GET 404 page
            *page_routes(ledger, graphiql=introspection, public_url=server.public_url),
        ],
    )


class HeadWatch:
    """The log's size as /healthz reports it, read off the request path: a probe gets the
    size last read, and a probe that finds it older than ``fresh`` seconds starts one read
    in a thread (the event loop never waits for the database on a probe's behalf). After
    an append by this process the next probe reads the size itself, so this worker's own
    writes show at once; other processes' writes show within ``fresh`` seconds and a probe.
    If no read has succeeded for ``stale`` seconds (the database is down or hangs), the
    size is None: the worker is not healthy."""

    def __init__(self, ledger: Ledger, *, fresh: float = 0.5, stale: float = 10.0) -> None:
        self.ledger = ledger
        self.fresh = fresh
        self.stale = stale
        self.known: int | None = None
        self.read_at = 0.0
        self.reading: asyncio.Task[None] | None = None
        self.appends = 0
        before = ledger.on_checkpoint

        def appended() -> None:  # in the appending thread: must not block
            self.appends += 1
            self.known = None
            if before is not None:
                before()

        ledger.on_checkpoint = appended

    async def size(self) -> int | None:
        if self.known is None:
            self._read()
        elif time.monotonic() - self.read_at > self.fresh and self.reading is None:
            self.reading = asyncio.get_running_loop().create_task(self._read_in_thread())
        if time.monotonic() - self.read_at > self.stale:
            return None
        return self.known

    def _read(self) -> None:
        self.known, self.read_at = self.ledger.head().size, time.monotonic()

    def _read_unless_appended(self) -> None:
        appends = self.appends
        size = self.ledger.head().size
        if appends == self.appends:  # else an append committed meanwhile: the next probe reads
            self.known, self.read_at = size, time.monotonic()

    async def _read_in_thread(self) -> None:
        try:
            await to_thread.run_sync(self._read_unless_appended)
        except Exception:  # kept as "not read lately", which /healthz reports after `stale`
            logging.getLogger("uvicorn.error").warning("/healthz could not read the log's head")
        finally:
            self.reading = None


def _count_batches(ledger: Ledger, metrics: Metrics) -> None:
    """Count the append batches this server commits (after whatever already listens)."""
    before = ledger.on_checkpoint

    def counted() -> None:
        metrics.batches.inc()
        if before is not None:
            before()

    ledger.on_checkpoint = counted


def keeper_child(database_url: str, instance: Instance) -> Child | None:
    """Where the derived keeper's child process finds this ledger (decision 0039); None
    for a database only this process can open (SQLite in memory): refreshed in a thread."""
    if database_url.startswith("sqlite") and (
        ":memory:" in database_url or database_url.rstrip("/") in {"sqlite:", "sqlite:/"}
    ):
        return None
    return Child(database_url=database_url, origin=instance.ledger.origin)


def app_from_env(
    *,
    introspection: bool | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
    server: ServerSettings | None = None,
) -> Starlette:
    """Factory for ``uvicorn --factory api.app:app_from_env`` (settings from LEDGER_*,
    or ``settings``).

    Arguments that are not None override the matching settings (``serve``'s options).
    """
    settings = settings or Settings.from_env()
    if introspection is not None:
        settings = replace(settings, api_introspection=introspection)
    if timeout is not None:
        settings = replace(settings, api_timeout=timeout)
    # Queries need no key: keys are decrypted on the first mutation. Without a log key
    # file the worker serves queries only.
    instance: Instance = open_instance(settings, lazy_keys=True)
    signers = instance.signers
    can_sign = instance.ledger.log_key is not None or signers.exists(signers.log_key_name())
    if not can_sign:
        logging.getLogger("uvicorn.error").warning(
            "no log key file in %s: serving queries only (mutations answer SIGNING_NOT_CONFIGURED)",
            settings.keys_dir,
        )
    if instance.cosigning is not None:
        instance.cosigning.notify()  # catch up: the latest checkpoint may lack cosignatures
    keeper = None
    if can_sign:  # a worker that appends keeps the derived caches; readers never write them
        # Its child process (decision 0039) starts, and catches up, while the map loads.
        keeper = instance.keeper = DerivedKeeper(
            instance.ledger, child=keeper_child(settings.database_url, instance)
        ).attach()
        if keeper.child is not None:
            keeper.start(catching_up=True)
    # The claim-state map, built here rather than at the first proof, claim page or append:
    # at a million keys that request waited 17 s and held the interpreter lock long enough
    # to keep /healthz waiting 3.9 s (docs/abuse-runs.md, 2026-12-01, 1,000,000 entries).
    instance.ledger.load_state_map()
    instance.ledger.load_claimant_names()  # the same for the claimant filter's names
    if keeper is not None:
        if keeper.child is None:  # refreshing in a thread of this process: after the map
            keeper.start()
        # Caches behind the log (appends by a process that stopped before refreshing, an
        # upgrade) are caught up before the worker serves, up to CATCH_UP_WAIT seconds: a
        # small ledger's claimants and lines are then current from the first request; a
        # large one's catch-up goes on in the background past that.
        keeper.catch_up(CATCH_UP_WAIT)
    server = server or ServerSettings.from_env()
    return create_app(
        instance.ledger,
        introspection=settings.api_introspection,
        timeout=settings.api_timeout,
        keyring=signers if can_sign else None,
        extractor=instance.extractor(),
        fetcher=Fetcher.from_env(),
        body_timeout=settings.api_body_timeout,
        mutation_rate=settings.api_mutation_rate,
        client_mutation_rate=settings.api_client_mutation_rate,
        cors_origins=settings.api_cors_origins,
        threads=server.operation_threads,
        server=server,
        cosigning=instance.cosigning,
        # the keeper's child ends, and is waited for, before the worker does: none is left
        # reading a database its server no longer serves (nor holding a connection to it)
        on_stop=[instance.stop_keeper],
    )
