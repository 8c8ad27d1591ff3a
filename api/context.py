"""The typed per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from ledger.claim_events import HistoryItem, Page, Wanted
from ledger.deadline import Deadline
from ledger.errors import ConfigError, NotFound, SigningKeyError
from ledger.extract.model import Extractor
from ledger.fetch import Fetcher
from ledger.instance import Signers
from ledger.service import Ledger, ProvenanceHead, ProvenanceLink
from ledger.signing import KeyRing, SigningKey
from ledger.state import SourceState
from ledger.store import StoredCheckpoint
from ledger.tokens import Token


class Loaders:
    """Per-request DataLoaders: a page of N claims costs a constant number of queries."""

    def __init__(self, ledger: Ledger) -> None:
        async def sources(shas: list[str]) -> list[SourceState | BaseException]:
            found = ledger.sources_by_sha(shas)
            return [
                found.get(sha) or NotFound(f"source {sha} is not in the ledger") for sha in shas
            ]

        async def provenance(wanted: list[HeadWanted]) -> list[ProvenanceHead]:
            out: dict[int, ProvenanceHead] = {}
            by_size: dict[int | None, list[int]] = {}
            for i, (_, size) in enumerate(wanted):
                by_size.setdefault(size, []).append(i)
            for size, indexes in by_size.items():
                heads = ledger.provenance_heads([wanted[i][0] for i in indexes], size)
                out.update(zip(indexes, heads, strict=True))
            return [out[i] for i in range(len(wanted))]

        async def links(wanted: list[LinksWanted]) -> list[Page[ProvenanceLink]]:
            out: dict[int, Page[ProvenanceLink]] = {}
            by_checkpoint: dict[int, list[int]] = {}
            for i, (checkpoint, _) in enumerate(wanted):
                by_checkpoint.setdefault(checkpoint.size, []).append(i)
            for indexes in by_checkpoint.values():
                checkpoint = wanted[indexes[0]][0]
                pages = ledger.provenance_links(checkpoint, [wanted[i][1] for i in indexes])
                out.update(zip(indexes, pages, strict=True))
            return [out[i] for i in range(len(wanted))]

        async def history(wanted: list[Wanted]) -> list[Page[HistoryItem]]:
            return ledger.history_pages(wanted)

        self.source: DataLoader[str, SourceState] = DataLoader(load_fn=sources)
        self.provenance: DataLoader[HeadWanted, ProvenanceHead] = DataLoader(load_fn=provenance)
        self.links: DataLoader[LinksWanted, Page[ProvenanceLink]] = DataLoader(
            load_fn=links, cache_key_fn=lambda key: (key[0].size, _wanted_key(key[1]))
        )
        self.history: DataLoader[Wanted, Page[HistoryItem]] = DataLoader(
            load_fn=history, cache_key_fn=_wanted_key
        )


HeadWanted = tuple[str, int | None]
"""A claim's provenance head: its claim id, and the tree size of the checkpoint (None: the
latest)."""
LinksWanted = tuple[StoredCheckpoint, Wanted]
"""A page of a claim's provenance links, proven in that checkpoint."""


def _wanted_key(wanted: Wanted) -> Hashable:
    """A page request as a cache key (the claim state itself holds unhashable parts)."""
    return (
        wanted.claim.claim_id,
        wanted.claim.head_seq,
        wanted.upto,
        wanted.window,
        wanted.kind,
        wanted.with_source,
    )


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
