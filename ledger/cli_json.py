"""The JSON the command line prints with ``--json`` (keys documented in docs/cli.md).

Listing and show commands print one JSON document (an object, one line, UTF-8); ``log``
prints JSON Lines, one object per entry. Keys are added, never renamed or removed; ids
are always full (64 hex digits).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the command line imports this module at start
    from ledger.claim_events import HistoryItem
    from ledger.derived import ClaimantView, LineView
    from ledger.ingest import IngestResult
    from ledger.rules import KeyState
    from ledger.state import ClaimState, SourceState
    from ledger.store.sql import StoredEntry
    from ledger.tokens import Token
    from ledger.verify import VerifyReport

FORMAT = 1
"""Bumped only if a key ever changes meaning (never so far)."""


def _default(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(document: object) -> str:
    """One line of JSON: non-ASCII kept as UTF-8, keys in the order built."""
    return json.dumps(document, ensure_ascii=False, default=_default, separators=(",", ":"))


def emit(document: object) -> None:
    """Print one JSON document (or one JSON Lines record) on stdout."""
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def claim(state: ClaimState) -> dict[str, Any]:
    """A claim's current state: every field of ``ClaimState`` (selector, claimant and
    quantities as in the entry format)."""
    return state.to_json()


def claims(found: Sequence[ClaimState]) -> dict[str, Any]:
    return {"claims": [claim(c) for c in found], "count": len(found)}


def source(state: SourceState, locations: Sequence[str]) -> dict[str, Any]:
    """A source as registered, plus where this machine's command line read it from."""
    return {**dataclasses.asdict(state), "locations": list(locations)}


def sources(found: Sequence[SourceState], locations: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    items = [source(s, locations.get(s.sha256, ())) for s in found]
    return {"sources": items, "count": len(found)}


def ingested(results: Sequence[IngestResult]) -> dict[str, Any]:
    """What ``ingest`` did with each document, in the order given."""
    return {
        "documents": [
            {
                "read_from": r.where,
                "sha256": r.source.sha256,
                "added": r.added,
                "claims": r.claims,
            }
            for r in results
        ],
        "added": sum(r.added for r in results),
        "claims": sum(r.claims for r in results),
    }


def key(state: KeyState, verifier: str, local_file: bool | None) -> dict[str, Any]:
    return {
        "key_id": state.key_id,
        "name": state.name,
        "roles": list(state.roles),
        "public_key": state.public_key.hex(),
        "verifier_key": verifier,
        "registered_seq": state.registered_seq,
        "revoked_seq": state.revoked_seq,
        "revoked_reason": state.revoked_reason,
        "local_key_file": local_file,
    }


def token(record: Token) -> dict[str, Any]:
    return dataclasses.asdict(record)


def entry(row: StoredEntry) -> dict[str, Any]:
    """An entry's index fields and its exact bytes as text (``entry``: the JSON of the
    signed entry, as logged)."""
    return {
        "seq": row.seq,
        "hash": row.hash,
        "kind": row.kind,
        "ts": row.ts,
        "signer": row.signer,
        "subject": row.subject,
        "entry": row.data.decode("utf-8"),
    }


def history(claim_id: str, items: Sequence[HistoryItem]) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "history": [
            {
                "seq": item.entry.seq,
                "hash": item.entry.hash.hex(),
                "kind": item.entry.kind,
                "ts": item.entry.body.ts,
                "signer": item.entry.body.signer,
                "signer_name": item.key.name if item.key else None,
                "changes": [
                    {"field": name, "before": before, "after": after}
                    for name, before, after in item.changes
                ],
                "state": claim(item.state),
            }
            for item in items
        ],
    }


def claimant(view: ClaimantView) -> dict[str, Any]:
    return dataclasses.asdict(view)


def line(view: LineView) -> dict[str, Any]:
    return dataclasses.asdict(view)


def verify_report(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": True,
        "entries": report.entries,
        "kinds": dict(sorted(report.kinds.items())),
        "head": report.head.hex() if report.head else None,
        "root": report.root.hex(),
        "checkpoints": report.checkpoints,
        "tree_nodes": report.nodes,
        "projection_rows": report.projection_rows,
        "uncheckpointed": report.uncheckpointed,
    }
