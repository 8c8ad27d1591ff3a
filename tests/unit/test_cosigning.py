"""The log asking its witnesses (ledger.cosigning): old sizes, 409 and one retry from the
size the witness holds, bounded retries with backoff, verification before storing, the
background worker, and the LEDGER_WITNESSES file. The witness is the real core
(ledger.witness) behind an httpx MockTransport."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import NoteSignature, SignedNote
from ledger.config import Settings
from ledger.cosignature import Cosigner, WitnessPolicy, verify_cosignatures
from ledger.cosigning import (
    CosigningWorker,
    LogWitness,
    WitnessSettings,
    ask_all,
    ask_witness,
)
from ledger.errors import ConfigError, LedgerError, QuorumNotMet
from ledger.instance import Instance, open_instance
from ledger.witness import (
    AddCheckpoint,
    LogConfig,
    Witness,
    WitnessConfig,
    WitnessState,
    http_status,
)
from tests.helpers import append_sources

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    opened = open_instance(
        Settings(
            home=tmp_path / "home",
            database_url=f"sqlite:///{tmp_path}/ledger.db",
            passphrase=b"pw",
        )
    )
    yield opened
    opened.close()


class FakeWitness:
    """The witness core answering over a MockTransport; ``faults`` are served first."""

    def __init__(self, instance: Instance, folder: Path, name: str = "w.test/one") -> None:
        self.cosigner = Cosigner(name, Ed25519PrivateKey.generate())
        log = LogConfig(instance.settings.origin, (instance.ledger.log_verifier(),))
        config = WitnessConfig(self.cosigner, {log.origin: log})
        self.core = Witness(config, WitnessState(folder))
        self.requests: list[AddCheckpoint] = []
        self.faults: list[Handler] = []
        self.lock = threading.Lock()

    @property
    def log_witness(self) -> LogWitness:
        return LogWitness(self.cosigner.key, f"http://{self.cosigner.name}")

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(AddCheckpoint.parse(request.content))
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault(request)
        try:
            return httpx.Response(200, text=self.core.add_checkpoint(request.content))
        except LedgerError as exc:
            size = getattr(exc, "size", None)
            status = http_status(exc)
            return httpx.Response(status, text=f"{size}\n" if status == 409 else str(exc))


def _client(*witnesses: FakeWitness) -> httpx.Client:
    by_host = {w.cosigner.name.split("/")[0]: w for w in witnesses}
    return httpx.Client(transport=httpx.MockTransport(lambda r: by_host[r.url.host].handle(r)))


def _settings(*witnesses: FakeWitness, quorum: int = 1, attempts: int = 3) -> WitnessSettings:
    return WitnessSettings(
        tuple(w.log_witness for w in witnesses), quorum, timeout=1.0, attempts=attempts
    )


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_first_ask_sends_old_zero_then_the_size_last_cosigned_with_a_proof(
    instance: Instance, tmp_path: Path
) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    settings = _settings(witness)
    ledger = instance.ledger
    with _client(witness) as http:
        first = ask_witness(ledger, witness.log_witness, settings, http)
        assert first.outcome == "cosigned"
        held = ledger.checkpoint().size
        append_sources(ledger, instance.writer_key(), [0, 1])
        second = ask_witness(ledger, witness.log_witness, settings, http)
        again = ask_witness(ledger, witness.log_witness, settings, http)
    assert second.outcome == "cosigned" and again.outcome == "current"
    assert [r.old_size for r in witness.requests] == [0, held]
    assert witness.requests[1].proof == ledger.consistency_proof(held).hashes
    note = ledger.cosigned_note()
    policy = WitnessPolicy((witness.cosigner.key,), 1)
    assert verify_cosignatures(note, ledger.log_verifier(), policy).checkpoint.size > held
    # The log's own note and signature come first, unchanged.
    assert note.startswith(ledger.checkpoint().note)


def test_a_409_is_retried_once_from_the_size_the_witness_holds(
    instance: Instance, tmp_path: Path
) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    ledger = instance.ledger
    # The witness already cosigned this checkpoint (e.g. the log lost its records of it).
    witness.core.add_checkpoint(AddCheckpoint(0, (), ledger.checkpoint().note).to_bytes())
    held = ledger.checkpoint().size
    append_sources(ledger, instance.writer_key(), [3])
    with _client(witness) as http:
        result = ask_witness(ledger, witness.log_witness, _settings(witness), http)
    assert result.outcome == "cosigned"
    assert [r.old_size for r in witness.requests] == [0, held]
    assert ledger.store.latest_cosigned_size(witness.cosigner.name, witness.log_witness.key_id) == (
        ledger.checkpoint().size
    )


def test_a_second_409_is_not_retried_again(instance: Instance, tmp_path: Path) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    witness.faults = [lambda r: httpx.Response(409, text="1\n")] * 2
    append_sources(instance.ledger, instance.writer_key(), [3])
    with _client(witness) as http:
        result = ask_witness(instance.ledger, witness.log_witness, _settings(witness), http)
    assert result.outcome == "refused" and len(witness.requests) == 2
    assert instance.ledger.store.cosignatures(instance.ledger.checkpoint().size) == []


def test_unreachable_witness_is_retried_with_doubling_backoff_then_given_up(
    instance: Instance, tmp_path: Path
) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    witness.faults = [_down, lambda r: httpx.Response(503, text="busy")]
    slept: list[float] = []

    def sleep(seconds: float) -> bool:
        slept.append(seconds)
        return False

    with _client(witness) as http:
        recovered = ask_witness(
            instance.ledger, witness.log_witness, _settings(witness), http, sleep=sleep
        )
        assert recovered.outcome == "cosigned" and slept == [0.5, 1.0]
        append_sources(instance.ledger, instance.writer_key(), [4])
        witness.faults = [_down] * 5
        slept.clear()
        gone = ask_witness(
            instance.ledger, witness.log_witness, _settings(witness), http, sleep=sleep
        )
    assert gone.outcome == "unreachable" and "ConnectError" in gone.detail
    assert slept == [0.5, 1.0] and len(witness.requests) == 3 + 3


def test_a_refusal_other_than_409_is_not_retried(instance: Instance, tmp_path: Path) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    witness.faults = [lambda r: httpx.Response(422, text="bad proof")]
    with _client(witness) as http:
        result = ask_witness(instance.ledger, witness.log_witness, _settings(witness), http)
    assert result.outcome == "refused" and "422" in result.detail
    assert len(witness.requests) == 1


def test_an_invalid_cosignature_is_dropped_never_stored(instance: Instance, tmp_path: Path) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    impostor = Cosigner(witness.cosigner.name, Ed25519PrivateKey.generate())
    note = instance.ledger.checkpoint().note
    forged = impostor.cosign(SignedNote.from_text(note).text)
    # The witness's name and key ID, another key's signature.
    line = NoteSignature(
        witness.cosigner.name, witness.cosigner.key.key_id, forged.signature
    ).to_line()
    witness.faults = [lambda r: httpx.Response(200, text=line)]
    with _client(witness) as http:
        result = ask_witness(instance.ledger, witness.log_witness, _settings(witness), http)
    assert result.outcome == "refused"
    assert instance.ledger.store.cosignatures(instance.ledger.checkpoint().size) == []
    assert instance.ledger.cosigned_note() == note


def test_the_worker_asks_in_the_background_and_a_dead_witness_does_not_slow_appends(
    instance: Instance, tmp_path: Path
) -> None:
    good = FakeWitness(instance, tmp_path / "a", "a.test/w")
    stuck = FakeWitness(instance, tmp_path / "b", "b.test/w")
    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        raise httpx.ReadTimeout("timed out", request=request)

    stuck.faults = [hang] * 10
    settings = _settings(good, stuck, attempts=1)
    ledger = instance.ledger
    with _client(good, stuck) as http:
        worker = CosigningWorker(ledger, settings, http).start()
        ledger.on_checkpoint = worker.notify
        try:
            started = time.monotonic()
            append_sources(ledger, instance.writer_key(), [5])
            assert time.monotonic() - started < 2
            size = ledger.checkpoint().size
            deadline = time.monotonic() + 10
            while not ledger.store.cosignatures(size) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert [c.witness for c in ledger.store.cosignatures(size)] == ["a.test/w"]
            assert not worker.wait_idle(0.1)  # the stuck witness's request is still out
            release.set()
            assert worker.wait_idle(5)
        finally:
            release.set()
            worker.stop()
    policy = WitnessPolicy((good.cosigner.key, stuck.cosigner.key), 2)
    with pytest.raises(QuorumNotMet) as refused:
        verify_cosignatures(ledger.cosigned_note(), ledger.log_verifier(), policy)
    assert refused.value.missing == (f"b.test/w+{stuck.log_witness.key_id}",)
    assert refused.value.needed == 1


def test_ask_all_asks_every_witness_side_by_side(instance: Instance, tmp_path: Path) -> None:
    one, two = (
        FakeWitness(instance, tmp_path / "1", "one.test/w"),
        FakeWitness(instance, tmp_path / "2", "two.test/w"),
    )
    two.faults = [_down] * 3
    with _client(one, two) as http:
        settings = WitnessSettings((one.log_witness, two.log_witness), 1, timeout=1.0, attempts=1)
        results = ask_all(instance.ledger, settings, http)
    assert {r.witness: r.outcome for r in results} == {
        "one.test/w": "cosigned",
        "two.test/w": "unreachable",
    }


def test_witnesses_file_is_read_from_ledger_witnesses(tmp_path: Path) -> None:
    keys = [Cosigner(f"w{n}.test/x", Ed25519PrivateKey.generate()).key for n in range(3)]
    path = tmp_path / "witnesses.toml"
    path.write_text(
        "quorum = 2\ntimeout = 2.5\n"
        + "".join(
            f'\n[[witness]]\nvkey = "{k.vkey()}"\nurl = "http://127.0.0.1:{7000 + n}/"\n'
            for n, k in enumerate(keys)
        )
    )
    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_WITNESSES": str(path)}
    loaded = Settings.from_env(env).witnesses
    assert loaded is not None
    assert [w.url for w in loaded.witnesses] == [f"http://127.0.0.1:{7000 + n}" for n in range(3)]
    assert loaded.quorum == 2 and loaded.timeout == 2.5
    assert loaded.policy().witnesses == tuple(keys)
    assert Settings.from_env({"LEDGER_HOME": str(tmp_path)}).witnesses is None

    for bad, says in [
        ("quorum = 4\n" + path.read_text().split("\n", 2)[2], "quorum"),
        ('[[witness]]\nvkey = "nope"\nurl = "http://x"\n', "vkey"),
        (f'[[witness]]\nvkey = "{keys[0].vkey()}"\nurl = "ftp://x"\n', "http"),
        ("quorum = 1\n", "[[witness]]"),
    ]:
        path.write_text(bad)
        with pytest.raises(ConfigError, match="LEDGER_WITNESSES") as refused:
            Settings.from_env(env)
        assert says in str(refused.value)


def test_no_witnesses_configured_changes_nothing(instance: Instance) -> None:
    assert instance.cosigning is None and instance.ledger.on_checkpoint is None
    ledger = instance.ledger
    assert ledger.cosigned_note() == ledger.checkpoint().note


def test_a_witness_ahead_of_the_checkpoint_asked_about_is_asked_about_the_latest(
    instance: Instance, tmp_path: Path
) -> None:
    witness = FakeWitness(instance, tmp_path / "w")
    ledger = instance.ledger
    read_earlier = ledger.checkpoint()
    # Meanwhile another process appended and had its checkpoint cosigned.
    append_sources(ledger, instance.writer_key(), [6, 7])
    witness.core.add_checkpoint(AddCheckpoint(0, (), ledger.checkpoint().note).to_bytes())
    with _client(witness) as http:
        result = ask_witness(
            ledger, witness.log_witness, _settings(witness), http, checkpoint=read_earlier
        )
        assert (result.outcome, result.size) == ("cosigned", ledger.checkpoint().size)
        assert [r.old_size for r in witness.requests] == [0, ledger.checkpoint().size]
        # A witness holding more than this log has ever had is refused, not believed.
        witness.faults = [lambda r: httpx.Response(409, text="999\n")]
        append_sources(ledger, instance.writer_key(), [8])
        ahead = ask_witness(ledger, witness.log_witness, _settings(witness), http)
    assert ahead.outcome == "refused" and "999" in ahead.detail


def test_the_append_hook_runs_after_the_commit_outside_the_append_lock(
    instance: Instance,
) -> None:
    ledger = instance.ledger
    seen: list[int] = []

    def hook() -> None:
        # Another append from another thread must get the lock: the batch has released it.
        done = threading.Event()

        def other() -> None:
            if len(seen) == 1:
                append_sources(ledger, instance.writer_key(), [11])
            done.set()

        seen.append(ledger.store.checkpoint().size)  # the new checkpoint is committed
        threading.Thread(target=other).start()
        assert done.wait(10)

    ledger.on_checkpoint = hook
    before = ledger.checkpoint().size
    append_sources(ledger, instance.writer_key(), [10])
    assert seen[0] == before + 1 and ledger.checkpoint().size == before + 2
    assert len(seen) == 2  # the other thread's append called it too
