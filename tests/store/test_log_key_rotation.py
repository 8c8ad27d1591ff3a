"""Log-key rotation (decision 0022): the ``log.key.rotated`` entry, its rules, the
checkpoints around it, and full verification walking the chain of log keys."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest

from ledger import rules
from ledger.checkpoint import SignedNote, open_note
from ledger.entries import (
    Body,
    LogKeyRotated,
    parse_entry,
    rotation_message,
    sign_body,
)
from ledger.errors import (
    ConfigError,
    Conflict,
    FormatError,
    InvalidInput,
    LedgerError,
    SignatureError,
    Unauthorized,
    VerificationError,
)
from ledger.instance import Instance
from ledger.signing import SigningKey
from ledger.state import replay
from ledger.verify import MemoryIndex, keys_in, verify_rows, verify_store
from tests.helpers import add_source_with_claims
from tests.store.test_tamper import edit, unguard


def _rotate(instance: Instance, name: str = "log-2", reason: str = "yearly") -> SigningKey:
    new = instance.keyring.create(name)
    instance.ledger.rotate_log_key(new, reason)
    return new


def _signers_of(instance: Instance) -> dict[int, bytes]:
    """Tree size -> the raw public key that signed the stored checkpoint there."""
    keys = {k.key_id: k for k in instance.ledger.list_keys()}
    out = {}
    for size in range(1, instance.ledger.head().size + 1):
        found = instance.ledger.store.checkpoint(size)
        if found is None:
            continue
        for key in keys.values():
            if not rules.is_log_key(key):
                continue
            try:
                open_note(found.note, [instance.ledger.log_verifier_of(key)])
            except LedgerError:
                continue
            out[size] = key.public_key
    return out


def test_rotation_entry_hands_checkpoints_to_the_new_key(instance: Instance) -> None:
    ledger = instance.ledger
    old = instance.log_key()
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=2)
    new = _rotate(instance)
    rotation = parse_entry(ledger.entry(seq=ledger.head().size - 1).data)
    payload = rotation.body.payload
    assert isinstance(payload, LogKeyRotated)
    assert rotation.body.signer == old.key_id and payload.key_id == new.key_id
    assert payload.public_key == new.public_key_b64 and payload.reason == "yearly"
    r = rotation.seq
    add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    signers = _signers_of(instance)
    assert signers[r + 1] == old.public_key  # the checkpoint over the rotation: the old key's last
    assert all(signers[s] == new.public_key for s in signers if s > r + 1)
    assert all(signers[s] == old.public_key for s in signers if s <= r + 1)
    keys = {k.key_id: k for k in ledger.list_keys()}
    assert keys[old.key_id].revoked_seq == r
    assert keys[new.key_id].registered_seq == r and rules.LOG_ROLE in keys[new.key_id].roles
    assert ledger.log_verifier().public_key == new.public_key
    assert ledger.verifier_key(keys[new.key_id]).startswith(ledger.origin + "+")
    report = verify_store(ledger.store)
    assert report.kinds["log.key.rotated"] == 1 and report.checkpoints >= 3


def test_the_new_key_signs_entries_and_the_old_one_no_longer_does(instance: Instance) -> None:
    old = instance.log_key()
    new = _rotate(instance)
    instance.ledger.register_key(new, SigningKey.generate("alice"), ["writer"])
    with pytest.raises(Unauthorized, match="revoked at entry"):
        instance.ledger.register_key(old, SigningKey.generate("bob"), ["writer"])
    verify_store(instance.ledger.store)


def test_a_second_rotation_by_the_old_key_is_refused(instance: Instance) -> None:
    old = instance.log_key()
    _rotate(instance)
    head = instance.ledger.head().size
    instance.ledger.log_key = old  # a process still holding the old key
    instance.ledger.load_log_key = None
    with pytest.raises(Unauthorized, match=r"entry \d+: key log .* was revoked at entry \d+"):
        instance.ledger.rotate_log_key(SigningKey.generate("log-3"), "branch")
    assert instance.ledger.head().size == head


def test_a_rotation_by_a_key_that_is_not_the_log_key_is_refused(instance: Instance) -> None:
    ledger = instance.ledger
    admin = SigningKey.generate("admin2")
    ledger.register_key(instance.log_key(), admin, ["admin"])
    head = ledger.head().size
    with pytest.raises(Unauthorized, match="not by the log key"), ledger.batch() as batch:
        batch.add_rotation(admin, SigningKey.generate("log-x"), "forged")
    assert ledger.head().size == head


def test_nothing_follows_a_rotation_in_its_append(instance: Instance) -> None:
    ledger = instance.ledger
    head = ledger.head().size
    with pytest.raises(Conflict, match="ends its append"), ledger.batch() as batch:
        batch.add_rotation(instance.log_key(), SigningKey.generate("log-2"), "r")
        batch.add(rules_registration(SigningKey.generate("carol")), instance.log_key())
    assert ledger.head().size == head


def rules_registration(key: SigningKey):  # type: ignore[no-untyped-def]
    from ledger.entries import KeyRegistered

    return KeyRegistered(
        key_id=key.key_id, name=key.name, public_key=key.public_key_b64, roles=("writer",)
    )


def test_a_rotation_is_never_submitted(instance: Instance) -> None:
    ledger = instance.ledger
    head = ledger.head()
    old, new = instance.log_key(), SigningKey.generate("log-2")
    entry = _rotation_entry(ledger.origin, head.size, head.last_hash, old, new, ts=head.last_ts)
    with pytest.raises(InvalidInput, match="never submitted"):
        ledger.submit(entry.data)
    assert ledger.head().size == head.size


def _rotation_entry(
    origin: str,
    seq: int,
    prev: bytes | None,
    signer: SigningKey,
    new: SigningKey,
    *,
    accept_by: SigningKey | None = None,
    ts: str | None,
):  # type: ignore[no-untyped-def]
    fields = {
        "key_id": new.key_id,
        "name": new.name,
        "algorithm": "ed25519",
        "public_key": new.public_key_b64,
        "reason": "test",
        "accept": base64.b64encode(bytes(64)).decode(),
    }
    body = Body(origin, seq, prev, ts, "log.key.rotated", signer.key_id, LogKeyRotated(**fields))  # type: ignore[arg-type]
    accept = (accept_by or new).sign_message(rotation_message(body))
    payload = LogKeyRotated(**{**fields, "accept": base64.b64encode(accept).decode()})
    return sign_body(replace(body, payload=payload), signer)


def test_the_rules_refuse_a_rotation_without_the_new_keys_acceptance(instance: Instance) -> None:
    ledger = instance.ledger
    head = ledger.head()
    old, new = instance.log_key(), SigningKey.generate("log-2")
    forged = _rotation_entry(
        ledger.origin,
        head.size,
        head.last_hash,
        old,
        new,
        accept_by=SigningKey.generate("x"),
        ts=head.last_ts,
    )
    with (
        pytest.raises(SignatureError, match=rf"entry {head.size}: log.key.rotated: .*accept"),
        ledger.batch() as batch,
    ):
        batch.overlay.apply(forged)
    # and the payload without its acceptance is malformed
    text = forged.data.replace(b',"algorithm"', b',"algorithm"', 1)
    without = text.replace(b'"accept":"' + forged.body.payload.accept.encode() + b'",', b"")  # type: ignore[union-attr]
    with pytest.raises(FormatError, match=rf"entry {head.size}.*accept"):
        parse_entry(without, where=f"entry {head.size}")


def test_replay_and_memory_verification_follow_the_chain(instance: Instance) -> None:
    ledger = instance.ledger
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)
    _rotate(instance)
    _rotate(instance, "log-3", "again")
    add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    entries = [parse_entry(r.data) for r in ledger.entries()]
    state = replay(entries)
    assert rules.current_log_key(state.keys.values()).name == "log-3"  # type: ignore[union-attr]
    rows = [(e.seq, e.data) for e in entries]
    verify_rows(((s, d, 0) for s, d in rows), MemoryIndex(), keys_in(rows))


def test_verify_refuses_a_checkpoint_signed_by_the_old_key_after_the_rotation(
    instance: Instance,
) -> None:
    ledger = instance.ledger
    old = instance.log_key()
    _rotate(instance)
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)
    size = ledger.head().size
    stored = ledger.store.checkpoint(size)
    assert stored is not None
    from ledger.checkpoint import Checkpoint, sign_checkpoint

    body = Checkpoint.from_body(SignedNote.from_text(stored.note).text)
    forged = sign_checkpoint(body, ledger.origin, old.private)
    unguard(ledger.store.engine)
    edit(ledger.store.engine, "UPDATE checkpoints SET note = :n WHERE size = :s", n=forged, s=size)
    with pytest.raises(VerificationError, match=rf"checkpoint at tree size {size}"):
        verify_store(ledger.store)


def test_a_process_holding_the_old_key_follows_or_refuses(instance: Instance) -> None:
    ledger = instance.ledger
    old = instance.log_key()
    new = _rotate(instance)
    ledger.log_key = old  # as another worker that loaded the key before the rotation
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)  # loads the new key
    assert ledger.log_key.key_id == new.key_id
    ledger.log_key, ledger.load_log_key = old, None
    head = ledger.head().size
    with pytest.raises(ConfigError, match="the log key was rotated"):
        add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    assert ledger.head().size == head
    verify_store(ledger.store)


def test_a_reopened_instance_signs_with_the_new_key(instance: Instance) -> None:
    from ledger.instance import open_instance

    new = _rotate(instance)
    settings = instance.settings
    instance.close()
    reopened = open_instance(settings, lazy_keys=True)
    try:
        assert reopened.log_key().key_id == new.key_id
        add_source_with_claims(reopened.ledger, reopened.writer_key(), 1, claims=1)
        verify_store(reopened.ledger.store)
    finally:
        reopened.close()


def test_a_forged_rotation_by_an_admin_key_fails_verification() -> None:
    """A log whose entry 2 is a rotation signed by an admin that is not the log key (as a
    thief of that admin key and of the database would write it): every verifier refuses
    it, naming the entry."""
    from ledger.entries import KeyRegistered

    log, mallory, new = (SigningKey.generate(n) for n in ("log", "mallory", "log-2"))
    ts = "2030-01-01T00:00:00.000000Z"
    entries = []
    for signer, payload in (
        (
            log,
            KeyRegistered(
                key_id=log.key_id,
                name="log",
                public_key=log.public_key_b64,
                roles=("admin", "writer", "reviewer"),
            ),
        ),
        (
            log,
            KeyRegistered(
                key_id=mallory.key_id,
                name="mallory",
                public_key=mallory.public_key_b64,
                roles=("admin",),
            ),
        ),
    ):
        prev = entries[-1].hash if entries else None
        body = Body(
            "claims-ledger/x", len(entries), prev, ts, "key.registered", signer.key_id, payload
        )
        entries.append(sign_body(body, signer))
    entries.append(_rotation_entry("claims-ledger/x", 2, entries[-1].hash, mallory, new, ts=ts))
    with pytest.raises(Unauthorized, match=r"entry 2: log\.key\.rotated is signed by key mallory"):
        replay(entries)
    rows = [(e.seq, e.data) for e in entries]
    with pytest.raises(
        VerificationError, match=r"entry 2 breaks the log's rules.*not by the log key"
    ):
        verify_rows(((s, d, 0) for s, d in rows), MemoryIndex(), keys_in(rows))


def test_a_bundle_of_a_rotated_log_verifies_with_the_old_or_the_new_key(
    instance: Instance, tmp_path: Path
) -> None:
    from ledger.bundle import export_bundle, verify_bundle

    ledger = instance.ledger
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)
    old = ledger.log_verifier()
    _rotate(instance)
    add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    new = ledger.log_verifier()
    older = ledger.checkpoint(2).note  # signed by the old key
    export_bundle(ledger, tmp_path / "bundle")
    for trusted in (old, new):
        report = verify_bundle(tmp_path / "bundle", trusted, older_checkpoint=older, workers=0)
        assert report.kinds["log.key.rotated"] == 1
    stranger = ledger.log_verifier_of(
        replace(ledger.list_keys()[0], public_key=SigningKey.generate("s").public_key)
    )
    with pytest.raises(VerificationError):
        verify_bundle(tmp_path / "bundle", stranger, workers=0)


def test_verify_since_walks_over_a_rotation(instance: Instance, tmp_path: Path) -> None:
    from ledger.verify_since import verify_with_state

    ledger = instance.ledger
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)
    state = tmp_path / "state.json"
    verify_with_state(ledger.store, ledger.log_verifiers(), since=state, save=None)
    _rotate(instance)
    add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    run = verify_with_state(ledger.store, ledger.log_verifiers(), since=state, save=None)
    assert run.since is not None and run.since.report.kinds["log.key.rotated"] == 1
    _rotate(instance, "log-3", "again")
    add_source_with_claims(ledger, instance.writer_key(), 3, claims=1)
    run = verify_with_state(ledger.store, ledger.log_verifiers(), since=state, save=None)
    assert run.since is not None and run.state.size == ledger.head().size


def test_a_witness_listing_both_keys_cosigns_across_the_rotation(
    instance: Instance, tmp_path: Path
) -> None:
    """The operator step for witnesses: add the new verifier key to the log's ``keys``
    (several per origin are allowed) before rotating; a witness that only knows the old
    key refuses the first checkpoint the new key signs (403), so nothing is cosigned by
    mistake, and accepts it once the key is listed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.cosignature import Cosigner
    from ledger.witness import AddCheckpoint, LogConfig, Witness, WitnessConfig, WitnessState

    ledger = instance.ledger
    old = ledger.log_verifier()
    add_source_with_claims(ledger, instance.writer_key(), 1, claims=1)
    new_key = _rotate(instance)
    rotated_at = ledger.head().size - 1
    add_source_with_claims(ledger, instance.writer_key(), 2, claims=1)
    new = ledger.log_verifier()
    assert new.public_key == new_key.public_key
    cosigner = Cosigner("witness.test/w", Ed25519PrivateKey.generate())

    def witness(*keys: object, state: str) -> Witness:
        logs = {ledger.origin: LogConfig(ledger.origin, keys)}  # type: ignore[arg-type]
        return Witness(WitnessConfig(cosigner, logs), WitnessState(tmp_path / state))

    def request(old_size: int, size: int) -> bytes:
        proof = ledger.consistency_proof(old_size, size).hashes if old_size else ()
        return AddCheckpoint(old_size, proof, ledger.checkpoint(size).note).to_bytes()

    sizes = [s for s in range(1, ledger.head().size + 1) if ledger.store.checkpoint(s)]
    last_old = rotated_at + 1
    assert last_old in sizes
    only_old = witness(old, state="a")
    only_old.add_checkpoint(request(0, last_old))  # the old key's last checkpoint
    with pytest.raises(SignatureError):
        only_old.add_checkpoint(request(last_old, sizes[-1]))
    both = witness(old, new, state="b")
    previous = 0
    for size in sizes:
        assert both.add_checkpoint(request(previous, size)).startswith("— witness.test/w ")
        previous = size


def test_a_second_rotation_by_the_same_old_key_fails_verification() -> None:
    from ledger.entries import KeyRegistered

    log = SigningKey.generate("log")
    ts = "2030-01-01T00:00:00.000000Z"
    genesis = sign_body(
        Body(
            "claims-ledger/x",
            0,
            None,
            ts,
            "key.registered",
            log.key_id,
            KeyRegistered(
                key_id=log.key_id,
                name="log",
                public_key=log.public_key_b64,
                roles=("admin", "writer", "reviewer"),
            ),
        ),
        log,
    )
    first = _rotation_entry(
        "claims-ledger/x", 1, genesis.hash, log, SigningKey.generate("log-2"), ts=ts
    )
    branch = _rotation_entry(
        "claims-ledger/x", 2, first.hash, log, SigningKey.generate("log-3"), ts=ts
    )
    rows = [(e.seq, e.data) for e in (genesis, first, branch)]
    with pytest.raises(
        VerificationError, match=r"entry 2 breaks the log's rules.*revoked at entry 1"
    ):
        verify_rows(((s, d, 0) for s, d in rows), MemoryIndex(), keys_in(rows))


class _Offline:
    """A client's rotation check against entries it is handed (no server)."""

    def __init__(self, entry):  # type: ignore[no-untyped-def]
        from ledger.client import LedgerClient

        class Client(LedgerClient):
            def proven_entry(self, checkpoint, *, seq=None, hash=None):  # type: ignore[no-untyped-def]
                return entry

        self.client = Client("http://offline.invalid", log_key=_verifier(_PINNED).key_text())


_PINNED = SigningKey.generate("log")


def _verifier(key: SigningKey):  # type: ignore[no-untyped-def]
    from ledger.checkpoint import Verifier

    return Verifier.from_public_key("claims-ledger/x", key.private.public_key())


@pytest.mark.parametrize(
    ("signer", "accept_by", "message"),
    [
        (
            "mallory",
            None,
            r"entry 5: log.key.rotated is signed by [0-9a-f]{64}, not by the trusted",
        ),
        ("log", "stranger", r"entry 5: .*accept.*did not accept this rotation"),
    ],
)
def test_the_client_follows_only_a_rotation_its_pinned_key_signed_and_the_new_key_accepted(
    signer: str, accept_by: str | None, message: str
) -> None:
    from ledger import merkle
    from ledger.checkpoint import Checkpoint

    keys = {"log": _PINNED, "mallory": SigningKey.generate("mallory")}
    entry = _rotation_entry(
        "claims-ledger/x",
        5,
        bytes(32),
        keys[signer],
        SigningKey.generate("log-2"),
        accept_by=SigningKey.generate("x") if accept_by else None,
        ts="2030-01-01T00:00:00.000000Z",
    )
    offline = _Offline(entry).client
    with pytest.raises(VerificationError, match=message):
        offline._check_rotation(
            Checkpoint("claims-ledger/x", 6, merkle.EMPTY_ROOT), 5, _verifier(_PINNED)
        )
