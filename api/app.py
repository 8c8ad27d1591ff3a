"""The ASGI application: /graphql, /checkpoint (text/plain) and /healthz."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from api.context import Context
from api.schema import build_schema
from ledger.config import Settings
from ledger.errors import NotFound
from ledger.instance import Instance, open_instance
from ledger.service import Ledger


class _GraphQL(GraphQL[Context, None]):
    def __init__(self, ledger: Ledger, *, development: bool) -> None:
        super().__init__(
            build_schema(introspection=development),
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=True,
        )
        self.ledger = ledger

    async def get_context(self, request: Any, response: Any = None) -> Context:
        return Context(ledger=self.ledger)


def create_app(ledger: Ledger, *, development: bool = True) -> Starlette:
    """An ASGI app serving ``ledger``; ``development`` turns on introspection and GraphiQL."""

    async def checkpoint(request: Request) -> Response:
        try:
            note = ledger.checkpoint().note
        except NotFound:
            return PlainTextResponse("no checkpoint yet\n", status_code=404)
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")

    async def healthz(request: Request) -> Response:
        head = ledger.head()
        return JSONResponse({"status": "ok", "entries": head.size})

    graphql = _GraphQL(ledger, development=development)
    return Starlette(
        routes=[
            Route("/checkpoint", checkpoint, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ]
    )


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory api.app:app_from_env`` (settings from LEDGER_*)."""
    instance: Instance = open_instance(Settings.from_env())
    return create_app(instance.ledger, development=instance.settings.api_development)
