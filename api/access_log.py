"""The access log: one JSON line per request on the ``claims_ledger.access`` logger.

Each line is a JSON object with, in this order: ``time`` (RFC 3339, UTC, milliseconds),
``method``, ``path`` (without the query string, which may hold variables), ``operation``
(the GraphQL operation's name when one was chosen, else null), ``status``,
``duration_ms``, ``bytes`` (of the response body), ``client`` (the client's address:
the peer's, or the one a trusted proxy forwarded, ``LEDGER_TRUSTED_PROXIES``) and, when
the response holds GraphQL errors, ``errors``: their ``extensions.code`` values. Nothing
else of the request is written: no headers, tokens, variables or query text.

A client's mistake (a 4xx, a document that does not validate, bad JSON) is this one
line and nothing else; only an unexpected failure also writes its traceback, to the
error log (strawberry's ``strawberry.execution`` logger, or uvicorn's).

``RequestLog`` also feeds the metrics (``api.metrics``), as it times every response.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics

ACCESS_LOGGER = "claims_ledger.access"
OPERATION = "graphql_operation"
"""Key of ``scope["state"]`` where the GraphQL view puts the operation's name."""
ERROR_CODES = "graphql_error_codes"
"""Key of ``scope["state"]`` where the GraphQL view puts its errors' codes."""

access_log = logging.getLogger(ACCESS_LOGGER)


def note(scope: Scope, key: str, value: object) -> None:
    """Record ``value`` for the request's log line (``OPERATION``, ``ERROR_CODES``)."""
    scope.setdefault("state", {})[key] = value


def line(
    *,
    method: str,
    path: str,
    operation: str | None,
    status: int,
    seconds: float,
    size: int,
    client: str | None,
    errors: list[str] | None = None,
    now: float | None = None,
) -> str:
    """One access log line (JSON, one object)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    record: dict[str, Any] = {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "method": method,
        "path": path,
        "operation": operation,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "bytes": size,
        "client": client,
    }
    if errors:
        record["errors"] = errors
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


class RequestLog:
    """ASGI middleware (outermost): times each HTTP request, writes its access line
    (``log``: None writes none) and counts it in ``metrics`` (None: not counted)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        log: logging.Logger | None = access_log,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.log = log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.log is None and self.metrics is None):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        size = 0

        async def observed(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self._record(scope, status, size, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, size: int, seconds: float) -> None:
        state = scope.get("state") or {}
        operation = state.get(OPERATION)
        path = scope.get("path", "")
        if self.metrics is not None:
            self.metrics.observe(path, operation, status, seconds)
        if self.log is not None and self.log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            self.log.info(
                line(
                    method=scope.get("method", ""),
                    path=path[:200],
                    operation=operation,
                    status=status,
                    seconds=seconds,
                    size=size,
                    client=client[0] if client else None,
                    errors=state.get(ERROR_CODES),
                )
            )


def configure(enabled: bool) -> None:
    """Send the access log to standard output, one line per record (``serve`` and
    ``run``); when not ``enabled`` it writes nothing. An operator's own logging
    configuration can route ``claims_ledger.access`` elsewhere."""
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.propagate = False
    if not enabled:
        logger.disabled = True
        return
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
