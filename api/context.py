"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from ledger.deadline import Deadline
from ledger.errors import ConfigError, NotFound, SigningKeyError
from ledger.extract.model import Extractor
from ledger.fetch import Fetcher
from ledger.instance import Signers
from ledger.service import HistoryItem, Ledger, Provenance
from ledger.signing import KeyRing, SigningKey
from ledger.state import SourceState
from ledger.tokens import Token


class Loaders:
    """Per-request DataLoaders: a page of N claims costs a constant number of queries."""

    def __init__(self, ledger: Ledger) -> None:
        async def sources(shas: list[str]) -> list[SourceState | BaseException]:
            found = ledger.sources_by_sha(shas)
            return [
                found.get(sha) or NotFound(f"source {sha} is not in the ledger") for sha in shas
            ]

        async def provenance(claim_ids: list[str]) -> list[Provenance]:
            return ledger.provenance_many(claim_ids)

        async def history(claim_ids: list[str]) -> list[list[HistoryItem]]:
            return ledger.history_many(claim_ids)

        self.source: DataLoader[str, SourceState] = DataLoader(load_fn=sources)
        self.provenance: DataLoader[str, Provenance] = DataLoader(load_fn=provenance)
        self.history: DataLoader[str, list[HistoryItem]] = DataLoader(load_fn=history)


@dataclass
class Context:
    """What a request may use: the shared ledger service, its loaders, and who is asking."""

    ledger: Ledger
    keyring: KeyRing | Signers | None = None
    """The keys mutations sign with; None: a query-only server (mutations are refused
    with ``SIGNING_NOT_CONFIGURED``)."""
    extractor: Extractor | None = None
    fetcher: Fetcher | None = None
    token: Token | None = None
    loaders: Loaders | None = None
    deadline: Deadline | None = None
    """The request's time limit; the schema makes it current while the operation runs."""

    def load(self) -> Loaders:
        if self.loaders is None:
            self.loaders = Loaders(self.ledger)
        return self.loaders

    def signer(self) -> SigningKey:
        """The key the caller's token is bound to; UNAUTHENTICATED without a valid token,
        SIGNING_NOT_CONFIGURED on a server that cannot sign."""
        if self.token is None:
            raise GraphQLError(
                "a valid bearer token is required", extensions={"code": "UNAUTHENTICATED"}
            )
        self.require_log_key()
        if self.keyring is None or not self.keyring.exists(self.token.key_name):
            raise GraphQLError(
                f"this server holds no key {self.token.key_name!r} to sign with",
                extensions={"code": "FORBIDDEN"},
            )
        try:
            return self.keyring.load(self.token.key_name)
        except (SigningKeyError, ConfigError) as exc:
            raise _not_configured() from exc

    def require_log_key(self) -> None:
        """Every append ends with a checkpoint the log key signs: SIGNING_NOT_CONFIGURED
        unless this server holds it (loaded here on first need)."""
        if self.ledger.log_key is not None:
            return
        if not isinstance(self.keyring, Signers):
            raise _not_configured()
        try:
            self.keyring.log_key()
        except (SigningKeyError, ConfigError) as exc:
            raise _not_configured() from exc


def _not_configured() -> GraphQLError:
    # Which key or setting is missing is the operator's business, not the caller's.
    return GraphQLError(
        "signing is not configured on this server: it serves queries only",
        extensions={"code": "SIGNING_NOT_CONFIGURED"},
    )


Info = StrawberryInfo[Context, None]
