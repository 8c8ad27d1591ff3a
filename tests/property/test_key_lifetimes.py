"""A signature counts only if its key was registered and not yet revoked at that point.

Random sequences of registrations, revocations and writes are run through the ledger's
rules and through a plain reference model; both must accept and refuse the same ones.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.entries import KIND_OF, Body, KeyRegistered, KeyRevoked, Payload, sign_body
from ledger.errors import LedgerError
from ledger.signing import SigningKey
from ledger.state import MemoryState, Overlay
from ledger.verify import MemoryIndex, keys_in, verify_rows
from tests.helpers import source_payload

KEYS = [SigningKey.generate(f"k{i}") for i in range(4)]
ROLE_SETS = [("admin", "writer"), ("writer",), ("admin",), ("reviewer",)]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(1, 3), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("revoke"), st.integers(0, 3), st.integers(0, 3), st.just(0)),
        st.tuples(st.just("write"), st.integers(0, 3), st.integers(0, 3), st.just(0)),
    ),
    max_size=25,
)


@dataclass
class Reference:
    """Key lifetimes the obvious way: lists of who was registered and revoked when."""

    registered: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    revoked: dict[int, int] = field(default_factory=dict)

    def valid(self, k: int, seq: int) -> bool:
        if k not in self.registered or self.registered[k][0] >= seq:
            return False
        return k not in self.revoked or seq <= self.revoked[k]

    def has(self, k: int, role: str) -> bool:
        return role in self.registered[k][1]

    def accepts(self, op: str, target: int, by: int, seq: int) -> bool:
        if op == "write":
            return self.valid(target, seq) and self.has(target, "writer")
        if not self.valid(by, seq):
            return False
        if op == "register":
            return self.has(by, "admin") and target not in self.registered
        return (
            (self.has(by, "admin") or by == target)
            and target in self.registered
            and target not in self.revoked
        )


def _entry(seq: int, prev: bytes | None, payload: Payload, signer: SigningKey):  # type: ignore[no-untyped-def]
    body = Body(
        log="t",
        seq=seq,
        prev=prev,
        ts="2024-01-01T00:00:00.000000Z",  # type: ignore[arg-type]
        kind=KIND_OF[type(payload)],
        signer=signer.key_id,
        payload=payload,
    )
    return sign_body(body, signer)


def _registration(k: int, roles: tuple[str, ...]) -> KeyRegistered:
    key = KEYS[k]
    return KeyRegistered(
        key_id=key.key_id,
        name=key.name,
        public_key=base64.b64encode(key.public_key).decode(),
        roles=roles,
    )  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(ops)
@example([("revoke", 0, 0, 0), ("write", 0, 0, 0)])
@example([("register", 1, 0, 1), ("revoke", 1, 0, 0), ("write", 1, 0, 0)])
@example([("register", 1, 0, 1), ("revoke", 1, 1, 0), ("revoke", 1, 0, 0)])
@example([("register", 1, 0, 1), ("write", 1, 0, 0), ("register", 2, 1, 0)])
def test_ledger_rules_match_the_reference_model(
    operations: list[tuple[str, int, int, int]],
) -> None:
    _check_against_reference(operations, MemoryState())


@settings(max_examples=200, deadline=None)
@given(ops)
@example([("write", 0, 0, 0), ("revoke", 0, 0, 0), ("write", 0, 0, 0), ("write", 0, 0, 0)])
@example([("register", 1, 0, 1), ("write", 1, 0, 0), ("revoke", 1, 1, 0), ("write", 1, 0, 0)])
def test_one_batch_overlay_matches_the_reference_model(
    operations: list[tuple[str, int, int, int]],
) -> None:
    """The same through one ``Overlay``, as a batch appends: its signer checks, kept per
    signer and kind while the key stands unchanged, refuse exactly what the reference does."""
    _check_against_reference(operations, Overlay(MemoryState()))


def _check_against_reference(
    operations: list[tuple[str, int, int, int]], state: MemoryState | Overlay
) -> None:
    genesis = _entry(0, None, _registration(0, ("admin", "writer")), KEYS[0])
    ref = Reference()
    state.apply(genesis)
    ref.registered[0] = (0, ("admin", "writer"))
    accepted = [genesis]
    for n, (op, target, by, roles) in enumerate(operations):
        seq = len(accepted)
        if op == "register":
            payload: Payload = _registration(target, ROLE_SETS[roles])
            signer = KEYS[by]
        elif op == "revoke":
            payload, signer = KeyRevoked(key_id=KEYS[target].key_id, reason="r"), KEYS[by]
        else:
            payload, signer = source_payload(n), KEYS[target]
        entry = _entry(seq, accepted[-1].hash, payload, signer)
        expected = ref.accepts(op, target, by, seq)
        try:
            state.apply(entry)
            got = True
        except LedgerError:
            got = False
        assert got == expected, (op, target, by, seq)
        if got:
            accepted.append(entry)
            if op == "register":
                ref.registered[target] = (seq, ROLE_SETS[roles])
            elif op == "revoke":
                ref.revoked[target] = seq
    # What was accepted also verifies end to end, signatures included.
    rows = [(e.seq, e.data, 0) for e in accepted]
    keys = keys_in((seq, data) for seq, data, _ in rows)
    assert verify_rows(rows, MemoryIndex(), keys, chunk_bits=2).report.entries == len(accepted)
