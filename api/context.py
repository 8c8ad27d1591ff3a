"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.types import Info as StrawberryInfo

from ledger.extract.model import Extractor
from ledger.fetch import Fetcher
from ledger.service import Ledger
from ledger.signing import KeyRing, SigningKey
from ledger.tokens import Token


@dataclass
class Context:
    """What a request may use: the shared ledger service, and who is asking (if anyone)."""

    ledger: Ledger
    keyring: KeyRing | None = None
    extractor: Extractor | None = None
    fetcher: Fetcher | None = None
    token: Token | None = None

    def signer(self) -> SigningKey:
        """The key the caller's token is bound to; UNAUTHENTICATED without a valid token."""
        if self.token is None:
            raise GraphQLError(
                "a valid bearer token is required", extensions={"code": "UNAUTHENTICATED"}
            )
        if self.keyring is None or not self.keyring.exists(self.token.key_name):
            raise GraphQLError(
                f"this server holds no key {self.token.key_name!r} to sign with",
                extensions={"code": "FORBIDDEN"},
            )
        return self.keyring.load(self.token.key_name)


Info = StrawberryInfo[Context, None]
