"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.types import Info as StrawberryInfo

from ledger.service import Ledger


@dataclass
class Context:
    """What a request may use: the ledger service (one per app, shared; stateless)."""

    ledger: Ledger


Info = StrawberryInfo[Context, None]
